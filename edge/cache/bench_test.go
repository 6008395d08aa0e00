package cache

import (
	"context"
	"testing"
	"time"
)

func BenchmarkL1Hit(b *testing.B) {
	s := newStore(b, DefaultConfig())
	it := newItem("/shops/12/menu?lang=en", time.Hour, "shop:12", "menu:12")
	mustSet(b, s, it)
	ctx, key, hash := context.Background(), it.K, hashOf(string(it.K))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, lvl, _ := s.Get(ctx, hash, key); lvl != L1 {
			b.Fatalf("level %v", lvl)
		}
	}
}

func BenchmarkL1HitParallel(b *testing.B) {
	s := newStore(b, DefaultConfig())
	it := newItem("/shops/12/menu?lang=en", time.Hour, "shop:12", "menu:12")
	mustSet(b, s, it)
	ctx, key, hash := context.Background(), it.K, hashOf(string(it.K))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, lvl, _ := s.Get(ctx, hash, key); lvl != L1 {
				b.Errorf("level %v", lvl)
				return
			}
		}
	})
}

// BenchmarkL2Hit reads from a local redis-server with L1 disabled: a GET of
// the entry, then one pipelined round trip for its purge markers, and
// decoding (JSON, in this test's item).
func BenchmarkL2Hit(b *testing.B) {
	_, rdb := startRedis(b)
	cfg := testConfig(rdb)
	cfg.L1MaxBytes = 0
	s := newStore(b, cfg)
	it := newItem("/shops/12/menu?lang=en", time.Hour, "shop:12", "menu:12")
	storeInL2(b, s, it)
	ctx, key, hash := context.Background(), it.K, hashOf(string(it.K))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, lvl, _ := s.Get(ctx, hash, key); lvl != L2 {
			b.Fatalf("level %v", lvl)
		}
	}
}
