package edge

import (
	"bytes"
	"context"
	"strconv"

	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/route"
	"github.com/cangqiong/cangqiong/edge/ryw"
	"github.com/valyala/fasthttp"
)

var (
	methodGET          = []byte("GET")
	hdrAge             = []byte("Age")
	hdrXCache          = []byte(httpcache.XCacheHeader)
	hdrContentEncoding = []byte("Content-Encoding")
	hdrVersion         = []byte(tunnel.HeaderVersion)
	versionCookie      = []byte("cq_v")
)

// hopByHop are fields meant for one connection only (RFC 9110 §7.6.1).
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authorization", "Proxy-Authenticate"}

// clientConditionals are answered by the edge from its own entries; the
// origin sees only the edge's validators.
var clientConditionals = []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}

// upstreamRequest copies the client's request for the origin: a cacheable
// read goes up as GET (a HEAD miss fills the GET entry), with the stale
// entry's validators when revalidating; identity goes only to the core.
func (s *Server) upstreamRequest(r *request, stale *httpcache.Entry) *fasthttp.Request {
	up := fasthttp.AcquireRequest()
	r.ctx.Request.CopyTo(up)
	cacheable := up.Header.IsGet() || up.Header.IsHead()
	if cacheable && !r.route.policy.Bypass {
		up.Header.SetMethodBytes(methodGET)
		for _, h := range clientConditionals {
			up.Header.Del(h)
		}
		if stale != nil {
			inm, ims := stale.Validators()
			if len(inm) > 0 {
				up.Header.SetBytesV("If-None-Match", inm)
			}
			if len(ims) > 0 {
				up.Header.SetBytesV("If-Modified-Since", ims)
			}
		}
	}
	for _, h := range hopByHop {
		up.Header.Del(h)
	}
	up.Header.Add("X-Forwarded-For", r.ctx.RemoteIP().String())
	if s.cfg.Tunnel {
		up.Header.Del("Authorization")
		if r.id.UserID != 0 {
			up.Header.Set(tunnel.HeaderUserID, strconv.FormatInt(r.id.UserID, 10))
			up.Header.Set(tunnel.HeaderUserRole, string(r.id.Role))
		}
	}
	return up
}

func skipHop(h *fasthttp.ResponseHeader) {
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// forward sends a request that is not answered from the caches (writes,
// bypassed routes) to the origin and its answer to the client. A
// successful unsafe request purges what RFC 9111 §4.4 says it changed, and
// its version token is remembered for the user and handed to the client.
func (s *Server) forward(r *request) cacheResult {
	ctx := r.ctx
	up := s.upstreamRequest(r, nil)
	defer fasthttp.ReleaseRequest(up)
	resp := fasthttp.AcquireResponse()
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	start := s.now()
	err := s.cfg.Origin.Do(c, up, resp)
	s.m.upstream.Observe(s.now().Sub(start).Seconds())
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		s.originFailed(ctx, err)
		return resultOf(httpcache.Bypass)
	}
	status := resp.StatusCode()
	method := ctx.Method()
	if unsafe(method) && status >= 200 && status < 400 {
		s.invalidate(ctx, method, status, &resp.Header)
		s.rememberWrite(r, resp.Header.PeekBytes(hdrVersion), &resp.Header)
	}
	s.serveRaw(ctx, resp, httpcache.Bypass)
	return resultOf(httpcache.Bypass)
}

func unsafe(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

// invalidate purges the URLs an unsafe request changed, from every level.
func (s *Server) invalidate(ctx *fasthttp.RequestCtx, method []byte, status int, resp *fasthttp.ResponseHeader) {
	keys := httpcache.InvalidationTargets(method, status, ctx.Host(), ctx.RequestURI(), resp)
	if len(keys) == 0 {
		return
	}
	if _, err := s.store.PurgeKeys(context.Background(), keys...); err != nil {
		s.log.Warn("purge after a write", "keys", keys, "err", err)
	}
}

// rememberWrite keeps a write's version token for its user and gives the
// client the tokens it holds, as a header and a cookie, so that its next
// reads, here or at another edge, are not served older data.
func (s *Server) rememberWrite(r *request, token []byte, resp *fasthttp.ResponseHeader) {
	t, err := ryw.ParseToken(token)
	if err != nil {
		return
	}
	set := s.clientTokens(r)
	set.Add(t)
	if r.id.UserID != 0 {
		set = s.ryw.Add(r.id.UserID, set)
	}
	text := set.AppendText(nil)
	var ck fasthttp.Cookie
	ck.SetKeyBytes(versionCookie)
	ck.SetValueBytes(text)
	ck.SetPath("/")
	ck.SetMaxAge(int(s.ryw.TTL().Seconds()))
	ck.SetHTTPOnly(true)
	ck.SetSecure(s.cfg.CookieSecure)
	ck.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	resp.SetCookie(&ck)
}

// clientTokens are the tokens the client sent (cookie and header).
func (s *Server) clientTokens(r *request) ryw.Set {
	h := &r.ctx.Request.Header
	set := ryw.ParseSet(h.CookieBytes(versionCookie))
	if v := h.PeekBytes(hdrVersion); len(v) > 0 {
		set.Merge(ryw.ParseSet(v))
	}
	return set
}

// tokens are every token the request's reads must honour: the client's and
// those remembered for its user.
func (s *Server) tokens(r *request) ryw.Set {
	var set ryw.Set
	if r.hdr.cookie || len(r.hdr.version) > 0 {
		set = s.clientTokens(r)
	}
	if r.id.UserID != 0 {
		set.Merge(s.ryw.Get(r.id.UserID))
	}
	return set
}

// recentEnough: may entry e answer a request carrying tokens?
func (s *Server) recentEnough(tokens *ryw.Set, e *httpcache.Entry, perUser bool) bool {
	if tokens.Len() == 0 {
		return true
	}
	v := e.Version()
	if v == "" {
		return tokens.Allows(ryw.Token{}, false, perUser)
	}
	t, err := ryw.ParseToken([]byte(v))
	if err == nil {
		// The entry is as new as the edge's change stream of its keyspace.
		// Applied(K) = A means every change of K up to A had its purge
		// applied here (L1, and L2 by marker) before the cursor moved, or
		// was flushed by a reset (by the keyspace key the entry carries).
		// A change that altered what the entry shows names one of its
		// surrogate keys (the core builds both from one function), so its
		// purge removed the entry, and an entry fetched before that purge
		// is refused when stored after it (the store's marks). An entry
		// still here after A therefore either was fetched after those
		// changes committed, or none of them concerned it: what it shows
		// is current as of A, whatever older version it was stored with.
		t.Seq = max(t.Seq, s.appliedFor(e, t.Keyspace))
	}
	return tokens.Allows(t, err == nil, perUser)
}

// paramsCopy holds a route's captures beyond the request's life.
type paramsCopy struct {
	names []string
	vals  [][]byte
}

func copyParams(ps *route.Params) paramsCopy {
	var c paramsCopy
	for i := range ps.Len() {
		name, val := ps.At(i)
		c.names = append(c.names, name)
		c.vals = append(c.vals, bytes.Clone(val))
	}
	return c
}

func (c *paramsCopy) Get(name string) []byte {
	for i, n := range c.names {
		if n == name {
			return c.vals[i]
		}
	}
	return nil
}
