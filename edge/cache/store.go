package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// ErrL2Unavailable is wrapped by errors of operations that could not reach
// L2: the breaker is open (Redis is failing) or the Store is closed.
var ErrL2Unavailable = errors.New("edge/cache: L2 unavailable")

var errClosed = errors.New("store closed")

// Store is the edge's two cache levels. It is safe for concurrent use; Close
// it when done.
type Store[T Item] struct {
	cfg   Config
	log   *slog.Logger
	codec Codec[T]
	id    string // tells this Store's purge messages from other edges'

	l1 *otter.Cache[uint64, T] // nil: L1 disabled

	// mu orders every change of L1's contents against purges: Sets and
	// fills, purges and the index's upkeep. Gets do not take it.
	mu     sync.Mutex
	index  map[string]map[uint64]struct{} // surrogate key → hashes in L1 that carry it
	purges purgeLog

	dmu         sync.Mutex
	deleted     []deletion[T] // entries that left L1, for unindexLoop
	unindexWake chan struct{}

	rdb     redis.UniversalClient // nil: no L2
	brk     *gobreaker.TwoStepCircuitBreaker[struct{}]
	writes  chan writeJob[T]
	pubsub  *redis.PubSub
	pmu     sync.Mutex
	pending map[string]int64 // surrogate key → time (unix ms) of an L2 purge still to replay
	pendAll int64            // time of a pending purge of everything, 0 if none

	ctx       context.Context // ends at Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	c         counters
}

// Mark is a point in the Store's purge history, taken before an item is
// fetched from the origin (or read from L2). Storing the item with
// SetIfUnpurged fails if one of its surrogate keys was purged after the Mark:
// the item may show what the purge invalidated.
type Mark struct {
	seq uint64
	at  time.Time
}

// entryOverhead is added to each item's Weight for the otter node, the index
// and the Store's bookkeeping, so many tiny items still respect L1MaxBytes.
const entryOverhead = 128

// subscribeWait bounds New's wait for the purge channel's subscription to be
// confirmed; past it the Store starts deaf to other edges' purges and empties
// L1 once the subscription comes through.
const subscribeWait = 2 * time.Second

// New starts a Store. codec is required with cfg.Redis (it decodes L2 hits).
// With Redis, New subscribes to the region's purge channel, waiting up to 2 s
// for it; a Redis that is down does not fail New.
func New[T Item](cfg Config, codec Codec[T]) (*Store[T], error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("edge/cache: %w", err)
	}
	if cfg.Redis != nil && codec == nil {
		return nil, errors.New("edge/cache: a Codec is required with Redis")
	}
	s := &Store[T]{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "edge.cache"),
		codec:  codec,
		id:     rand.Text(),
		index:  make(map[string]map[uint64]struct{}),
		purges: purgeLog{size: cfg.PurgeLogSize, last: make(map[string]uint64)},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.L1MaxBytes > 0 {
		l1, err := otter.New(&otter.Options[uint64, T]{
			MaximumWeight: uint64(cfg.L1MaxBytes),
			Weigher:       weigh[T],
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uint64, T]) time.Duration {
				return e.Value.TTL(s.cfg.Now())
			}),
			OnAtomicDeletion: s.onL1Deletion,
			// Maintenance (draining the read buffers, evicting) runs on the
			// goroutine that triggers it: spawning a goroutine for it costs
			// a hit more than the work itself. onL1Deletion only takes dmu,
			// so running it inline, even within admit, cannot deadlock.
			Executor: func(fn func()) { fn() },
		})
		if err != nil {
			s.cancel()
			return nil, fmt.Errorf("edge/cache: L1: %w", err)
		}
		s.l1 = l1
		s.unindexWake = make(chan struct{}, 1)
		s.wg.Go(s.unindexLoop)
	}
	if cfg.Redis != nil {
		s.startL2()
	}
	return s, nil
}

func weigh[T Item](_ uint64, it T) uint32 {
	w := max(it.Weight(), 0) + entryOverhead
	return uint32(min(w, 1<<32-1))
}

