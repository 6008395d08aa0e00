package cache

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestL1IsBoundedByBytes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.L1MaxBytes = 64 << 10
	s := newStore(t, cfg)
	body := strings.Repeat("x", 1000)
	for i := range 1000 { // ~1.1 MB through a 64 KiB cache
		it := newItem("k"+strconv.Itoa(i), time.Minute)
		it.B = body
		mustSet(t, s, it)
	}
	eventually(t, 5*time.Second, "L1 weight settles under its bound", func() bool {
		s.l1.CleanUp()
		return s.Stats().L1Bytes <= uint64(cfg.L1MaxBytes)
	})
	var held int
	for i := range 1000 {
		if it, lvl, _ := get(s, "k"+strconv.Itoa(i)); lvl == L1 {
			held += it.Weight() + entryOverhead
		}
	}
	if held == 0 || held > int(cfg.L1MaxBytes) {
		t.Errorf("entries present weigh %d bytes; want 0 < w <= %d", held, cfg.L1MaxBytes)
	}
	// The index follows L1 (deletions are applied asynchronously).
	eventually(t, 5*time.Second, "index shrinks with L1", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.index) <= 2*s.l1.EstimatedSize()+2
	})
}

func TestL1HitDoesNotAllocate(t *testing.T) {
	s := newStore(t, DefaultConfig())
	it := newItem("/menu/12", time.Minute, "shop:12")
	mustSet(t, s, it)
	ctx, key, hash := context.Background(), []byte("/menu/12"), hashOf("/menu/12")
	allocs := testing.AllocsPerRun(1000, func() {
		if _, lvl, _ := s.Get(ctx, hash, key); lvl != L1 {
			t.Fatalf("level %v, want L1", lvl)
		}
	})
	if allocs != 0 {
		t.Errorf("L1 hit allocates %.1f times", allocs)
	}
}

func TestGet(t *testing.T) {
	_, rdb := startRedis(t)
	tests := []struct {
		name  string
		redis bool
		l1    int64
		set   string // key stored
		hash  string // hash used for the lookup
		get   string // key looked up
		want  Level
	}{
		{"L1 hit", false, 1 << 20, "/a", "/a", "/a", L1},
		{"L1 collision is a miss", false, 1 << 20, "/a", "/a", "/b", Miss},
		{"other hash is a miss", false, 1 << 20, "/a", "/b", "/a", Miss},
		{"L2 hit", true, 0, "/a", "/a", "/a", L2},
		{"L2 collision is a miss", true, 0, "/a", "/a", "/b", Miss},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(nil)
			cfg.L1MaxBytes = tt.l1
			cfg.KeyPrefix = "t" + strconv.Itoa(i) + ":"
			if tt.redis {
				cfg.Redis = rdb
			}
			s := newStore(t, cfg)
			if tt.redis {
				storeInL2(t, s, newItem(tt.set, time.Minute))
			} else {
				mustSet(t, s, newItem(tt.set, time.Minute))
			}
			var it *testItem
			var lvl Level
			var ok bool
			lookup := func() bool {
				it, lvl, ok = s.Get(context.Background(), hashOf(tt.hash), []byte(tt.get))
				return lvl == tt.want
			}
			if tt.want == L2 { // a stalled machine may time a Redis call out
				eventually(t, 5*time.Second, "L2 answers", lookup)
			} else {
				lookup()
			}
			if lvl != tt.want || ok != (tt.want != Miss) {
				t.Fatalf("Get = %v, %v, %v; want level %v", it, lvl, ok, tt.want)
			}
			if ok && string(it.Key()) != tt.get {
				t.Errorf("Get(%q) returned the item of %q", tt.get, it.Key())
			}
		})
	}
}

func TestExpiredItemIsNotStored(t *testing.T) {
	s := newStore(t, DefaultConfig())
	if s.SetIfUnpurged(s.Mark(), hashOf("/old"), newItem("/old", -time.Second)) {
		t.Error("an item past its TTL was stored")
	}
	if lvl := levelOf(s, "/old"); lvl != Miss {
		t.Errorf("level %v, want miss", lvl)
	}
}

func TestPurgeLog(t *testing.T) {
	tests := []struct {
		name   string
		purges [][]string // one purge per element, numbered from 1
		size   int
		mark   uint64 // purges seen by the Mark
		sks    []string
		want   bool
	}{
		{"no purge", nil, 4, 0, []string{"a"}, false},
		{"purge after the mark", [][]string{{"a"}}, 4, 0, []string{"a", "b"}, true},
		{"purge before the mark", [][]string{{"a"}}, 4, 1, []string{"a"}, false},
		{"other key", [][]string{{"a"}}, 4, 0, []string{"b"}, false},
		{"forgotten history refuses", [][]string{{"a"}, {"b"}, {"c"}}, 2, 0, []string{"z"}, true},
		{"history kept is enough", [][]string{{"a"}, {"b"}, {"c"}}, 2, 1, []string{"z"}, false},
		{"a repurged key keeps its latest", [][]string{{"a"}, {"a"}, {"a"}}, 2, 1, []string{"z"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := purgeLog{size: tt.size, last: map[string]uint64{}}
			for _, keys := range tt.purges {
				seq := l.next()
				for _, k := range keys {
					l.record(k, seq)
				}
			}
			if got := l.since(tt.mark, tt.sks); got != tt.want {
				t.Errorf("since(%d, %v) = %v, want %v", tt.mark, tt.sks, got, tt.want)
			}
			if len(l.last) > tt.size || len(l.fifo)-l.head > tt.size {
				t.Errorf("log holds %d keys, %d entries; bound %d", len(l.last), len(l.fifo)-l.head, tt.size)
			}
		})
	}
	t.Run("purge of everything", func(t *testing.T) {
		l := purgeLog{size: 8, last: map[string]uint64{}}
		l.record("a", l.next())
		mark := l.seq.Load()
		l.all(l.next())
		if !l.since(mark, nil) || l.since(l.seq.Load(), []string{"a"}) {
			t.Error("a purge of everything must refuse older marks only")
		}
	})
	t.Run("compaction", func(t *testing.T) {
		l := purgeLog{size: 16, last: map[string]uint64{}}
		for i := range 10_000 {
			l.record("k"+strconv.Itoa(i%40), l.next())
		}
		if len(l.fifo) > 4096 || len(l.last) > 16 {
			t.Errorf("fifo %d, last %d", len(l.fifo), len(l.last))
		}
		if l.since(l.seq.Load()-10, []string{"k39"}) != true || l.since(l.seq.Load(), []string{"k0"}) {
			t.Error("recent history lost")
		}
	})
}
