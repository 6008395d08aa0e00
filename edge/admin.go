package edge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"

	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// The admin listener: /healthz (liveness), /readyz (the origin can be
// reached), /metrics and POST /purge (bearer token).
func (s *Server) handleAdmin(ctx *fasthttp.RequestCtx) {
	switch path := string(ctx.Path()); {
	case path == "/healthz":
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"status":"ok"}`)
	case path == "/readyz":
		s.ready(ctx)
	case !s.adminAuthorized(ctx):
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="cangqiong-edge-admin"`)
		s.fail(ctx, fasthttp.StatusUnauthorized, "unauthenticated", "the admin token is required")
	case path == "/metrics":
		s.metricsHandler()(ctx)
	case path == "/purge" && ctx.IsPost():
		s.purge(ctx)
	default:
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such admin endpoint")
	}
}

func (s *Server) metricsHandler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
}

func (s *Server) adminAuthorized(ctx *fasthttp.RequestCtx) bool {
	if len(s.cfg.AdminToken) < 16 {
		return false // no token configured: the protected endpoints stay shut
	}
	got := sha256.Sum256(ctx.Request.Header.Peek("Authorization"))
	want := sha256.Sum256([]byte("Bearer " + s.cfg.AdminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// readiness: an origin that reports its health (the tunnel) has a healthy
// core node.
func (s *Server) ready(ctx *fasthttp.RequestCtx) {
	if h, ok := s.cfg.Origin.(interface{ Healthy() bool }); ok && !h.Healthy() {
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "not_ready", "no healthy origin")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"status":"ready"}`)
}

// purgeRequest names surrogate keys and URLs ("host/path?query" or a full
// http(s) URL) to purge from L1, L2 and the region's other edges.
type purgeRequest struct {
	Keys []string `json:"keys"`
	URLs []string `json:"urls"`
}

func (s *Server) purge(ctx *fasthttp.RequestCtx) {
	var req purgeRequest
	dec := json.NewDecoder(bytesReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || len(req.Keys)+len(req.URLs) == 0 || len(req.Keys)+len(req.URLs) > 1000 {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_purge", `send {"keys": [...], "urls": [...]} with 1 to 1000 entries`)
		return
	}
	keys := append([]string(nil), req.Keys...)
	for _, u := range req.URLs {
		host, path, ok := splitURL(u)
		if !ok {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_purge", "a URL must be host/path or http(s)://host/path")
			return
		}
		keys = append(keys, httpcache.URLKey(host, path))
	}
	res, err := s.store.PurgeKeys(context.Background(), keys...)
	ctx.SetContentType("application/json")
	out := map[string]any{"purged_keys": len(keys), "result": res}
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusAccepted) // L1 done; L2 pending until Redis answers
		out["l2"] = "pending: " + err.Error()
	}
	json.NewEncoder(ctx).Encode(out)
}
