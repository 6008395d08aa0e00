package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cangqiong/cangqiong/internal/redisserver"
	"github.com/cangqiong/cangqiong/internal/testenv"
)

// testItem is a minimal Item: a key, a body, surrogate keys, an expiry, and
// (for the race tests) the writer and version that made it.
type testItem struct {
	K   []byte    `json:"k"`
	B   string    `json:"b"`
	SK  []string  `json:"sk"`
	Exp time.Time `json:"exp"`
	G   int       `json:"g"`
	V   uint64    `json:"v"`
}

func (i *testItem) Key() []byte                     { return i.K }
func (i *testItem) Weight() int                     { return len(i.K) + len(i.B) }
func (i *testItem) SurrogateKeys() []string         { return i.SK }
func (i *testItem) TTL(now time.Time) time.Duration { return i.Exp.Sub(now) }
func (i *testItem) MarshalBinary() ([]byte, error)  { return json.Marshal(i) }
func decodeItem(b []byte) (*testItem, error)        { var i testItem; return &i, json.Unmarshal(b, &i) }
func hashOf(key string) uint64                      { return xxhash.Sum64String(key) }

func newItem(key string, ttl time.Duration, sks ...string) *testItem {
	return &testItem{K: []byte(key), B: "body of " + key, SK: append([]string{"url:" + key}, sks...), Exp: time.Now().Add(ttl)}
}

// startRedis starts one private redis-server and a client for it.
func startRedis(t testing.TB) (*redisserver.Server, redis.UniversalClient) {
	t.Helper()
	srv := testenv.Redis(t, 1)[0]
	return srv, newClient(t, srv.Addr())
}

func newClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	c := redis.NewUniversalClient(RedisOptions(addr))
	t.Cleanup(func() { c.Close() })
	return c
}

// testConfig is DefaultConfig with a small L1, the given Redis, and a
// breaker quick enough for tests.
func testConfig(rdb redis.UniversalClient) Config {
	cfg := DefaultConfig()
	cfg.L1MaxBytes = 1 << 20
	cfg.Redis = rdb
	cfg.RedisTimeout = 200 * time.Millisecond // -race on two busy cores
	cfg.Breaker.OpenFor = 300 * time.Millisecond
	cfg.ReplayInterval = 50 * time.Millisecond
	return cfg
}

func newStore(t testing.TB, cfg Config) *Store[*testItem] {
	t.Helper()
	s, err := New(cfg, decodeItem)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// testClock is the real clock moved forward by Advance.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

func get(s *Store[*testItem], key string) (*testItem, Level, bool) {
	return s.Get(context.Background(), hashOf(key), []byte(key))
}

func levelOf(s *Store[*testItem], key string) Level {
	_, lvl, _ := get(s, key)
	return lvl
}

func mustSet(t testing.TB, s *Store[*testItem], it *testItem) {
	t.Helper()
	if !s.SetIfUnpurged(s.Mark(), hashOf(string(it.K)), it) {
		t.Fatalf("Set(%s) refused", it.K)
	}
}

// storeInL2 sets it on s until its L2 write lands. L2 writes are best
// effort: on a stalled machine one may time out and be dropped.
func storeInL2(t testing.TB, s *Store[*testItem], it *testItem) {
	t.Helper()
	for range 5 {
		before := s.Stats()
		mustSet(t, s, it)
		eventually(t, 10*time.Second, "the L2 write is done or dropped", func() bool {
			st := s.Stats()
			return st.L2Writes > before.L2Writes || st.L2WriteDrops > before.L2WriteDrops
		})
		if s.Stats().L2Writes > before.L2Writes {
			return
		}
	}
	t.Fatalf("%s: five L2 writes were dropped", it.K)
}

func (i *testItem) String() string { return fmt.Sprintf("%s@g%d/v%d", i.K, i.G, i.V) }
