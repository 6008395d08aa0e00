package tunnel

import (
	"context"

	"github.com/cangqiong/cangqiong/core/certs"
)

// Headers of the tunnel's wire contract.
const (
	// HeaderUserID carries the end user's id, a positive decimal int64, on
	// a request from an edge that verified the user's JWT. Believed only
	// from an edge peer.
	HeaderUserID = "Cq-User-Id"
	// HeaderUserRole carries that user's role (customer, merchant, admin).
	// Sent together with HeaderUserID or not at all.
	HeaderUserRole = "Cq-User-Role"
	// HeaderVersion is set by the core on a write's response: the version
	// token (shard and outbox sequence) the edge needs for read-your-writes.
	HeaderVersion = "Cq-Version"
	// HeaderRequestID names a request in the logs of edge and core. The
	// edge may send one (1 to 128 of A-Z a-z 0-9 . _ : -); the core makes
	// one otherwise, and returns it on every response.
	HeaderRequestID = "Cq-Request-Id"
)

// Error codes the tunnel itself answers with, besides
// httpapi.CodeBodyTooLarge (413) and httpapi.CodeInternal (500).
const (
	CodeBadIdentity = "bad_identity" // 400: malformed HeaderUserID or HeaderUserRole from an edge
	CodeBadPeer     = "bad_peer"     // 403: the client certificate names no valid peer
	CodeTimeout     = "timeout"      // 504: the handler did not answer within Config.RequestTimeout
)

// meta is what the tunnel knows about a request, kept in its context.
type meta struct {
	peer      certs.Peer
	requestID string
}

type metaKey struct{}

// PeerFrom returns the authenticated peer (edge, core node or admin client)
// a request handled by the tunnel came from.
func PeerFrom(ctx context.Context) (certs.Peer, bool) {
	m, ok := ctx.Value(metaKey{}).(*meta)
	if !ok {
		return certs.Peer{}, false
	}
	return m.peer, true
}

// RequestID returns the request's HeaderRequestID, or "" outside the tunnel.
func RequestID(ctx context.Context) string {
	if m, ok := ctx.Value(metaKey{}).(*meta); ok {
		return m.requestID
	}
	return ""
}
