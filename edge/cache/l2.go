package cache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
)

// An L2 record is a version byte, the time (unix ms, big endian) of the Mark
// the item was stored under, then the item's MarshalBinary.
const (
	recordV1     = 0xC1
	recordHeader = 9
)

func encodeRecord(at time.Time, body []byte) []byte {
	rec := make([]byte, recordHeader+len(body))
	rec[0] = recordV1
	binary.BigEndian.PutUint64(rec[1:], uint64(at.UnixMilli()))
	copy(rec[recordHeader:], body)
	return rec
}

func decodeRecord(rec []byte) (atMs int64, body []byte, err error) {
	if len(rec) < recordHeader || rec[0] != recordV1 {
		return 0, nil, fmt.Errorf("not an L2 record (%d bytes)", len(rec))
	}
	return int64(binary.BigEndian.Uint64(rec[1:])), rec[recordHeader:], nil
}

// Redis keys. Each command touches one key, so they may live on any node of
// a cluster.
func (s *Store[T]) entryKey(hash uint64) string {
	return s.cfg.KeyPrefix + "e:" + strconv.FormatUint(hash, 16)
}
func (s *Store[T]) markerKey(sk string) string { return s.cfg.KeyPrefix + "p:" + sk }
func (s *Store[T]) allMarkerKey() string       { return s.cfg.KeyPrefix + "pall" }
func (s *Store[T]) channel() string            { return s.cfg.KeyPrefix + "purge" }

// markerTTL outlives every L2 entry a marker may have to invalidate: entries
// live at most MaxTTL from a write that lands at most MaxWriteDelay after the
// item's Mark, which precedes the purge by at most ClockSkew.
func (s *Store[T]) markerTTL() time.Duration {
	return s.cfg.MaxTTL + s.cfg.MaxWriteDelay + s.cfg.ClockSkew + time.Minute
}

type writeJob[T Item] struct {
	hash uint64
	item T
	mark Mark
}

// errCallerGone marks a Redis call cut short by its caller's context: not
// Redis's fault, so the breaker ignores it.
var errCallerGone = errors.New("caller gave up")

func (s *Store[T]) startL2() {
	cfg := s.cfg
	s.rdb = cfg.Redis
	s.pending = make(map[string]int64)
	s.brk = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "edge.cache.redis",
		MaxRequests: cfg.Breaker.Probes,
		Timeout:     cfg.Breaker.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.Breaker.Failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errCallerGone) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				s.c.breakerOpens.Add(1)
				s.log.Warn("Redis breaker opened: L2 bypassed", "from", from.String(), "retry_in", cfg.Breaker.OpenFor)
				return
			}
			s.log.Info("Redis breaker "+to.String(), "from", from.String())
		},
	})
	s.writes = make(chan writeJob[T], cfg.WriteQueue)
	for range cfg.WriteWorkers {
		s.wg.Go(s.writer)
	}
	s.wg.Go(s.replayLoop)
	s.subscribe()
}

// l2Do runs op under the breaker with RedisTimeout, counting failures.
func (s *Store[T]) l2Do(parent context.Context, op func(context.Context) error) error {
	if s.closed() {
		return fmt.Errorf("%w: %w", ErrL2Unavailable, errClosed)
	}
	done, err := s.brk.Allow()
	if err != nil {
		s.c.l2Rejected.Add(1)
		return fmt.Errorf("%w: %w", ErrL2Unavailable, err)
	}
	ctx, cancel := context.WithTimeout(parent, s.cfg.RedisTimeout)
	err = op(ctx)
	cancel()
	switch {
	case err == nil:
		done(nil)
		return nil
	case parent.Err() != nil:
		done(errCallerGone)
	default:
		s.c.l2Errors.Add(1)
		done(err)
		s.log.Debug("Redis call failed", "err", err)
	}
	return fmt.Errorf("edge/cache: redis: %w", err)
}

