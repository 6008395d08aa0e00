package relay

import (
	"sync"
	"sync/atomic"
	"time"
)

// change is one outbox row as the tailer read it, its frame encoded once
// for every subscription.
type change struct {
	seq  uint64
	line []byte // the NDJSON frame, newline included; never modified
}

// feed is one owned keyspace's recent changes: a ring of the last
// BufferSize of them, written by the keyspace's tailer and read by every
// subscription. It holds the changes lo..head; lo > head when it holds
// none. Sequence numbers index the ring directly (seq % len).
type feed struct {
	ks string

	mu       sync.RWMutex
	ring     []change
	lo, head uint64
	oldest   uint64    // the oldest retained sequence, as last known
	polled   time.Time // the last successful read of the outbox
}

// newFeed starts a feed at the keyspace's head (its last committed
// sequence) and oldest retained sequence.
func newFeed(ks string, size int, head, oldest uint64) *feed {
	return &feed{ks: ks, ring: make([]change, size), lo: head + 1, head: head, oldest: oldest, polled: time.Now()}
}

// readStatus says what a read found.
type readStatus int

const (
	upToDate readStatus = iota // nothing after the cursor yet
	fromRing                   // changes after the cursor were appended
	needDB                     // the changes after the cursor are older than the ring
	ahead                      // the cursor is past the head: the edge knows changes this outbox does not
)

// view is a snapshot of a feed's bounds.
type view struct{ lo, head, oldest uint64 }

// read appends to dst the frames of up to limit changes after cursor and
// returns the new cursor.
func (f *feed) read(cursor uint64, dst []byte, limit int) ([]byte, uint64, readStatus, view) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v := view{f.lo, f.head, f.oldest}
	switch {
	case cursor > f.head:
		return dst, cursor, ahead, v
	case cursor == f.head:
		return dst, cursor, upToDate, v
	case cursor+1 < f.lo:
		return dst, cursor, needDB, v
	}
	n := uint64(len(f.ring))
	for s := cursor + 1; s <= f.head && limit > 0; s, limit = s+1, limit-1 {
		dst = append(dst, f.ring[s%n].line...)
		cursor = s
	}
	return dst, cursor, fromRing, v
}

// append adds changes read in sequence order. A change that does not
// follow the head (impossible while the outbox is gap-free) restarts the
// ring at it, so that a reader before it goes to the database and finds
// the gap there.
func (f *feed) append(cs []change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := uint64(len(f.ring))
	for _, c := range cs {
		if c.seq != f.head+1 {
			f.lo = c.seq
		}
		f.ring[c.seq%n] = c
		f.head = c.seq
		if f.head-f.lo+1 > n {
			f.lo = f.head - n + 1
		}
	}
	f.polled = time.Now()
}

// polledNow records a read of the outbox that found nothing new.
func (f *feed) polledNow() {
	f.mu.Lock()
	f.polled = time.Now()
	f.mu.Unlock()
}

func (f *feed) setOldest(oldest uint64) {
	f.mu.Lock()
	f.oldest = oldest
	f.mu.Unlock()
}

func (f *feed) view() view {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return view{f.lo, f.head, f.oldest}
}

func (f *feed) stats() (head uint64, polled time.Time) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.head, f.polled
}

// hub is the node's set of live feeds and the signal subscriptions wait
// on: wake is closed (and replaced) whenever a feed gets changes, appears
// or goes.
type hub struct {
	feeds atomic.Pointer[map[string]*feed] // replaced, never modified

	mu     sync.Mutex
	wake   chan struct{}
	closed bool
	subs   int
	wg     sync.WaitGroup // running subscriptions; Add only under mu, before closed
}

func newHub() *hub {
	h := &hub{wake: make(chan struct{})}
	h.feeds.Store(&map[string]*feed{})
	return h
}

// state returns the live feeds and the channel closed at the next change
// of any of them. Take it before reading the feeds so no change is missed.
func (h *hub) state() (map[string]*feed, <-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return *h.feeds.Load(), h.wake, h.closed
}

func (h *hub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notifyLocked()
}

func (h *hub) notifyLocked() {
	close(h.wake)
	h.wake = make(chan struct{})
}

// set adds f (or, with add false, removes it if it is the keyspace's
// feed) and wakes every subscription.
func (h *hub) set(f *feed, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := *h.feeds.Load()
	if !add && cur[f.ks] != f {
		return
	}
	next := make(map[string]*feed, len(cur)+1)
	for ks, g := range cur {
		if ks != f.ks {
			next[ks] = g
		}
	}
	if add {
		next[f.ks] = f
	}
	h.feeds.Store(&next)
	h.notifyLocked()
}

// join counts a new subscription, unless limit are running or the hub is
// closed.
func (h *hub) join(limit int) (ok, closed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.subs >= limit {
		return false, h.closed
	}
	h.subs++
	h.wg.Add(1)
	return true, false
}

func (h *hub) leave() {
	h.mu.Lock()
	h.subs--
	h.mu.Unlock()
	h.wg.Done()
}

func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs
}

// close ends every subscription: they see closed at their next wake-up,
// which this is.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		h.notifyLocked()
	}
}