// Get looks key up in L1, then in L2. hash is the key's hash (the caller
// computes it once per request); a hit whose Key differs is a miss. An L2 hit
// fills L1. Redis errors, timeouts and an open breaker are misses, never
// errors: the caller goes to the origin. An L1 hit does not allocate.
func (s *Store[T]) Get(ctx context.Context, hash uint64, key []byte) (T, Level, bool) {
	if s.l1 != nil {
		if it, ok := s.l1.GetIfPresent(hash); ok && bytes.Equal(it.Key(), key) {
			s.c.l1Hits.Add(1)
			return it, L1, true
		}
		s.c.l1Misses.Add(1)
	}
	return s.getL2(ctx, hash, key)
}

// Mark returns the current point in the purge history; see SetIfUnpurged.
func (s *Store[T]) Mark() Mark {
	return Mark{seq: s.purges.seq.Load(), at: s.cfg.Now()}
}

// Set stores item under hash: in L1 now, in L2 asynchronously (dropped if
// the write queue is full) for item.TTL. An item whose TTL is over is not
// stored.
func (s *Store[T]) Set(hash uint64, item T) {
	s.SetIfUnpurged(s.Mark(), hash, item)
}

// SetIfUnpurged is Set for an item fetched after m was taken: if one of its
// surrogate keys was purged since, on this edge or (as far as this edge has
// heard) on another one of the region, it stores nothing and reports false.
// Take the Mark before asking the origin, so that a purge arriving during
// the fetch is not undone by storing what the fetch returned.
func (s *Store[T]) SetIfUnpurged(m Mark, hash uint64, item T) bool {
	if item.TTL(s.cfg.Now()) <= 0 {
		return false
	}
	if !s.admit(m, hash, item) {
		return false
	}
	s.enqueueWrite(writeJob[T]{hash: hash, item: item, mark: m})
	return true
}

// Stats returns the Store's counters and gauges.
func (s *Store[T]) Stats() Stats {
	st := Stats{
		L1Hits: s.c.l1Hits.Load(), L1Misses: s.c.l1Misses.Load(),
		L1Flushes: s.c.l1Flushes.Load(), SetsRefused: s.c.setsRefused.Load(),
		L2Hits: s.c.l2Hits.Load(), L2Misses: s.c.l2Misses.Load(), L2Stale: s.c.l2Stale.Load(),
		L2Errors: s.c.l2Errors.Load(), L2Rejected: s.c.l2Rejected.Load(),
		L2Writes: s.c.l2Writes.Load(), L2WriteDrops: s.c.l2WriteDrops.Load(),
		BreakerOpens: s.c.breakerOpens.Load(),
		Purges:       s.c.purges.Load(), PurgesReceived: s.c.purgesReceived.Load(),
		PurgeOverflows: s.c.purgeOverflows.Load(),
	}
	if s.l1 != nil {
		st.L1Entries = s.l1.EstimatedSize()
		st.L1Bytes = s.l1.WeightedSize()
		st.L1MaxBytes = uint64(s.cfg.L1MaxBytes)
	}
	if s.brk != nil {
		st.Breaker = s.brk.State().String()
		s.pmu.Lock()
		st.PendingPurges = len(s.pending)
		if s.pendAll != 0 {
			st.PendingPurges++
		}
		s.pmu.Unlock()
	}
	return st
}

// Close stops the Store's goroutines: L2 writers (queued writes are
// dropped), purge replay and the purge subscription. It does not close the
// Redis client. L1 keeps answering Gets; L2 is no longer used. Close is
// idempotent.
func (s *Store[T]) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.pubsub != nil {
			if err := s.pubsub.Close(); err != nil {
				s.closeErr = fmt.Errorf("edge/cache: closing the purge subscription: %w", err)
			}
		}
		s.wg.Wait()
		if s.l1 != nil {
			s.l1.StopAllGoroutines()
		}
	})
	return s.closeErr
}

func (s *Store[T]) closed() bool { return s.ctx.Err() != nil }
