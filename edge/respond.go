package edge

import (
	"errors"
	"strconv"
	"time"

	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/valyala/fasthttp"
)

func (s *Server) now() time.Time { return s.cfg.Now() }

// fail answers with the edge's JSON error. Codes and messages are
// constants, so nothing from the request is echoed.
func (s *Server) fail(ctx *fasthttp.RequestCtx, status int, code, message string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("application/json")
	b := ctx.Response.BodyWriter()
	b.Write([]byte(`{"error":{"code":"`))
	b.Write([]byte(code))
	b.Write([]byte(`","message":`))
	b.Write([]byte(strconv.Quote(message)))
	b.Write([]byte(`}}`))
}

func (s *Server) tooMany(ctx *fasthttp.RequestCtx, wait time.Duration) {
	ctx.Response.Header.Set("Retry-After", strconv.FormatInt(limit.RetryAfterSeconds(wait), 10))
	s.fail(ctx, fasthttp.StatusTooManyRequests, "rate_limited", "too many requests; retry after the time in Retry-After")
}

func (s *Server) unauthorized(ctx *fasthttp.RequestCtx, err error) {
	ctx.Response.Header.Set("WWW-Authenticate", auth.Challenge(err))
	s.fail(ctx, fasthttp.StatusUnauthorized, auth.Code(err), "a valid bearer token is required")
}

// transportError answers what fasthttp refuses before the handler runs:
// malformed requests, oversized headers and bodies.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than the edge accepts")
	case errors.As(err, &small):
		s.fail(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "header_too_large", "the request header is larger than the edge accepts")
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "malformed_request", "the request is not valid HTTP")
	}
	ctx.SetConnectionClose()
}

// xcacheBytes are the X-Cache values as bytes, made once.
var xcacheValues = map[httpcache.XCache][]byte{}

func init() {
	for _, x := range []httpcache.XCache{httpcache.HitL1, httpcache.HitL2, httpcache.StaleL1, httpcache.StaleL2, httpcache.Miss, httpcache.Revalidated, httpcache.Bypass} {
		xcacheValues[x] = []byte(x)
	}
}

func xcacheBytes(x httpcache.XCache) []byte { return xcacheValues[x] }
