package edge

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/origin"
	"github.com/cangqiong/cangqiong/edge/ryw"
	"github.com/valyala/fasthttp"
)

// fetched is the result of one upstream request for a cache key, shared by
// the requests that coalesced on it.
type fetched struct {
	entry *httpcache.Entry // the answer as stored; may answer every waiter
	how   httpcache.XCache // Miss or Revalidated
	raw   *fasthttp.Response
	err   error // no answer from the origin
}

// serveCacheable answers a GET or HEAD from the caches or through them.
func (s *Server) serveCacheable(r *request) cacheResult {
	ctx := r.ctx
	pol := &r.route.policy
	hdr := r.hdr.header()
	var reqDir httpcache.Directives // none without Cache-Control and Pragma
	if v := r.hdr; v.repeated || v.cacheControl != nil || v.pragma != nil {
		reqDir = httpcache.RequestDirectives(hdr)
	}
	if reqDir.NoStore {
		return s.forward(r) // the client asked the caches to stay out
	}
	owner := pol.Owner(r.id.UserID)
	key := httpcache.AppendKey(r.sc.key[:0], ctx.Method(), ctx.Host(), ctx.RequestURI(), owner)
	r.sc.key = key
	hash := httpcache.Hash(key)
	tokens := s.tokens(r)
	now := r.start
	// fasthttp's RequestCtx is not used as a context.Context: its Done
	// races with Server.Shutdown. Lookups are bounded by the cache's own
	// timeouts; upstream work by RequestTimeout.
	e, level, ok := s.store.Get(context.Background(), hash, key)
	if ok && !(e.Matches(hdr) && s.recentEnough(&tokens, e, owner != 0)) {
		e, ok = nil, false // another Vary variant, or older than the user's write
	}
	if ok {
		state := e.State(now)
		if pol.RequestDirectives {
			state = e.StateFor(now, &reqDir)
		}
		switch state {
		case httpcache.Fresh:
			s.serveEntry(r, e, httpcache.HitFrom(int(level)), now)
			return resultOf(httpcache.HitFrom(int(level)))
		case httpcache.StaleRevalidate:
			s.serveEntry(r, e, httpcache.StaleFrom(int(level)), now)
			s.revalidateLater(r, hash, e)
			return resultOf(httpcache.StaleFrom(int(level)))
		}
	}
	if reqDir.OnlyIfCached {
		s.fail(ctx, fasthttp.StatusGatewayTimeout, "not_cached", "only-if-cached, and no usable stored response")
		return resultOf(httpcache.Miss)
	}
	return s.fetchAndServe(r, hash, e, level, &tokens, owner != 0)
}

// fetchAndServe goes upstream (coalesced with concurrent misses of the same
// key) and answers from the result, or from the stale entry when the origin
// fails and the entry may be served stale-if-error.
func (s *Server) fetchAndServe(r *request, hash uint64, stale *httpcache.Entry, level cache.Level, tokens *ryw.Set, perUser bool) cacheResult {
	ctx := r.ctx
	up := s.upstreamRequest(r, stale)
	xi := s.fetchExchange(r)
	wait, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	res, shared, err := s.group.Do(wait, hash, func(c context.Context) (*fetched, error) {
		defer fasthttp.ReleaseRequest(up)
		return s.fetch(c, r.route, r.id.UserID, hash, up, stale, xi), nil
	})
	if shared && err == nil && (res.entry == nil || !res.entry.Matches(&ctx.Request.Header) || !s.recentEnough(tokens, res.entry, perUser)) {
		// Another request's answer that does not fit this one: ask alone.
		up := s.upstreamRequest(r, stale)
		res = s.fetch(wait, r.route, r.id.UserID, hash, up, stale, xi)
		fasthttp.ReleaseRequest(up)
	}
	if err != nil { // this caller's deadline ended while waiting
		s.fail(ctx, fasthttp.StatusGatewayTimeout, "timeout", "the origin did not answer in time")
		return resultOf(httpcache.Miss)
	}
	now := s.now()
	if failed(res) && stale != nil {
		if st := stale.State(now); st == httpcache.StaleIfError || st == httpcache.StaleRevalidate {
			s.m.staleServes.Inc()
			s.serveEntry(r, stale, httpcache.StaleFrom(int(level)), now)
			return resultOf(httpcache.StaleFrom(int(level)))
		}
		if stale.MustRevalidate() && res.err != nil {
			s.fail(ctx, fasthttp.StatusGatewayTimeout, "revalidation_failed", "the stored response must be revalidated and the origin did not answer")
			return resultOf(httpcache.Miss)
		}
	}
	switch {
	case res.err != nil:
		s.originFailed(ctx, res.err)
	case res.entry != nil:
		s.serveEntry(r, res.entry, res.how, now)
	default:
		s.serveRaw(ctx, res.raw, httpcache.Miss)
	}
	return resultOf(res.how)
}

