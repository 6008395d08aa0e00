package edge

import (
	"time"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/cangqiong/cangqiong/edge/route"
	"github.com/valyala/fasthttp"
)

// scratch is per-request working memory, pooled so the hit path does not
// allocate.
type scratch struct {
	params route.Params
	key    []byte
	num    []byte
	req    request // lives here so that it need not escape on its own
	view   reqView
}

// request is what the pipeline knows about one request.
type request struct {
	ctx   *fasthttp.RequestCtx
	sc    *scratch
	hdr   *reqView // the request header fields the pipeline reads
	route *routeConf
	id    identity.Identity // UserID 0: anonymous
	start time.Time         // when the request arrived; the cache's "now"
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	// fasthttp reads the clock for every request already (ctx.Time); the
	// clock is slow enough on some machines to be worth not reading twice.
	start := ctx.Time()
	if !s.realClock || start.IsZero() {
		start = s.now()
	}
	sc := s.scratch.Get().(*scratch)
	r := &sc.req
	sc.view.load(&ctx.Request.Header)
	*r = request{ctx: ctx, sc: sc, hdr: &sc.view, start: start}
	result := s.serve(r)
	*r = request{} // the pool must not keep the request context alive
	s.m.observe(ctx.Response.StatusCode(), result)
	s.scratch.Put(sc)
}

// serve runs the pipeline and returns what the cache did (for metrics).
func (s *Server) serve(r *request) cacheResult {
	ctx := r.ctx
	h := &ctx.Request.Header
	if len(h.RequestURI()) > s.cfg.MaxURLBytes {
		s.fail(ctx, fasthttp.StatusRequestURITooLong, "uri_too_long", "the request URI is longer than the edge accepts")
		return resultNone
	}
	// The identity headers are the edge's to set, never the client's.
	if r.hdr.identity {
		h.Del(tunnel.HeaderUserID)
		h.Del(tunnel.HeaderUserRole)
	}
	if s.perIP != nil {
		if ok, wait := s.perIP.Allow(limit.IPKeyBytes(ctx.RemoteIP())); !ok {
			s.tooMany(ctx, wait)
			return resultNone
		}
	}
	r.route = s.match(h.Method(), ctx.Path(), &r.sc.params)
	if !s.authenticate(r) {
		return resultNone
	}
	if s.perUsr != nil && r.id.UserID != 0 {
		if ok, wait := s.perUsr.Allow(limit.UserKey(r.id.UserID)); !ok {
			s.tooMany(ctx, wait)
			return resultNone
		}
	}
	if (h.IsGet() || h.IsHead()) && !r.route.policy.Bypass {
		return s.serveCacheable(r)
	}
	return s.forward(r)
}

func (s *Server) match(method, path []byte, ps *route.Params) *routeConf {
	if rc, _, ok := s.routes.Lookup(method, path, ps); ok {
		return rc
	}
	*ps = route.Params{}
	return s.def
}

// authenticate verifies the Bearer token, if any, and enforces the route's
// need for a user; it answers 401 itself and returns false when the request
// stops here.
func (s *Server) authenticate(r *request) bool {
	token, present := auth.BearerToken(r.hdr.authorization)
	if !present {
		if r.route.auth == AuthRequired {
			s.unauthorized(r.ctx, auth.ErrNoToken)
			return false
		}
		return true
	}
	if s.cfg.Auth == nil {
		s.unauthorized(r.ctx, auth.ErrUnknownKey)
		return false
	}
	claims, err := s.cfg.Auth.Verify(token)
	if err != nil {
		s.unauthorized(r.ctx, err)
		return false
	}
	r.id = claims.Identity()
	return true
}
