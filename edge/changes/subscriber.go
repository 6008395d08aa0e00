package changes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
)

// ErrClosed: the Subscriber was closed.
var ErrClosed = errors.New("changes: subscriber closed")

// Subscriber follows the change stream of every core node for one edge.
// Its methods are safe for concurrent use.
type Subscriber struct {
	cfg Config
	log *slog.Logger

	ks   atomic.Pointer[map[string]*keyspace] // replaced, never changed
	ksMu sync.Mutex                           // serializes the replacements

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	mu     sync.Mutex // guards the lifecycle and subs
	subs   map[string]context.CancelFunc
	known  map[string]bool // nodes ever subscribed to
	state  int             // 0 new, 1 started, 2 closed
	wg     sync.WaitGroup

	ackMu sync.Mutex // one acknowledgement at a time
	acked stream.Cursors

	open        atomic.Int64 // subscriptions with a stream now
	lastApplied atomic.Int64 // unix ns
	c           counters
}

type counters struct {
	applied, duplicates, resets, gaps, malformed, reconnects, acks, ackErrors atomic.Uint64
}

// New checks cfg and returns a Subscriber; Start starts it.
func New(cfg Config) (*Subscriber, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	s := &Subscriber{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "edge.changes", "region", cfg.Region, "edge", cfg.Edge),
		subs:  map[string]context.CancelFunc{},
		known: map[string]bool{},
		acked: stream.Cursors{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	empty := map[string]*keyspace{}
	s.ks.Store(&empty)
	return s, nil
}

// Start opens a subscription to every core node Core.Nodes names, and
// starts following the node list and acknowledging. It does not wait for
// the subscriptions.
func (s *Subscriber) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case 1:
		return errors.New("changes: subscriber already started")
	case 2:
		return ErrClosed
	}
	s.state = 1
	s.syncNodesLocked()
	s.wg.Add(2)
	go s.watchNodes()
	go s.ackLoop()
	return nil
}

// Close ends the subscriptions, waits for the frames being applied, and
// sends a last acknowledgement (bounded by Config.AckTimeout). It is
// idempotent.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	was := s.state
	s.state = 2
	s.mu.Unlock()
	if was == 2 {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	if was == 1 {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.AckTimeout)
		defer cancel()
		s.ack(ctx)
	}
	return nil
}

// watchNodes keeps one subscription per node Core.Nodes names.
func (s *Subscriber) watchNodes() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.NodesInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			s.syncNodesLocked()
			s.mu.Unlock()
		}
	}
}

func (s *Subscriber) syncNodesLocked() {
	if s.state != 1 {
		return
	}
	want := map[string]bool{}
	for _, a := range s.cfg.Core.Nodes() {
		want[a] = true
	}
	for addr, stop := range s.subs {
		if !want[addr] {
			stop()
			delete(s.subs, addr)
			s.log.Info("core node gone: its subscription ends", "node", addr)
		}
	}
	for addr := range want {
		if _, ok := s.subs[addr]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		s.subs[addr] = cancel
		again := s.known[addr]
		s.known[addr] = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.follow(ctx, addr, again)
		}()
	}
}

