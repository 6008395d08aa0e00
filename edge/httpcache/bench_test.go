package httpcache

import (
	"bytes"
	"testing"
	"time"
)

// The functions of an L1 hit, one by one, then together in the order the
// edge calls them.

func BenchmarkParseCacheControl(b *testing.B) {
	cc := []byte("public, max-age=60, s-maxage=300, stale-while-revalidate=30, stale-if-error=86400")
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCacheControl(cc)
	}
}

func BenchmarkState(b *testing.B) {
	e, now := hitEntry(b), t0.Add(10*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.State(now)
	}
}

func BenchmarkAge(b *testing.B) {
	e, now := hitEntry(b), t0.Add(10*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Age(now)
	}
}

func BenchmarkMatches(b *testing.B) {
	e := hitEntry(b)
	var req Header = peekOnly{hitRequest}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Matches(req)
	}
}

func BenchmarkPick(b *testing.B) {
	e, ae := hitEntry(b), []byte("gzip, deflate, br;q=0.9")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = e.Pick(ae)
	}
}

func BenchmarkNotModified(b *testing.B) {
	e := hitEntry(b)
	var req Header = peekOnly{hitRequest}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.NotModified(req)
	}
}

func BenchmarkAppendKeyHash(b *testing.B) {
	key := make([]byte, 0, 128)
	method, host, path := []byte("GET"), []byte("example.com"), []byte("/api/v1/shops/12/menu?lang=de")
	b.ReportAllocs()
	for b.Loop() {
		key = AppendKey(key[:0], method, host, path, 0)
		_ = Hash(key)
	}
}

// BenchmarkHitPath is every call of a fresh L1 hit with fasthttp's request
// header: key, hash, Vary check, state, conditional, coding, Age.
func BenchmarkHitPath(b *testing.B) {
	e := hitEntry(b)
	req := fastRequest(b, `GET /menu?shop=12 HTTP/1.1
Host: example.com
Accept-Encoding: gzip, deflate, br;q=0.9
Accept-Language: de-DE, de;q=0.9
`)
	key := make([]byte, 0, 128)
	now := t0.Add(10 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		key = AppendKey(key[:0], req.Method(), req.Host(), req.RequestURI(), 0)
		_ = Hash(key)
		if !e.Matches(req) || e.State(now) != Fresh || e.NotModified(req) {
			b.Fatal("not a hit")
		}
		_, _ = e.Pick(req.Peek("Accept-Encoding"))
		_ = e.Age(now)
	}
}

func BenchmarkDecideNewEntry(b *testing.B) {
	x := exchange(200, hitRequest, hdr("Cache-Control", "public, max-age=60", "Vary", "Accept-Language",
		"ETag", `"v1"`, "Content-Type", "application/json", "Surrogate-Key", "shop:12 menu:12"))
	body := bytes.Repeat([]byte(`{"dish":"dumplings","price":12},`), 64)
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(x, nil)
		if _, err := NewEntry(x, &d, body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalUnmarshal(b *testing.B) {
	e := sampleEntry(b)
	b.ReportAllocs()
	for b.Loop() {
		raw, _ := e.MarshalBinary()
		if _, err := UnmarshalEntry(raw); err != nil {
			b.Fatal(err)
		}
	}
}
