package relay

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// flushBytes is how much a subscription gathers before it writes even
// though more is ready.
const flushBytes = 64 << 10

// Why a subscription ended, besides its client going away.
var (
	errGained   = errors.New("relay: this node started relaying another keyspace; subscribe again")
	errShutdown = errors.New("relay: shutting down")
)

// serveSubscribe is GET stream.PathSubscribe: the change stream of the
// keyspaces this node relays.
func (r *Relay) serveSubscribe(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		httpapi.WriteError(w, httpapi.Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes GET", req.URL.Path))
		return
	}
	peer, e := edgeOnly(req)
	if e != nil {
		httpapi.WriteError(w, e)
		return
	}
	q, err := parseSubscribe(req.URL.RawQuery)
	if err != nil {
		httpapi.WriteError(w, httpapi.Errorf(http.StatusBadRequest, CodeBadQuery, "%v", err))
		return
	}
	if e := sameEdge(peer, q.region, q.edge); e != nil {
		httpapi.WriteError(w, e)
		return
	}
	if ok, closed := r.hub.join(r.cfg.MaxSubscriptions); !ok {
		msg := "too many subscriptions on this node; try another"
		if closed {
			msg = "this node is shutting down; subscribe to another"
		}
		httpapi.WriteError(w, httpapi.Errorf(http.StatusServiceUnavailable, CodeUnavailable, "%s", msg))
		return
	}
	defer r.hub.leave()

	s := r.newSubscription(w, q)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	if err := s.rc.Flush(); err != nil {
		return
	}
	log := r.log.With("peer", peer.String())
	log.Debug("subscribed", "keyspaces", len(s.states), "from", q.from.String())
	err = s.run(req.Context())
	log.Debug("subscription ended", "err", err)
}

// ksState is one keyspace of a subscription.
type ksState struct {
	ks       string
	cursor   uint64 // the last change sent (or the edge's, at first)
	lenient  bool   // no cursor given: begin at the oldest retained change, without a reset
	caughtUp bool   // the head frame that follows catching up was sent
	lastSent time.Time
	retryAt  time.Time // after a failed read of the outbox
}

// subscription is one edge's stream.
type subscription struct {
	r      *Relay
	w      http.ResponseWriter
	rc     *http.ResponseController
	states []*ksState // by keyspace
	byKS   map[string]*ksState
	buf    []byte
	rows   []change
}

// newSubscription streams the keyspaces relayed here now, each from the
// edge's cursor.
func (r *Relay) newSubscription(w http.ResponseWriter, q subscribeQuery) *subscription {
	feeds, _, _ := r.hub.state()
	s := &subscription{r: r, w: w, rc: http.NewResponseController(w), byKS: map[string]*ksState{}}
	for ks := range feeds {
		cursor, given := q.from[ks]
		st := &ksState{ks: ks, cursor: cursor, lenient: !given}
		s.states = append(s.states, st)
		s.byKS[ks] = st
	}
	slices.SortFunc(s.states, func(a, b *ksState) int { return cmp.Compare(a.ks, b.ks) })
	return s
}

