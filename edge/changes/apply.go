package changes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/replication/stream"
)

// ErrMalformed is wrapped by the error that drops a subscription whose
// stream sent a line that is not a frame.
var ErrMalformed = errors.New("changes: malformed stream")

// ApplyError is the error that drops a subscription when Config.Apply or
// Config.Reset failed; the cursor did not move.
type ApplyError struct {
	Keyspace string
	Seq      uint64 // the change's sequence; 0 for a flush
	Err      error
}

func (e *ApplyError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("changes: flushing keyspace %s: %v", e.Keyspace, e.Err)
	}
	return fmt.Sprintf("changes: applying %s.%d: %v", e.Keyspace, e.Seq, e.Err)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// keyspace is one keyspace's cursor and what the core said about it.
type keyspace struct {
	name string

	mu     sync.Mutex    // one frame of the keyspace at a time, whichever subscription brings it
	known  atomic.Bool   // the cursor came from the stream (written under mu)
	cursor atomic.Uint64 // the last applied sequence (written under mu); moves back only on a reset

	head, oldest atomic.Uint64 // from head frames (head also from changes)
	lastApplied  atomic.Int64  // unix ns of the last change applied
	resets       atomic.Uint64 // flushes: resets and gaps
}

// keyspace returns the state of name, made on first sight. Lookups do not
// lock: the map is replaced, never changed (keyspaces are few and appear
// rarely).
func (s *Subscriber) keyspace(name string) *keyspace {
	if k := (*s.ks.Load())[name]; k != nil {
		return k
	}
	s.ksMu.Lock()
	defer s.ksMu.Unlock()
	old := *s.ks.Load()
	if k := old[name]; k != nil {
		return k
	}
	m := make(map[string]*keyspace, len(old)+1)
	for n, k := range old {
		m[n] = k
	}
	k := &keyspace{name: name}
	m[name] = k
	s.ks.Store(&m)
	return k
}

// handle applies one frame (see the package comment).
func (s *Subscriber) handle(ctx context.Context, f *stream.Frame) error {
	k := s.keyspace(f.Keyspace)
	switch f.Type {
	case stream.TypeChange:
		return s.change(ctx, k, f)
	case stream.TypeHead:
		raise(&k.head, f.Seq)
		k.oldest.Store(f.Oldest)
		return nil
	case stream.TypeReset:
		return s.reset(ctx, k, f.Oldest)
	}
	return fmt.Errorf("%w: frame type %q", ErrMalformed, f.Type) // ParseFrame lets none through
}

func (s *Subscriber) change(ctx context.Context, k *keyspace, f *stream.Frame) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur, known := k.cursor.Load(), k.known.Load()
	if known && f.Seq <= cur {
		s.c.duplicates.Add(1)
		return nil
	}
	if known && f.Seq > cur+1 {
		// The relay promises none; should changes ever go missing, the
		// entries they touched must not outlive them.
		s.c.gaps.Add(1)
		s.log.Warn("gap in the change stream: flushing what the keyspace could have touched",
			"keyspace", k.name, "cursor", cur, "seq", f.Seq)
		if err := s.flush(ctx, k); err != nil {
			return err
		}
	}
	if err := s.cfg.Apply(ctx, k.name, f.Seq, f.Keys); err != nil {
		return &ApplyError{Keyspace: k.name, Seq: f.Seq, Err: err}
	}
	k.cursor.Store(f.Seq) // above cur: see the duplicate test
	k.known.Store(true)
	raise(&k.head, f.Seq)
	now := s.cfg.Now().UnixNano()
	k.lastApplied.Store(now)
	s.lastApplied.Store(now)
	s.c.applied.Add(1)
	return nil
}

func (s *Subscriber) reset(ctx context.Context, k *keyspace, oldest uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur, known := k.cursor.Load(), k.known.Load()
	if known && oldest > 0 && cur == oldest-1 {
		s.c.duplicates.Add(1) // this reset again: nothing was missed since it
		return nil
	}
	// Otherwise the reset stands even when the cursor is past oldest: the
	// relay also resets an edge whose cursor is ahead of the outbox (one
	// restored or rebuilt, whose sequences mean other changes now).
	cursor := "none"
	if known {
		cursor = fmt.Sprint(cur)
	}
	s.log.Warn("fell behind the change stream's retention: flushing what the keyspace could have touched",
		"keyspace", k.name, "cursor", cursor, "oldest_retained", oldest)
	if err := s.flush(ctx, k); err != nil {
		return err
	}
	k.cursor.Store(max(oldest, 1) - 1) // may move back: see above
	k.known.Store(true)
	return nil
}

// flush runs Reset for k; k.mu is held.
func (s *Subscriber) flush(ctx context.Context, k *keyspace) error {
	if err := s.cfg.Reset(ctx, k.name); err != nil {
		return &ApplyError{Keyspace: k.name, Err: err}
	}
	k.resets.Add(1)
	s.c.resets.Add(1)
	return nil
}

// raise sets v to n if n is larger.
func raise(v *atomic.Uint64, n uint64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// Applied is the highest sequence of keyspace up to which every change
// has been applied here (purged, or flushed by a reset); 0 when none is
// known. It does not lock or allocate.
func (s *Subscriber) Applied(keyspace string) uint64 {
	if k := (*s.ks.Load())[keyspace]; k != nil {
		return k.cursor.Load()
	}
	return 0
}

// Cursors are the cursors of the keyspaces with one: what a new
// subscription resumes from and an acknowledgement reports.
func (s *Subscriber) Cursors() stream.Cursors {
	c := stream.Cursors{}
	for name, k := range *s.ks.Load() {
		if k.known.Load() {
			c[name] = k.cursor.Load()
		}
	}
	return c
}
