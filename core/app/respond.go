package app

import (
	"fmt"
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
	cachePrivate      = "private"
	cacheNoStore      = "no-store"
	contentTypeHeader = "Content-Type"
	contentTypeJSON   = "application/json"
)

// handler serves one route. It writes its success response itself and
// returns an error instead of writing one.
type handler func(w http.ResponseWriter, r *http.Request) error

// wrap adapts a handler: an error (or a panic) becomes the API's JSON
// error; server-side failures are logged.
func (a *App) wrap(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.fail(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	api, internal := classify(err)
	if internal {
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
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