// run streams until the client goes away, the relay shuts down, a write
// times out, or this node starts relaying a keyspace the subscription did
// not begin with.
func (s *subscription) run(ctx context.Context) error {
	timer := time.NewTimer(s.r.cfg.Heartbeat)
	defer timer.Stop()
	for {
		feeds, wake, closed := s.r.hub.state()
		if closed {
			return errShutdown
		}
		for ks := range feeds {
			if s.byKS[ks] == nil {
				return errGained
			}
		}
		more := false
		now := time.Now()
		for _, st := range s.states {
			f := feeds[st.ks]
			if f == nil || now.Before(st.retryAt) {
				continue // relayed elsewhere now, or its outbox failed a moment ago
			}
			m, err := s.pull(ctx, st, f, now)
			if err != nil {
				return err
			}
			more = more || m
			if len(s.buf) >= flushBytes {
				if err := s.flush(); err != nil {
					return err
				}
			}
		}
		if err := s.flush(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if more {
			continue
		}
		timer.Reset(s.nextHeartbeat(feeds, now))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pull appends the frames st is due from f to the buffer and reports
// whether more are ready at once.
func (s *subscription) pull(ctx context.Context, st *ksState, f *feed, now time.Time) (bool, error) {
	before := st.cursor
	var status readStatus
	var v view
	s.buf, st.cursor, status, v = f.read(st.cursor, s.buf, s.r.cfg.PollBatch)
	switch status {
	case fromRing:
		st.lenient = false
		s.sent(st, now, st.cursor-before)
		return st.cursor < v.head || !st.caughtUp, nil
	case upToDate:
		st.lenient = false
		if !st.caughtUp || now.Sub(st.lastSent) >= s.r.cfg.Heartbeat {
			s.head(st, v, now)
		}
		return false, nil
	case ahead:
		// The edge has applied changes this outbox never had (it was
		// restored or rebuilt): start it over from what is retained.
		s.reset(st, v.oldest)
		return true, nil
	}
	return s.pullDB(ctx, st, v, now)
}

// pullDB reads changes older than the ring from the outbox; a gap after
// the cursor is a reset. A keyspace whose outbox cannot be read is tried
// again a Heartbeat later; the others go on streaming meanwhile.
func (s *subscription) pullDB(ctx context.Context, st *ksState, v view, now time.Time) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, s.r.cfg.WriteTimeout)
	defer cancel()
	rows, err := s.r.readChanges(rctx, st.ks, st.cursor, s.r.cfg.PollBatch, s.rows[:0])
	s.rows = rows
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		s.r.log.Warn("a subscription cannot read an outbox", "keyspace", st.ks, "err", err)
		st.retryAt = now.Add(s.r.cfg.Heartbeat)
		return false, nil
	}
	if len(rows) == 0 {
		// Everything between the cursor and the ring is gone.
		if st.lenient {
			st.cursor, st.lenient = v.lo-1, false
		} else {
			s.reset(st, v.lo)
		}
		return true, nil
	}
	if rows[0].seq != st.cursor+1 && !st.lenient {
		s.reset(st, rows[0].seq)
	}
	st.lenient = false
	for _, c := range rows {
		s.buf = append(s.buf, c.line...)
	}
	st.cursor = rows[len(rows)-1].seq
	s.sent(st, now, uint64(len(rows)))
	return true, nil
}

func (s *subscription) sent(st *ksState, now time.Time, changes uint64) {
	st.lastSent = now
	s.r.count.changes.Add(changes)
}

// head tells the edge where the keyspace stands: sent once caught up, and
// then whenever the keyspace is idle for a Heartbeat.
func (s *subscription) head(st *ksState, v view, now time.Time) {
	s.buf, _ = stream.AppendFrame(s.buf, &stream.Frame{Type: stream.TypeHead, Keyspace: st.ks, Seq: v.head, Oldest: v.oldest})
	st.caughtUp, st.lastSent = true, now
	s.r.count.heads.Add(1)
}

// reset tells the edge that changes after its cursor are gone: it flushes
// and continues from oldest-1, and so does the subscription.
func (s *subscription) reset(st *ksState, oldest uint64) {
	oldest = max(oldest, 1)
	s.buf, _ = stream.AppendFrame(s.buf, &stream.Frame{Type: stream.TypeReset, Keyspace: st.ks, Oldest: oldest})
	st.cursor, st.lenient = oldest-1, false
	s.r.count.resets.Add(1)
}

// nextHeartbeat is how long until a relayed keyspace is due a head frame,
// or a retry.
func (s *subscription) nextHeartbeat(feeds map[string]*feed, now time.Time) time.Duration {
	next := s.r.cfg.Heartbeat
	for _, st := range s.states {
		if feeds[st.ks] != nil {
			due := st.lastSent.Add(s.r.cfg.Heartbeat)
			if st.retryAt.After(due) {
				due = st.retryAt
			}
			next = min(next, due.Sub(now))
		}
	}
	return max(next, time.Millisecond)
}

// flush writes the buffer and flushes it within WriteTimeout; an edge that
// does not take it in time is disconnected.
func (s *subscription) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	began := time.Now()
	_ = s.rc.SetWriteDeadline(began.Add(s.r.cfg.WriteTimeout)) // unsupported: no bound
	_, err := s.w.Write(s.buf)
	if err == nil {
		err = s.rc.Flush()
	}
	s.buf = s.buf[:0]
	if err != nil {
		if time.Since(began) >= s.r.cfg.WriteTimeout {
			s.r.count.slow.Add(1)
		}
		return err
	}
	_ = s.rc.SetWriteDeadline(time.Time{})
	return nil
}