func failed(res *fetched) bool {
	if res.err != nil {
		return true
	}
	status := 0
	if res.entry != nil {
		status = res.entry.Status()
	} else if res.raw != nil {
		status = res.raw.StatusCode()
	}
	return status >= 500
}

// exchangeInfo is the part of the client request the storing rules read,
// copied so a fetch may outlive the request that started it.
type exchangeInfo struct {
	host, path []byte
	params     paramsCopy
	req        *fasthttp.RequestHeader
}

func (s *Server) fetchExchange(r *request) exchangeInfo {
	h := &fasthttp.RequestHeader{}
	r.ctx.Request.Header.CopyTo(h)
	return exchangeInfo{
		host: append([]byte(nil), r.ctx.Host()...), path: append([]byte(nil), r.ctx.RequestURI()...),
		params: copyParams(&r.sc.params), req: h,
	}
}

// fetch asks the origin and stores what may be stored. stale, when set, is
// revalidated with its validators (the request already carries them).
func (s *Server) fetch(ctx context.Context, rc *routeConf, user int64, hash uint64, up *fasthttp.Request, stale *httpcache.Entry, xi exchangeInfo) *fetched {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	resp := fasthttp.AcquireResponse()
	mark := s.store.Mark()
	reqTime := s.now()
	err := s.cfg.Origin.Do(ctx, up, resp)
	respTime := s.now()
	s.m.upstream.Observe(respTime.Sub(reqTime).Seconds())
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return &fetched{err: err, how: httpcache.Miss}
	}
	x := &httpcache.Exchange{
		Method: methodGET, Host: xi.host, Path: xi.path, UserID: user, Params: &xi.params,
		Request: xi.req, Status: resp.StatusCode(), Response: &resp.Header,
		RequestTime: reqTime, ResponseTime: respTime,
	}
	if stale != nil && resp.StatusCode() == fasthttp.StatusNotModified {
		if e, ok := stale.Refreshed(x, &rc.policy); ok {
			fasthttp.ReleaseResponse(resp)
			s.store.SetIfUnpurged(mark, hash, e)
			return &fetched{entry: e, how: httpcache.Revalidated}
		}
	}
	d := httpcache.Decide(x, &rc.policy)
	if d.Store {
		if e, err := httpcache.NewEntry(x, &d, resp.Body(), &s.cfg.Store); err == nil {
			fasthttp.ReleaseResponse(resp)
			s.store.SetIfUnpurged(mark, hash, e)
			return &fetched{entry: e, how: httpcache.Miss}
		}
	}
	return &fetched{raw: resp, how: httpcache.Miss}
}

// revalidateLater refreshes a stale-while-revalidate entry once, in the
// background.
func (s *Server) revalidateLater(r *request, hash uint64, e *httpcache.Entry) {
	s.bgMu.Lock()
	busy := s.bg[hash]
	s.bg[hash] = true
	s.bgMu.Unlock()
	if busy {
		return
	}
	up := s.upstreamRequest(r, e)
	xi := s.fetchExchange(r)
	rc, user := r.route, r.id.UserID
	go func() {
		defer func() { s.bgMu.Lock(); delete(s.bg, hash); s.bgMu.Unlock() }()
		s.group.Do(context.Background(), hash, func(c context.Context) (*fetched, error) {
			defer fasthttp.ReleaseRequest(up)
			return s.fetch(c, rc, user, hash, up, e, xi), nil
		})
	}()
}

