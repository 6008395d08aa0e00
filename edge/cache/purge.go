package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// Result says what a purge did.
type Result struct {
	Keys      int  // distinct surrogate keys purged
	L1Removed int  // entries removed from this edge's L1
	L2        bool // L2 purged and the purge sent to the region's other edges
	Pending   bool // L2 unreachable: its part is kept and replayed when Redis answers
}

// markScript sets a purge marker to the later of its current time and
// ARGV[1] (unix ms): a late replay never moves a newer purge back.
const markScript = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0`

// purgeMsg is what edges tell each other on the purge channel.
type purgeMsg struct {
	From string   `json:"from"`
	At   int64    `json:"at"` // unix ms
	Keys []string `json:"keys,omitempty"`
	All  bool     `json:"all,omitempty"`
}

// PurgeKeys removes every entry carrying one of keys (surrogate keys; an
// entry's URL key purges it by URL) from this edge's L1, from L2 and from the
// L1 of the region's other edges. Entries fetched before the purge and
// stored after it are refused too (see SetIfUnpurged).
//
// L1 is always purged. If L2 cannot be reached the error wraps the cause
// (ErrL2Unavailable when the breaker is open) and the L2 part is kept and
// replayed when Redis answers; until then this edge treats L2 entries of
// those keys as purged.
func (s *Store[T]) PurgeKeys(ctx context.Context, keys ...string) (Result, error) {
	keys = distinct(keys)
	res := Result{Keys: len(keys)}
	if len(keys) == 0 {
		return res, nil
	}
	s.c.purges.Add(1)
	at := s.cfg.Now().UnixMilli()
	marks := make(map[string]int64, len(keys))
	for _, sk := range keys {
		marks[sk] = at
	}
	// L2 first: once L1 is purged, a Get that misses it reads L2, which must
	// already refuse the old entries (or count the purge as pending).
	err := s.purgeL2(ctx, marks, 0)
	res.L1Removed = s.purgeL1(keys)
	res.L2, res.Pending = s.rdb != nil && err == nil, err != nil
	if err != nil {
		return res, fmt.Errorf("edge/cache: purge of %d keys: L1 done, L2 kept for replay: %w", len(keys), err)
	}
	return res, nil
}

// PurgeAll empties this edge's L1, invalidates everything in L2 under
// KeyPrefix and empties the L1 of the region's other edges. The L2 part is
// replayed as PurgeKeys's is.
func (s *Store[T]) PurgeAll(ctx context.Context) (Result, error) {
	s.c.purges.Add(1)
	err := s.purgeL2(ctx, nil, s.cfg.Now().UnixMilli())
	removed := 0
	if s.l1 != nil {
		removed = s.l1.EstimatedSize()
	}
	s.flushL1("PurgeAll")
	res := Result{L1Removed: removed, L2: s.rdb != nil && err == nil, Pending: err != nil}
	if err != nil {
		return res, fmt.Errorf("edge/cache: purge of everything: L1 done, L2 kept for replay: %w", err)
	}
	return res, nil
}

// purgeL2 purges L2 of the keys in marks (each purged at its time, unix ms)
// and, if all is not 0, of everything stored before all. On failure the
// purge becomes pending.
func (s *Store[T]) purgeL2(ctx context.Context, marks map[string]int64, all int64) error {
	if s.rdb == nil {
		return nil
	}
	err := s.l2Do(ctx, func(ctx context.Context) error { return s.sendPurge(ctx, marks, all) })
	if err != nil {
		s.addPending(marks, all)
	}
	return err
}

// sendPurge writes the purge's markers in one pipeline, then publishes it.
// Markers go first so that an edge acting on the message reads L2 that
// already refuses the old entries.
func (s *Store[T]) sendPurge(ctx context.Context, marks map[string]int64, all int64) error {
	ttl := s.markerTTL().Milliseconds()
	msg := purgeMsg{From: s.id, At: all, All: all != 0, Keys: make([]string, 0, len(marks))}
	pipe := s.rdb.Pipeline()
	if all != 0 {
		pipe.Eval(ctx, markScript, []string{s.allMarkerKey()}, all, ttl)
	}
	for sk, at := range marks {
		pipe.Eval(ctx, markScript, []string{s.markerKey(sk)}, at, ttl)
		msg.Keys = append(msg.Keys, sk)
		msg.At = max(msg.At, at)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("purge markers: %w", err)
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := s.rdb.Publish(ctx, s.channel(), payload).Err(); err != nil {
		return fmt.Errorf("publishing the purge: %w", err)
	}
	return nil
}

// addPending keeps a purge for replay. Past MaxPendingPurges keys the
// pending keys become one pending purge of everything: L2 loses its contents
// (once Redis answers) rather than a purge.
func (s *Store[T]) addPending(marks map[string]int64, all int64) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.pendAll = max(s.pendAll, all)
	for sk, at := range marks {
		s.pending[sk] = max(s.pending[sk], at)
	}
	if len(s.pending) <= s.cfg.MaxPendingPurges {
		return
	}
	s.pendAll = max(s.pendAll, slices.Max(slices.Collect(maps.Values(s.pending))))
	clear(s.pending)
	s.c.purgeOverflows.Add(1)
	s.log.Warn("too many L2 purges wait for Redis: the whole L2 prefix will be purged when it answers",
		"bound", s.cfg.MaxPendingPurges, "prefix", s.cfg.KeyPrefix)
}

// pendingCovers reports whether a pending purge invalidates an L2 entry
// stored under a Mark taken at atMs.
func (s *Store[T]) pendingCovers(atMs int64, sks []string) bool {
	skew := s.cfg.ClockSkew.Milliseconds()
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.pendAll != 0 && atMs < s.pendAll+skew {
		return true
	}
	for _, sk := range sks {
		if at, ok := s.pending[sk]; ok && atMs < at+skew {
			return true
		}
	}
	return false
}

// replayBatch bounds the keys one replay call sends, to fit RedisTimeout.
const replayBatch = 256

// replayLoop replays pending purges and, while the breaker is not closed,
// probes Redis with PING so that the breaker closes as soon as Redis answers
// even on an edge whose traffic L1 answers alone.
func (s *Store[T]) replayLoop() {
	t := time.NewTicker(s.cfg.ReplayInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if s.brk.State() != gobreaker.StateClosed {
				_ = s.l2Do(s.ctx, func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() })
			}
			s.replay()
		}
	}
}

// replay sends pending purges, a batch at a time, until one fails. Each key
// keeps its own time: a replay must not invalidate what was stored after the
// purge it replays. A purge leaves the pending set only if no newer purge of
// the key came meanwhile.
func (s *Store[T]) replay() {
	for {
		s.pmu.Lock()
		all := s.pendAll
		batch := make(map[string]int64, min(len(s.pending), replayBatch))
		for sk, at := range s.pending {
			if len(batch) == replayBatch {
				break
			}
			batch[sk] = at
		}
		s.pmu.Unlock()
		if all == 0 && len(batch) == 0 {
			return
		}
		err := s.l2Do(s.ctx, func(ctx context.Context) error { return s.sendPurge(ctx, batch, all) })
		if err != nil {
			s.log.Debug("pending L2 purges not replayed yet", "err", err)
			return
		}
		s.pmu.Lock()
		if s.pendAll == all {
			s.pendAll = 0
		}
		for sk, at := range batch {
			if s.pending[sk] == at {
				delete(s.pending, sk)
			}
		}
		s.pmu.Unlock()
		s.log.Info("pending L2 purges replayed", "keys", len(batch), "all", all != 0)
	}
}

// subscribe joins the region's purge channel. go-redis keeps the
// subscription alive (health-check pings, reconnects, resubscribes).
func (s *Store[T]) subscribe() {
	s.pubsub = s.rdb.Subscribe(s.ctx, s.channel())
	ctx, cancel := context.WithTimeout(s.ctx, subscribeWait)
	first, err := s.pubsub.Receive(ctx)
	cancel()
	if _, ok := first.(*redis.Subscription); !ok {
		s.log.Warn("purge channel not subscribed yet: L1 will be emptied once it is", "err", err)
	}
	msgs := s.pubsub.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	s.wg.Go(func() { s.listen(msgs) })
}

// listen applies the purges of the region's other edges. A (re)subscription
// after the first one means the connection dropped: purges published
// meanwhile are lost to this edge, so it empties its L1 rather than serve
// what they invalidated.
func (s *Store[T]) listen(msgs <-chan any) {
	for m := range msgs {
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.flushL1("purge channel resubscribed: purges sent meanwhile may be lost")
			}
		case *redis.Message:
			s.onPurgeMessage(m.Payload)
		}
	}
}

func (s *Store[T]) onPurgeMessage(payload string) {
	var msg purgeMsg
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		s.log.Warn("unreadable purge message", "err", err)
		return
	}
	if msg.From == s.id {
		return
	}
	s.c.purgesReceived.Add(1)
	if msg.All {
		s.flushL1("purge of everything from another edge")
	}
	if len(msg.Keys) > 0 {
		s.purgeL1(msg.Keys)
	}
}

func distinct(keys []string) []string {
	seen := make(map[string]struct{}, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; k != "" && !dup {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}
