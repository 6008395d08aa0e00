package app

import (
	"net/http"
	"strings"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/outbox"
)

// Header names. The version token travels under the tunnel's wire name:
// the edge keys read-your-writes on it.
const (
	headerVersion     = tunnel.HeaderVersion
	headerIdemKey     = "Idempotency-Key"
	headerIdemReplay  = "Idempotent-Replayed"
	headerSurrogate   = "Surrogate-Key"
	headerCache       = "Cache-Control"
	headerRetryAfter  = "Retry-After"
	cachePrivate      = "private"
	cacheNoStore      = "no-store"
	contentTypeHeader = "Content-Type"
	contentTypeJSON   = "application/json"
)

// handler serves one route: see httpapi.Handler.
type handler = httpapi.Handler

// wrap adapts a handler: an error (or a panic) becomes the API's JSON
// error, by fail.
func (a *App) wrap(h handler) http.Handler { return httpapi.Wrap(h, a.fail) }

// fail answers with err as classify sees it; server-side failures are
// logged.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	api, internal := classify(err)
	if internal {
		httpapi.LogFailure(a.log, r, err)
	}
	writeErr(w, api)
}

// public writes a catalog read that any shared cache may keep.
func (a *App) public(w http.ResponseWriter, v any, keys ...string) error {
	h := w.Header()
	h.Set(headerCache, a.catalogCache)
	h.Set(headerSurrogate, strings.Join(keys, " "))
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// private writes one user's read: only that user's cache entry may keep it.
func private(w http.ResponseWriter, v any, keys ...string) error {
	h := w.Header()
	h.Set(headerCache, cachePrivate)
	h.Set(headerSurrogate, strings.Join(keys, " "))
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// written answers a committed write with its version. v nil writes no
// body (204).
func written(w http.ResponseWriter, status int, version outbox.Version, v any) error {
	h := w.Header()
	h.Set(headerCache, cacheNoStore)
	h.Set(headerVersion, version.String())
	if v == nil {
		w.WriteHeader(status)
		return nil
	}
	httpapi.WriteJSON(w, status, v)
	return nil
}
