package tunnel

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/core/identity"
)

// serveHTTP admits a request: names it, finds its peer, believes or drops
// its identity headers, checks its declared size, then runs the handler
// under the request timeout, which starts here.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	m := &meta{requestID: requestID(r.Header)}
	w.Header().Set(HeaderRequestID, m.requestID)

	peer, err := verifiedPeer(r.TLS)
	if err != nil {
		s.log.Warn("refused a request from a client certificate without a valid peer", "request_id", m.requestID, "err", err)
		httpapi.WriteError(w, httpapi.Errorf(http.StatusForbidden, CodeBadPeer, "the client certificate names no valid peer"))
		return
	}
	m.peer = peer
	if h, ok := s.cfg.Routes[r.URL.Path]; ok {
		s.serveRoute(w, r, m, h)
		return
	}
	if isEdgeRoute(r.URL.Path) {
		s.serveEdgeRoute(w, r, peer)
		return
	}
	ctx := context.WithValue(r.Context(), metaKey{}, m)

	id, vouched, err := userFromHeaders(peer, r.Header)
	if err != nil {
		s.log.Warn("refused malformed identity headers", "peer", peer.String(), "request_id", m.requestID, "err", err)
		httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, CodeBadIdentity, "%v", err))
		return
	}
	if vouched {
		ctx = identity.With(ctx, id)
	}

	if r.ContentLength > s.cfg.MaxBodyBytes {
		httpapi.WriteError(w, s.tooLarge())
		return
	}
	body := &limitedBody{rc: r.Body, limit: s.cfg.MaxBodyBytes, left: s.cfg.MaxBodyBytes}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	r.Body = body
	s.run(w, r, body)
}

func (s *Server) tooLarge() *httpapi.Error {
	return httpapi.Errorf(http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, "the body exceeds %d bytes", s.cfg.MaxBodyBytes)
}

// verifiedPeer names the peer of a connection whose client certificate was
// verified. Without one (not possible with a Config New accepted) there is
// no peer.
func verifiedPeer(cs *tls.ConnectionState) (certs.Peer, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return certs.Peer{}, errors.New("no verified client certificate")
	}
	return certs.PeerFromCert(cs.VerifiedChains[0][0])
}

// userFromHeaders takes the end user's identity from an edge's request and
// removes the identity headers from every request. vouched reports whether
// an edge named a user.
func userFromHeaders(peer certs.Peer, h http.Header) (id identity.Identity, vouched bool, err error) {
	ids, roles := h.Values(HeaderUserID), h.Values(HeaderUserRole)
	h.Del(HeaderUserID)
	h.Del(HeaderUserRole)
	if peer.Kind != certs.Edge || (len(ids) == 0 && len(roles) == 0) {
		return identity.Identity{}, false, nil
	}
	if len(ids) != 1 || len(roles) != 1 {
		return identity.Identity{}, false, fmt.Errorf("send one %s and one %s, or neither (got %d and %d)", HeaderUserID, HeaderUserRole, len(ids), len(roles))
	}
	uid, ok := parseUserID(ids[0])
	if !ok {
		return identity.Identity{}, false, fmt.Errorf("%s %q is not a positive 64-bit decimal integer", HeaderUserID, ids[0])
	}
	role := identity.Role(roles[0])
	if !role.Valid() {
		return identity.Identity{}, false, fmt.Errorf("%s %q is not customer, merchant or admin", HeaderUserRole, roles[0])
	}
	return identity.Identity{UserID: uid, Role: role}, true, nil
}

// parseUserID accepts only the canonical decimal form: no sign, no leading
// zero, no spaces, in int64.
func parseUserID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// requestID keeps a well-formed id the client sent, or makes one.
func requestID(h http.Header) string {
	if v := h.Get(HeaderRequestID); validRequestID(v) {
		return v
	}
	return rand.Text()
}

func validRequestID(v string) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// limitedBody is http.MaxBytesReader that remembers it was exceeded, so the
// response can become a 413 whatever the handler makes of the error.
type limitedBody struct {
	rc       io.ReadCloser
	limit    int64
	left     int64
	exceeded atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.exceeded.Load() {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than is left, to tell "exactly at the limit"
	// from "past it".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.exceeded.Store(true)
	return n, &http.MaxBytesError{Limit: b.limit}
}

func (b *limitedBody) Close() error { return b.rc.Close() }
