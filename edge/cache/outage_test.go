package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// load runs paced Get/Set traffic on stores until stopped, recording what a
// caller would notice: wrong items and slow calls.
type load struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	ops     atomic.Uint64
	wrong   atomic.Uint64
	slowest atomic.Int64 // ns
}

func startLoad(stores []*Store[*testItem], goroutines int) *load {
	l := &load{stop: make(chan struct{})}
	for g := range goroutines {
		s := stores[g%len(stores)]
		l.wg.Go(func() {
			tick := time.NewTicker(time.Millisecond) // paces the load; the test waits by polling
			defer tick.Stop()
			for i := g; ; i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				k := "/load/" + strconv.Itoa(i%64)
				t0 := time.Now()
				it, _, ok := get(s, k)
				if d := int64(time.Since(t0)); d > l.slowest.Load() {
					l.slowest.Store(d) // racy max, good enough for a bound
				}
				switch {
				case ok && string(it.K) != k:
					l.wrong.Add(1)
				case !ok:
					s.Set(hashOf(k), newItem(k, time.Minute, "load"))
				}
				l.ops.Add(1)
			}
		})
	}
	return l
}

func (l *load) halt() { close(l.stop); l.wg.Wait() }

func l1Hits(stores ...*Store[*testItem]) (n uint64) {
	for _, s := range stores {
		n += s.Stats().L1Hits
	}
	return n
}

func TestRedisKilledMidLoad(t *testing.T) {
	srv, rdb := startRedis(t)
	cfg := testConfig(rdb)
	a, b := newStore(t, cfg), newStore(t, cfg)
	small := cfg
	small.KeyPrefix, small.MaxPendingPurges = "small:", 2
	c := newStore(t, small)
	var clock testClock
	many := cfg
	many.KeyPrefix, many.Now = "many:", clock.Now
	d := newStore(t, many)
	ctx := context.Background()

	l := startLoad([]*Store[*testItem]{a, b}, 20)
	defer l.halt()
	l2Works := func() bool {
		a.Set(hashOf("/shared"), newItem("/shared", time.Minute)) // until a write lands
		return levelOf(b, "/shared") == L2
	}
	eventually(t, 10*time.Second, "edge B reads edge A's entries from L2", l2Works)
	mustSet(t, a, newItem("/doomed", time.Hour, "doomed"))

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "both breakers open", func() bool {
		return a.Stats().Breaker == "open" && b.Stats().Breaker == "open"
	})
	hits := l1Hits(a, b)
	// Half-open probes fail and open the breaker again while L1 serves on.
	eventually(t, 10*time.Second, "failed probes reopen the breaker", func() bool { return a.Stats().BreakerOpens >= 5 })
	if l1Hits(a, b) < hits+500 {
		t.Errorf("L1 served %d hits while Redis was down", l1Hits(a, b)-hits)
	}

	// A purge while Redis is down: L1 now, L2 later.
	res, err := a.PurgeKeys(ctx, "doomed")
	if err == nil || !res.Pending || res.L2 || res.L1Removed != 1 {
		t.Errorf("PurgeKeys with Redis down = %+v, %v; want L1 done, L2 pending, an error", res, err)
	}
	if !errors.Is(err, ErrL2Unavailable) {
		t.Logf("purge error (not the breaker's): %v", err)
	}
	if levelOf(a, "/doomed") != Miss {
		t.Error("the purged entry is still served")
	}
	if _, err := c.PurgeKeys(ctx, "x", "y", "z"); err == nil {
		t.Error("PurgeKeys succeeded with Redis down")
	}
	if st := c.Stats(); st.PurgeOverflows != 1 || st.PendingPurges != 1 {
		t.Errorf("overflowing the pending purges: %+v", st)
	}
	var backlog []string // purged one by one, each at its own time
	for i := range 300 {
		backlog = append(backlog, "many:p:k"+strconv.Itoa(i))
		clock.Advance(time.Millisecond)
		if _, err := d.PurgeKeys(ctx, "k"+strconv.Itoa(i)); err == nil {
			t.Fatal("PurgeKeys succeeded with Redis down")
		}
	}

	restarted := time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis restarted; load so far: %d ops", l.ops.Load())
	eventually(t, 15*time.Second, "breakers close and pending purges are replayed", func() bool {
		sa, sc, sd := a.Stats(), c.Stats(), d.Stats()
		return sa.Breaker == "closed" && b.Stats().Breaker == "closed" &&
			sa.PendingPurges == 0 && sc.PendingPurges == 0 && sd.PendingPurges == 0
	})
	t.Logf("recovered %v after the restart", time.Since(restarted).Round(time.Millisecond))
	replayed := append(backlog, "cq:p:doomed", "small:pall")
	if n, err := rdb.Exists(ctx, replayed...).Result(); err != nil || n != int64(len(replayed)) {
		t.Errorf("replayed markers: %d of %d exist (%v)", n, len(replayed), err)
	}
	b.purgeL1([]string{"url:/shared"}) // so that B asks L2 again
	eventually(t, 15*time.Second, "L2 serves again", l2Works)
	eventually(t, 5*time.Second, "both edges emptied L1 on resubscribing", func() bool {
		return a.Stats().L1Flushes > 0 && b.Stats().L1Flushes > 0
	})

	l.halt()
	l.stop = make(chan struct{}) // for the deferred halt
	if n := l.wrong.Load(); n != 0 {
		t.Errorf("%d Gets returned another key's item", n)
	}
	// Redis calls are bounded by RedisTimeout; the margin is for a noisy
	// machine, where every goroutine sometimes stalls for hundreds of ms.
	if d := time.Duration(l.slowest.Load()); d > 2*time.Second {
		t.Errorf("slowest Get took %v", d)
	}
	t.Logf("%d ops, slowest Get %v; A: %+v", l.ops.Load(), time.Duration(l.slowest.Load()), a.Stats())
}

func TestRedisSlow(t *testing.T) {
	_, rdb := startRedis(t)
	cfg := testConfig(rdb)
	cfg.L1MaxBytes = 0 // every Get asks Redis
	cfg.RedisTimeout = 50 * time.Millisecond
	s := newStore(t, cfg)
	ctx := context.Background()
	storeInL2(t, s, newItem("/slow", time.Minute))
	eventually(t, 5*time.Second, "the entry reaches L2", func() bool { return levelOf(s, "/slow") == L2 })

	admin := newClient(t, rdb.(*redis.Client).Options().Addr)
	if err := admin.Do(ctx, "CLIENT", "PAUSE", 1500, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for range 20 {
		if lvl := levelOf(s, "/slow"); lvl != Miss {
			t.Errorf("level %v while Redis is paused", lvl)
		}
	}
	// Five calls time out (50 ms each), then the breaker answers at once; a
	// client without tight timeouts would wait out the 1.5 s pause.
	if d := time.Since(t0); d > time.Second {
		t.Errorf("20 Gets took %v with RedisTimeout %v", d, cfg.RedisTimeout)
	}
	if st := s.Stats(); st.Breaker != "open" || st.L2Rejected == 0 {
		t.Errorf("after 20 slow calls: %+v", st)
	}
	eventually(t, 10*time.Second, "L2 answers after the pause", func() bool { return levelOf(s, "/slow") == L2 })
	if st := s.Stats(); st.Breaker != "closed" {
		t.Errorf("breaker %s after recovery", st.Breaker)
	}
}