func (s *Store[T]) getL2(ctx context.Context, hash uint64, key []byte) (T, Level, bool) {
	var it T
	if s.rdb == nil {
		return it, Miss, false
	}
	m := s.Mark()
	found := false
	err := s.l2Do(ctx, func(ctx context.Context) error {
		var err error
		it, found, err = s.lookup(ctx, hash, key)
		return err
	})
	if err != nil || !found {
		var zero T
		return zero, Miss, false
	}
	s.c.l2Hits.Add(1)
	if it.TTL(s.cfg.Now()) > 0 {
		s.admit(m, hash, it) // a refused fill still answers this Get: it began before the purge
	}
	return it, L2, true
}

// lookup reads an entry and checks it against the purge markers of its keys.
// A missing, undecodable, colliding or purged entry is not found; only
// Redis's failures are errors.
func (s *Store[T]) lookup(ctx context.Context, hash uint64, key []byte) (it T, found bool, err error) {
	rec, err := s.rdb.Get(ctx, s.entryKey(hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		s.c.l2Misses.Add(1)
		return it, false, nil
	}
	if err != nil {
		return it, false, err
	}
	at, body, err := decodeRecord(rec)
	if err == nil {
		it, err = s.codec(body)
	}
	if err != nil {
		s.c.l2Errors.Add(1)
		s.log.Debug("undecodable L2 entry", "hash", hash, "err", err)
		return it, false, nil
	}
	if !bytes.Equal(it.Key(), key) {
		s.c.l2Misses.Add(1)
		return it, false, nil
	}
	purged, err := s.purgedInL2(ctx, at, it.SurrogateKeys())
	if err != nil {
		return it, false, err
	}
	if purged {
		s.c.l2Stale.Add(1)
		return it, false, nil
	}
	return it, true, nil
}

// purgedInL2 reports whether an entry stored under a Mark taken at atMs is
// invalidated by a purge: a marker of one of its keys, the marker of
// everything, or a purge of this edge still waiting to reach Redis.
func (s *Store[T]) purgedInL2(ctx context.Context, atMs int64, sks []string) (bool, error) {
	skew := s.cfg.ClockSkew.Milliseconds()
	if s.pendingCovers(atMs, sks) {
		return true, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, 0, len(sks)+1)
	cmds = append(cmds, pipe.Get(ctx, s.allMarkerKey()))
	for _, sk := range sks {
		cmds = append(cmds, pipe.Get(ctx, s.markerKey(sk)))
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	for _, c := range cmds {
		purgedAt, err := c.Int64()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return false, err
		}
		if atMs < purgedAt+skew {
			return true, nil
		}
	}
	return false, nil
}

func (s *Store[T]) enqueueWrite(j writeJob[T]) {
	if s.rdb == nil || s.closed() {
		return
	}
	select {
	case s.writes <- j:
	default:
		s.c.l2WriteDrops.Add(1)
	}
}

func (s *Store[T]) writer() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-s.writes:
			s.write(j)
		}
	}
}

// write stores one item in L2. It skips items whose keys this edge has seen
// purged since their Mark (readers would refuse them anyway: their Mark
// precedes the purge's marker) and items fetched too long ago for the
// markers to cover them.
func (s *Store[T]) write(j writeJob[T]) {
	now := s.cfg.Now()
	if now.Sub(j.mark.at) > s.cfg.MaxWriteDelay || s.purgedSince(j.mark, j.item.SurrogateKeys()) {
		s.c.l2WriteDrops.Add(1)
		return
	}
	ttl := min(j.item.TTL(now), s.cfg.MaxTTL)
	if ttl < time.Millisecond {
		return
	}
	body, err := j.item.MarshalBinary()
	if err != nil {
		s.c.l2WriteDrops.Add(1)
		s.log.Warn("cannot encode an item for L2", "hash", j.hash, "err", err)
		return
	}
	rec := encodeRecord(j.mark.at, body)
	err = s.l2Do(s.ctx, func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.entryKey(j.hash), rec, ttl).Err()
	})
	if err != nil {
		s.c.l2WriteDrops.Add(1)
		return
	}
	s.c.l2Writes.Add(1)
}

func (s *Store[T]) purgedSince(m Mark, sks []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.purges.since(m.seq, sks)
}
