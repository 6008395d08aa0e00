package tunnel

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// serveRoute runs one of Config.Routes on net/http's own ResponseWriter:
// no request timeout and no buffering in between, so a handler may stream
// (flushing through http.ResponseController, and setting its own write
// deadlines there). The request's context carries the peer and ends when
// the client goes away or Shutdown begins.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, m *meta, h http.Handler) {
	r.Header.Del(HeaderUserID)
	r.Header.Del(HeaderUserRole)
	if r.ContentLength > s.cfg.MaxBodyBytes {
		httpapi.WriteError(w, s.tooLarge())
		return
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), metaKey{}, m))
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	r = r.WithContext(ctx)
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	h.ServeHTTP(w, r)
}
