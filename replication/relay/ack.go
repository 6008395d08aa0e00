package relay

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/control"
)

// Bounds of an acknowledgement.
const (
	maxAckBody = 64 << 10
	ackTimeout = 5 * time.Second
)

// serveAck is POST stream.PathAck: an edge's cursors, stored for pruning.
// Keyspaces the topology does not know (a shard removed since) are
// ignored; malformed ones refuse the whole acknowledgement.
func (r *Relay) serveAck(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes POST", req.URL.Path))
		return
	}
	peer, e := edgeOnly(req)
	if e != nil {
		httpapi.WriteError(w, e)
		return
	}
	var a stream.Ack
	if err := httpapi.Decode(w, req, maxAckBody, &a); err != nil {
		httpapi.WriteError(w, err)
		return
	}
	if e := sameEdge(peer, a.Region, a.Edge); e != nil {
		httpapi.WriteError(w, e)
		return
	}
	cursors, err := r.knownCursors(a.Cursors)
	if err != nil {
		httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, CodeBadAck, "%v", err))
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), ackTimeout)
	defer cancel()
	if err := r.acks.Record(ctx, a.Region, a.Edge, cursors); err != nil {
		r.log.Warn("cannot record an acknowledgement", "peer", peer.String(), "err", err)
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, CodeUnavailable, "the acknowledgement was not stored; send it again"))
		return
	}
	r.count.acks.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// knownCursors checks an acknowledgement's keyspaces and keeps those of
// the current topology.
func (r *Relay) knownCursors(c stream.Cursors) (map[string]uint64, error) {
	if len(c) > control.MaxAckCursors {
		return nil, fmt.Errorf("%d cursors, at most %d", len(c), control.MaxAckCursors)
	}
	known := r.keyspaces()
	out := make(map[string]uint64, len(c))
	for ks, seq := range c {
		if !relayable(ks) {
			return nil, fmt.Errorf("keyspace %q is malformed", ks)
		}
		if _, ok := slices.BinarySearch(known, ks); ok {
			out[ks] = seq
		}
	}
	return out, nil
}
