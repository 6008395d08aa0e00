package httpcache

import (
	"testing"
	"time"
)

// hitRequest is a browser-like conditional request on the hit path.
var hitRequest = hdr(
	"Host", "example.com",
	"Accept-Encoding", "gzip, deflate, br;q=0.9",
	"Accept-Language", "de-DE, de;q=0.9",
	"If-None-Match", `"x", W/"v1"`,
	"Cache-Control", "max-age=0",
)

func hitEntry(t testing.TB) *Entry {
	x := exchange(200, hitRequest, hdr("Cache-Control", "public, max-age=60, stale-while-revalidate=30",
		"Vary", "Accept-Language, Accept-Encoding", "ETag", `"v1"`, "Content-Type", "application/json",
		"Last-Modified", httpDate(t0.Add(-time.Hour))))
	return store(t, x, nil, string(make([]byte, 2048)))
}

// TestHitPathAllocs pins the functions the edge calls on an L1 hit at zero
// allocations (BenchmarkEdgeCacheHit must report 0 allocs/op).
func TestHitPathAllocs(t *testing.T) {
	e := hitEntry(t)
	now := t0.Add(10 * time.Second)
	cc := []byte(`public, max-age=60, s-maxage=30, no-cache="a, b", stale-if-error=5, x="y"`)
	ae := hitRequest.Peek("Accept-Encoding")
	key := make([]byte, 0, 128)
	method, host, path := []byte("HEAD"), []byte("Example.com"), []byte("/api/v1/shops/12/menu?lang=de")
	var peekOnlyReq Header = peekOnly{hitRequest}
	var req Header = hitRequest
	var imsReq Header = peekOnly{hdr("If-Modified-Since", httpDate(t0))}
	reqCC := RequestDirectives(req)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"ParseCacheControl", func() { _ = ParseCacheControl(cc) }},
		{"RequestDirectives", func() { _ = RequestDirectives(peekOnlyReq) }},
		{"State", func() { _ = e.State(now) }},
		{"StateFor", func() { _ = e.StateFor(now, &reqCC) }},
		{"Age", func() { _ = e.Age(now) }},
		{"Matches", func() { _ = e.Matches(peekOnlyReq) }},
		{"Pick", func() { _, _ = e.Pick(ae) }},
		{"NotModified", func() { _ = e.NotModified(peekOnlyReq) }},
		{"NotModified If-Modified-Since", func() { _ = e.NotModified(imsReq) }},
		{"AppendKey", func() { key = AppendKey(key[:0], method, host, path, 42) }},
		{"Hash", func() { _ = Hash(key) }},
		{"TTL", func() { _ = e.TTL(now) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.f); n != 0 {
				t.Errorf("%v allocs per run, want 0", n)
			}
		})
	}
}
