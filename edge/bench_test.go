package edge

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkEdgeCacheHit is the edge's handler answering a fresh L1 entry:
// the whole hit path (limits, routing, optional auth, cache lookup, reply),
// in process, without the network.
func BenchmarkEdgeCacheHit(b *testing.B) {
	o := newOriginB(b, answer(`{"shops":[{"id":1,"name":"noodles"}]}`, "Cache-Control", "public, max-age=3600", "Content-Type", "application/json"))
	s := newBenchServer(b, o)
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("http://edge.local/api/v1/shops?region=eu")
	req.Header.Set("Accept-Encoding", "gzip, br")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4242}, nil)
	h := s.Handler()
	h(&ctx) // the miss that fills L1
	ctx.Response.Reset()
	h(&ctx)
	if got := string(ctx.Response.Header.Peek("X-Cache")); got != "HIT-L1" {
		b.Fatalf("X-Cache %q, want HIT-L1", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; the normal build checks them")
	}
	o := newOrigin(t, answer(`{"ok":true}`, "Cache-Control", "public, max-age=3600", "Content-Type", "application/json"))
	s := startEdge(t, httpOrigin(t, o), nil).s
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("http://edge.local/a?b=c")
	req.Header.Set("Accept-Encoding", "gzip")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4242}, nil)
	h := s.Handler()
	h(&ctx)
	ctx.Response.Reset()
	h(&ctx)
	if got := string(ctx.Response.Header.Peek("X-Cache")); got != "HIT-L1" {
		t.Fatalf("X-Cache %q, want HIT-L1", got)
	}
	if n := testing.AllocsPerRun(200, func() { ctx.Response.Reset(); h(&ctx) }); n != 0 {
		t.Fatalf("an L1 hit allocates %.1f times per request, want 0", n)
	}
}
