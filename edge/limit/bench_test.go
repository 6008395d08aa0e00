package limit

import (
	"net/netip"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./edge/limit/

// BenchmarkAllow: a key whose bucket exists, allowed.
func BenchmarkAllow(b *testing.B) {
	l := newTestLimiter(b, Config{Rate: 1e9, Burst: 1e9})
	key := UserKey(42)
	l.Allow(key)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(key)
	}
}

// BenchmarkAllowRefused: a key out of tokens, refused with a retry-after.
func BenchmarkAllowRefused(b *testing.B) {
	l := newTestLimiter(b, Config{Rate: 1e-3, Burst: 1})
	key := UserKey(42)
	l.Allow(key)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := l.Allow(key); ok {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkAllowParallel: many keys, both cores.
func BenchmarkAllowParallel(b *testing.B) {
	l := newTestLimiter(b, Config{Rate: 1e9, Burst: 1e9})
	const keys = 1 << 16
	for k := range uint64(keys) {
		l.Allow(k)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := uint64(0)
		for pb.Next() {
			l.Allow(k % keys)
			k += 7
		}
	})
}

// BenchmarkAllowNewKey: the first request of a key, which makes its bucket
// (B/op is about what a key costs).
func BenchmarkAllowNewKey(b *testing.B) {
	l := newTestLimiter(b, Config{Rate: 1, Burst: 1, MaxKeys: 1 << 20})
	b.ReportAllocs()
	k := uint64(0)
	for b.Loop() {
		l.Allow(k)
		k++
	}
}

// BenchmarkRulesIP: the per-IP check the edge makes on every request.
func BenchmarkRulesIP(b *testing.B) {
	r, err := NewRules(Config{Rate: 1e9, Burst: 1e9}, Config{Rate: 1e9, Burst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	addr := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		r.AllowIP(addr)
	}
}
