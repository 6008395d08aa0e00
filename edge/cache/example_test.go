package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/cangqiong/cangqiong/edge/cache"
)

// page is a minimal cache.Item; the edge stores *httpcache.Entry.
type page struct {
	key     []byte
	body    string
	sks     []string
	expires time.Time
}

func (p *page) Key() []byte                     { return p.key }
func (p *page) Weight() int                     { return len(p.key) + len(p.body) }
func (p *page) SurrogateKeys() []string         { return p.sks }
func (p *page) TTL(now time.Time) time.Duration { return p.expires.Sub(now) }
func (p *page) MarshalBinary() ([]byte, error)  { return []byte(p.body), nil }

func Example() {
	// Without Redis: L1 only. With it, set Config.Redis to
	// redis.NewUniversalClient(cache.RedisOptions(addrs...)) and pass a Codec.
	store, err := cache.New[*page](cache.DefaultConfig(), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	var fetches cache.Group[*page]
	ctx := context.Background()

	key := []byte("GET /shops/12/menu")
	hash := xxhash.Sum64(key)
	serve := func() {
		if p, lvl, ok := store.Get(ctx, hash, key); ok {
			fmt.Printf("%s from %v\n", p.body, lvl)
			return
		}
		p, _, err := fetches.Do(ctx, hash, func(ctx context.Context) (*page, error) {
			mark := store.Mark() // before asking the origin
			p := &page{key: key, body: "menu of shop 12", sks: []string{"url:/shops/12/menu", "shop:12"}, expires: time.Now().Add(time.Minute)}
			store.SetIfUnpurged(mark, hash, p)
			return p, nil
		})
		if err == nil {
			fmt.Printf("%s from the origin\n", p.body)
		}
	}
	serve()
	serve()
	res, _ := store.PurgeKeys(ctx, "shop:12")
	fmt.Printf("purged %d entry\n", res.L1Removed)
	serve()
	// Output:
	// menu of shop 12 from the origin
	// menu of shop 12 from L1
	// purged 1 entry
	// menu of shop 12 from the origin
}
