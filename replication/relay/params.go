package relay

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/control"
)

// Error codes of the relay's routes (JSON errors of core/httpapi), besides
// httpapi's decoding codes.
const (
	CodeEdgeOnly    = "edge_only"     // 403: only an edge certificate may subscribe or acknowledge
	CodeNotThisEdge = "not_this_edge" // 403: region or edge is not the certificate's
	CodeBadQuery    = "bad_query"     // 400: a subscription's query is malformed
	CodeBadAck      = "bad_ack"       // 400: an acknowledgement names a malformed keyspace
	CodeUnavailable = "unavailable"   // 503: shutting down, or too many subscriptions
)

// MaxFromBytes bounds a subscription's from= list.
const MaxFromBytes = 64 << 10

// ErrBadQuery is wrapped by every error of parseSubscribe.
var ErrBadQuery = errors.New("relay: bad subscription query")

// subscribeQuery is a subscription's parsed query.
type subscribeQuery struct {
	region, edge string
	from         stream.Cursors
}

// parseSubscribe reads region=, edge= (required) and from= (optional),
// each at most once, and nothing else.
func parseSubscribe(raw string) (subscribeQuery, error) {
	var q subscribeQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	for k, v := range vals {
		switch {
		case k != "region" && k != "edge" && k != "from":
			return q, fmt.Errorf("%w: unknown parameter %q", ErrBadQuery, k)
		case len(v) != 1:
			return q, fmt.Errorf("%w: %s given %d times", ErrBadQuery, k, len(v))
		}
	}
	q.region, q.edge = vals.Get("region"), vals.Get("edge")
	if err := certs.ValidateName("region", q.region); err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	if err := certs.ValidateName("edge", q.edge); err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	from := vals.Get("from")
	if len(from) > MaxFromBytes {
		return q, fmt.Errorf("%w: from= is %d bytes, at most %d", ErrBadQuery, len(from), MaxFromBytes)
	}
	if q.from, err = stream.ParseCursors(from); err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	if len(q.from) > control.MaxAckCursors {
		return q, fmt.Errorf("%w: %d cursors, at most %d", ErrBadQuery, len(q.from), control.MaxAckCursors)
	}
	return q, nil
}

// edgeOnly admits a request whose tunnel peer is an edge certificate.
func edgeOnly(r *http.Request) (certs.Peer, *httpapi.Error) {
	peer, ok := tunnel.PeerFrom(r.Context())
	if !ok || peer.Kind != certs.Edge {
		return peer, httpapi.Errorf(http.StatusForbidden, CodeEdgeOnly, "only an edge may use %s", r.URL.Path)
	}
	return peer, nil
}

// sameEdge checks that an edge speaks for itself: region and edge are its
// certificate's.
func sameEdge(peer certs.Peer, region, edge string) *httpapi.Error {
	if region != peer.Region || edge != peer.ID {
		return httpapi.Errorf(http.StatusForbidden, CodeNotThisEdge, "region %q and edge %q are not the certificate's (%s)", region, edge, peer)
	}
	return nil
}
