package cache

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPurgeReachesEveryLevelAndEdge(t *testing.T) {
	_, rdb := startRedis(t)
	tests := []struct{ name, purge string }{
		{"by surrogate key", "shop:12"},
		{"by URL", "url:/shops/12"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock testClock
			cfg := testConfig(rdb)
			cfg.KeyPrefix = "p" + strconv.Itoa(i) + ":"
			cfg.Now = clock.Now
			a, b := newStore(t, cfg), newStore(t, cfg)
			noL1 := cfg
			noL1.L1MaxBytes = 0
			c := newStore(t, noL1) // sees L2 only
			storeInL2(t, a, newItem("/shops/12", time.Minute, "shop:12"))
			storeInL2(t, a, newItem("/shops/13", time.Minute, "shop:13"))
			eventually(t, 5*time.Second, "B fills its L1 from L2", func() bool {
				get(b, "/shops/12")
				get(b, "/shops/13")
				return levelOf(b, "/shops/12") == L1 && levelOf(b, "/shops/13") == L1
			})

			res, err := a.PurgeKeys(context.Background(), tt.purge, tt.purge, "")
			if err != nil || res != (Result{Keys: 1, L1Removed: 1, L2: true}) {
				t.Fatalf("PurgeKeys = %+v, %v", res, err)
			}
			if lvl := levelOf(a, "/shops/12"); lvl != Miss {
				t.Errorf("A serves the purged entry from %v", lvl)
			}
			if lvl := levelOf(c, "/shops/12"); lvl != Miss {
				t.Errorf("L2 serves the purged entry (level %v)", lvl)
			}
			eventually(t, 5*time.Second, "B drops the entry from its L1", func() bool { return levelOf(b, "/shops/12") == Miss })
			for _, s := range []*Store[*testItem]{a, b, c} {
				eventually(t, 5*time.Second, "the entry that was not purged is served", func() bool {
					return levelOf(s, "/shops/13") != Miss
				})
			}
			if st := b.Stats(); st.PurgesReceived != 1 || st.L2Stale == 0 {
				t.Errorf("B's stats: %+v", st)
			}
			if st := a.Stats(); st.PurgesReceived != 0 {
				t.Errorf("A received its own purge: %+v", st)
			}
			// New content stored after the purge is served again.
			clock.Advance(cfg.ClockSkew) // L2 refuses what was fetched within ClockSkew of a purge
			storeInL2(t, a, newItem("/shops/12", time.Minute, "shop:12"))
			eventually(t, 5*time.Second, "fresh content reaches L2", func() bool { return levelOf(c, "/shops/12") == L2 })
		})
	}
}

func TestSetIfUnpurged(t *testing.T) {
	_, rdb := startRedis(t)
	a, b := newStore(t, testConfig(rdb)), newStore(t, testConfig(rdb))
	ctx := context.Background()
	before := a.Mark()
	bBefore := b.Mark()
	if _, err := a.PurgeKeys(ctx, "menu:1"); err != nil {
		t.Fatal(err)
	}
	after := a.Mark()
	eventually(t, 5*time.Second, "B hears of the purge", func() bool { return b.Stats().PurgesReceived == 1 })
	tests := []struct {
		name string
		s    *Store[*testItem]
		m    Mark
		sk   string
		want bool
	}{
		{"fetched before a purge of its key", a, before, "menu:1", false},
		{"fetched before a purge of another key", a, before, "menu:2", true},
		{"fetched after the purge", a, after, "menu:1", true},
		{"fetched before another edge's purge", b, bBefore, "menu:1", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "/m/" + strconv.Itoa(i)
			got := tt.s.SetIfUnpurged(tt.m, hashOf(key), newItem(key, time.Minute, tt.sk))
			if got != tt.want {
				t.Fatalf("SetIfUnpurged = %v, want %v", got, tt.want)
			}
			if lvl := levelOf(tt.s, key); (lvl == L1) != tt.want {
				t.Errorf("after SetIfUnpurged = %v the entry is at %v", got, lvl)
			}
		})
	}
}

// TestSetRacingPurge stores items of one surrogate key from several
// goroutines while two edges read them, and purges the key in the middle of
// it, round after round. Whatever was stored before a purge began must not be
// served once it returns (on the purging edge) or once the other edge heard
// of it; what was stored concurrently may be.
func TestSetRacingPurge(t *testing.T) {
	_, rdb := startRedis(t)
	cfg := testConfig(rdb)
	cfg.ClockSkew = 50 * time.Millisecond
	a, b := newStore(t, cfg), newStore(t, cfg)
	const writers, keys, rounds, setsPerRound = 4, 16, 20, 40
	key := func(i int) string { return "/race/" + strconv.Itoa(i) }

	var stored [writers]atomic.Uint64 // last version each writer's Set returned
	var sets atomic.Uint64
	served := func(s *Store[*testItem], before *[writers]uint64) *testItem {
		for i := range keys {
			if it, _, ok := get(s, key(i)); ok && it.V <= before[it.G] {
				return it
			}
		}
		return nil
	}
	version := uint64(0)
	for round := range rounds {
		target := sets.Load() + writers*setsPerRound/3 // the purge comes mid-round
		var wg sync.WaitGroup
		for g := range writers {
			first := version
			wg.Go(func() {
				for v := first + 1; v <= first+setsPerRound; v++ {
					k := key(int(v) % keys)
					m := a.Mark()
					it := newItem(k, time.Minute, "shop:1")
					it.G, it.V = g, v
					a.SetIfUnpurged(m, hashOf(k), it)
					stored[g].Store(v)
					sets.Add(1)
				}
			})
		}
		version += setsPerRound
		for _, s := range []*Store[*testItem]{a, b} {
			wg.Go(func() {
				for i := range 2 * keys {
					get(s, key(i%keys)) // fills L1 from L2
				}
			})
		}
		eventually(t, 10*time.Second, "writers make progress", func() bool { return sets.Load() >= target })
		var before [writers]uint64
		for g := range before {
			before[g] = stored[g].Load()
		}
		if _, err := a.PurgeKeys(context.Background(), "shop:1"); err != nil {
			t.Logf("round %d: %v", round, err) // L2 overloaded: the purge is pending, which must hold as well
		}
		if it := served(a, &before); it != nil {
			t.Fatalf("round %d: edge A serves %v, stored before the purge (last stored %v)", round, it, before)
		}
		wg.Wait()
		eventually(t, 5*time.Second, "edge B stops serving what the purge removed", func() bool { return served(b, &before) == nil })
	}
	st := a.Stats()
	t.Logf("A: sets refused %d, stale in L2 %d, L2 writes %d, dropped %d", st.SetsRefused, st.L2Stale, st.L2Writes, st.L2WriteDrops)
}

func TestPurgeAll(t *testing.T) {
	_, rdb := startRedis(t)
	a, b := newStore(t, testConfig(rdb)), newStore(t, testConfig(rdb))
	noL1 := testConfig(rdb)
	noL1.L1MaxBytes = 0
	c := newStore(t, noL1)
	storeInL2(t, a, newItem("/x", time.Minute))
	eventually(t, 5*time.Second, "B fills L1", func() bool { get(b, "/x"); return levelOf(b, "/x") == L1 })
	if _, err := a.PurgeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if levelOf(a, "/x") != Miss || levelOf(c, "/x") != Miss {
		t.Error("A or L2 still serves after PurgeAll")
	}
	eventually(t, 5*time.Second, "B empties L1", func() bool { return levelOf(b, "/x") == Miss })
}