// follow keeps a subscription to the node at addr until ctx ends,
// opening it again after each failure with backoff and jitter. again: the
// node had a subscription before (it left the node list and came back).
func (s *Subscriber) follow(ctx context.Context, addr string, again bool) {
	log := s.log.With("node", addr)
	backoff := s.cfg.MinBackoff
	failing := false
	var lastAtOnce time.Time
	for attempt := 0; ; attempt++ {
		if attempt > 0 || again {
			s.c.reconnects.Add(1)
		}
		frames, err := s.session(ctx, addr, log)
		if ctx.Err() != nil {
			return
		}
		var ae *ApplyError
		broken := errors.Is(err, ErrMalformed) || errors.As(err, &ae)
		switch {
		case broken:
			log.Warn("subscription dropped", "err", err, "frames", frames)
		case failing && frames == 0:
			log.Debug("subscription failed again", "err", err, "retry_in", backoff.String())
		case errors.Is(err, io.EOF):
			log.Info("the core node ended the subscription", "frames", frames)
		default:
			log.Warn("subscription lost", "err", err, "frames", frames)
		}
		if frames > 0 && !broken {
			backoff, failing = s.cfg.MinBackoff, false
		} else {
			failing = true
		}
		if frames > 0 && errors.Is(err, io.EOF) && time.Since(lastAtOnce) >= s.cfg.MinBackoff {
			lastAtOnce = time.Now()
			continue // the node asks for a new subscription: at once
		}
		t := time.NewTimer(jitter(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// jitter is a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// session opens one subscription and applies its frames until it ends,
// returning how many frames it applied and why it ended (io.EOF: the node
// ended it).
func (s *Subscriber) session(ctx context.Context, addr string, log *slog.Logger) (int, error) {
	from := s.Cursors()
	body, err := s.cfg.Core.Subscribe(ctx, addr, Subscription{Region: s.cfg.Region, Edge: s.cfg.Edge, From: from})
	if err != nil {
		return 0, err
	}
	defer body.Close()
	s.open.Add(1)
	defer s.open.Add(-1)
	log.Info("subscribed", "from", from.String())
	return s.consume(ctx, body)
}

// consume applies the frames of a stream until it ends or fails.
func (s *Subscriber) consume(ctx context.Context, r io.Reader) (frames int, err error) {
	br := bufio.NewReaderSize(r, stream.MaxFrameBytes+2) // a frame and its \r\n
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			s.c.malformed.Add(1)
			return frames, fmt.Errorf("%w: a line longer than %d bytes", ErrMalformed, stream.MaxFrameBytes)
		case err == io.EOF && len(line) > 0:
			return frames, fmt.Errorf("the stream ended within a frame: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return frames, err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue // a keep-alive
		}
		f, err := stream.ParseFrame(line)
		if err != nil {
			s.c.malformed.Add(1)
			return frames, fmt.Errorf("%w: %w: %.120q", ErrMalformed, err, line)
		}
		if err := s.handle(ctx, &f); err != nil {
			return frames, err
		}
		frames++
	}
}

// ackLoop acknowledges moved cursors every AckInterval.
func (s *Subscriber) ackLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.AckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.AckTimeout)
			s.ack(ctx)
			cancel()
		}
	}
}

// ack sends the cursors if they moved since the last acknowledgement that
// succeeded.
func (s *Subscriber) ack(ctx context.Context) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	cur := s.Cursors()
	if len(cur) == 0 || maps.Equal(cur, s.acked) {
		return
	}
	if err := s.cfg.Core.Ack(ctx, stream.Ack{Region: s.cfg.Region, Edge: s.cfg.Edge, Cursors: cur}); err != nil {
		if s.c.ackErrors.Add(1); ctx.Err() == nil {
			s.log.Warn("acknowledgement failed; sent again next time", "cursors", cur.String(), "err", err)
		}
		return
	}
	s.c.acks.Add(1)
	s.acked = cur
}

// Stats are the subscriber's counters, for metrics.
type Stats struct {
	Applied    uint64 // changes applied
	Duplicates uint64 // changes (and resets) skipped: already applied
	Resets     uint64 // keyspaces flushed: resets and gaps
	Gaps       uint64 // of which for a gap in the sequence
	Malformed  uint64 // subscriptions dropped for a malformed line
	Reconnects uint64 // subscriptions opened again after one ended or failed
	Acks       uint64 // acknowledgements sent
	AckErrors  uint64 // acknowledgements that failed

	Subscriptions int       // subscriptions streaming now
	LastApplied   time.Time // of the last change applied; zero if none
	Keyspaces     []KeyspaceStats
}

// KeyspaceStats are one keyspace's.
type KeyspaceStats struct {
	Keyspace    string
	Cursor      uint64 // last applied; 0 without one
	Head        uint64 // newest sequence the core reported
	Oldest      uint64 // oldest retained sequence the core reported
	Lag         uint64 // Head - Cursor, 0 when caught up
	LastApplied time.Time
	Resets      uint64
}

// Stats reports the counters, keyspaces sorted by name.
func (s *Subscriber) Stats() Stats {
	st := Stats{
		Applied: s.c.applied.Load(), Duplicates: s.c.duplicates.Load(), Resets: s.c.resets.Load(), Gaps: s.c.gaps.Load(),
		Malformed: s.c.malformed.Load(), Reconnects: s.c.reconnects.Load(), Acks: s.c.acks.Load(), AckErrors: s.c.ackErrors.Load(),
		Subscriptions: int(s.open.Load()), LastApplied: unixTime(s.lastApplied.Load()),
	}
	m := *s.ks.Load()
	for _, name := range slices.Sorted(maps.Keys(m)) {
		k := m[name]
		ks := KeyspaceStats{Keyspace: name, Cursor: k.cursor.Load(), Head: k.head.Load(), Oldest: k.oldest.Load(),
			LastApplied: unixTime(k.lastApplied.Load()), Resets: k.resets.Load()}
		if ks.Head > ks.Cursor {
			ks.Lag = ks.Head - ks.Cursor
		}
		st.Keyspaces = append(st.Keyspaces, ks)
	}
	return st
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
