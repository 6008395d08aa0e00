package edge

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// withRedis points an edge's L2 at addr.
func withRedis(t *testing.T, addr string) func(*Config) {
	rc := redis.NewUniversalClient(cache.RedisOptions(addr))
	t.Cleanup(func() { rc.Close() })
	return func(c *Config) { c.Cache.Redis = rc }
}

func TestPurgeReachesBothLevelsAndTheRegionsEdges(t *testing.T) {
	rs := testenv.Redis(t, 1)[0]
	n := atomic.Int64{}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Surrogate-Key", "shop:12 menu:12")
		fmt.Fprintf(w, "menu v%d", n.Add(1))
	})
	a := edgeFor(t, o, withRedis(t, rs.Addr()))
	b := edgeFor(t, o, withRedis(t, rs.Addr()))
	if r := a.get("/api/v1/shops/12/menu"); r.body != "menu v1" {
		t.Fatal(r.body)
	}
	eventually(t, "edge A's asynchronous L2 write", func() bool { return a.s.store.Stats().L2Writes >= 1 })
	if r := b.get("/api/v1/shops/12/menu"); r.xcache() != "HIT-L2" || r.body != "menu v1" {
		t.Fatalf("edge B: %s %q, want HIT-L2 v1 (the region's Redis); B: %+v", r.xcache(), r.body, b.s.store.Stats())
	}
	if r := b.get("/api/v1/shops/12/menu"); r.xcache() != "HIT-L1" || r.body != "menu v1" {
		t.Fatalf("edge B after an L2 hit: %s %q, want HIT-L1 v1", r.xcache(), r.body)
	}
	a.adminCall("POST", "/purge", `{"keys": ["menu:12"]}`)
	if r := a.get("/api/v1/shops/12/menu"); r.xcache() != "MISS" || r.body != "menu v2" {
		t.Fatalf("edge A after the purge: %s %q", r.xcache(), r.body)
	}
	eventually(t, "edge B to drop its copy (L1 by pub/sub, L2 by marker)", func() bool {
		return b.get("/api/v1/shops/12/menu").body != "menu v1"
	})
}

func TestRedisKilledMidLoadFailsNoRequest(t *testing.T) {
	rs := testenv.Redis(t, 1)[0]
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		fmt.Fprintf(w, "page %s", r.URL.Path)
	})
	e := edgeFor(t, o, withRedis(t, rs.Addr()))
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/p/%d", (w*7+i)%40)
				req, _ := http.NewRequest("GET", "http://"+e.addr+path, nil)
				resp, err := e.client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
				if i%50 == 0 {
					e.clock.Advance(2 * time.Second) // expire entries: misses keep coming
				}
			}
		})
	}
	eventually(t, "load to run", func() bool { return ok.Load() > 500 })
	rs.Kill()
	at := ok.Load()
	eventually(t, "load to go on without Redis", func() bool { return ok.Load() > at+1500 })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rs.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the breaker to close again", func() bool { return e.s.store.Stats().Breaker == "closed" })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed while Redis was killed and restarted", failed.Load(), ok.Load()+failed.Load())
	}
	t.Logf("%d requests, none failed; breaker opened %d times", ok.Load(), e.s.store.Stats().BreakerOpens)
}