// serveEntry answers from a stored entry: 304 to a matching conditional
// request, otherwise the entry in the encoding the client accepts.
func (s *Server) serveEntry(r *request, e *httpcache.Entry, how httpcache.XCache, now time.Time) {
	ctx := r.ctx
	rh := &ctx.Response.Header
	status := e.Status()
	hdr := r.hdr.header()
	if e.NotModified(hdr) {
		status = fasthttp.StatusNotModified
	}
	// The response is untouched so far: start it from the entry's fields,
	// added (and checked) once per entry, not once per hit. CopyTo resets
	// the flags the server set on the header too: restore its default
	// Content-Type choice (a pristine header has a Content-Type only by
	// default); the template's other flags are the server's (Date on,
	// names not normalized, as below).
	noDefaultCT := len(rh.ContentType()) == 0
	if tmpl := entryHeader(e); tmpl != nil {
		tmpl.CopyTo(rh)
		rh.SetNoDefaultContentType(noDefaultCT)
	} else {
		rh.DisableNormalizing() // stored names are canonical already
		for _, f := range e.Header() {
			rh.AddBytesKV(f.Name, f.Value)
		}
	}
	ctx.SetStatusCode(status)
	r.sc.num = strconv.AppendInt(r.sc.num[:0], e.Age(now), 10)
	rh.SetCanonical(hdrAge, r.sc.num) // names canonical and clean: SetBytesKV less the key copy
	rh.SetCanonical(hdrXCache, xcacheBytes(how))
	if status == fasthttp.StatusNotModified {
		return
	}
	body, coding := e.Pick(hdr.Peek("Accept-Encoding"))
	if len(coding) > 0 {
		rh.SetBytesKV(hdrContentEncoding, coding)
	}
	if ctx.IsHead() {
		rh.SetContentLength(len(body))
		ctx.Response.SkipBody = true
		return
	}
	ctx.Response.SetBodyRaw(body)
}

// serveRaw answers with an upstream response that was not stored.
func (s *Server) serveRaw(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, how httpcache.XCache) {
	defer fasthttp.ReleaseResponse(resp)
	skipHop(&resp.Header)
	resp.Header.SetBytesKV(hdrXCache, xcacheBytes(how))
	isHead := ctx.IsHead()
	resp.CopyTo(&ctx.Response)
	if isHead {
		ctx.Response.SkipBody = true
	}
}

// originFailed answers for an origin that gave no answer.
func (s *Server) originFailed(ctx *fasthttp.RequestCtx, err error) {
	var f *origin.Failure
	if !errors.As(err, &f) {
		f = &origin.Failure{Status: fasthttp.StatusBadGateway, Err: err}
	}
	if f.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	code := map[int]string{502: "bad_gateway", 503: "unavailable", 504: "gateway_timeout"}[f.Status]
	if code == "" {
		code = "bad_gateway"
	}
	s.log.Warn("origin gave no answer", "path", string(ctx.Path()), "status", f.Status, "err", f.Err)
	s.fail(ctx, f.Status, code, "the origin did not answer")
}

// entryHeader is e's stored fields in a response header, built on the
// first hit and kept in the entry's memo; nil for an entry without one. It
// is never changed once stored, so hits copy from it concurrently.
func entryHeader(e *httpcache.Entry) *fasthttp.ResponseHeader {
	m := e.Memo()
	if m == nil {
		return nil
	}
	if h, ok := m.Load().(*fasthttp.ResponseHeader); ok {
		return h
	}
	h := new(fasthttp.ResponseHeader)
	h.DisableNormalizing() // stored names are canonical already
	h.SetNoDefaultContentType(true)
	for _, f := range e.Header() {
		h.AddBytesKV(f.Name, f.Value)
	}
	m.Store(h) // concurrent first hits store equal headers: any one will do
	return h
}
