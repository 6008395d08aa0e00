package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/control"
)

// Housekeeping bounds.
const (
	// expireBatch is how many keys one DELETE removes.
	expireBatch = 1000
	// sweepBudget bounds one sweep, and so how long it holds the
	// maintenance lock a reshard's start waits for; what is left goes in
	// the next sweep.
	sweepBudget = 5 * time.Second
)

// startHousekeeping expires idempotency keys every HousekeepingInterval
// (±20 %, so that nodes do not sweep in step) until the node stops.
func (n *Node) startHousekeeping(context.Context) error {
	if n.cfg.IdempotencyRetention <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			t := time.NewTimer(jitter(n.cfg.HousekeepingInterval))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			k, err := n.ExpireIdempotencyKeys(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				n.log.Warn("cannot expire idempotency keys", "expired", k, "err", err)
			case k > 0:
				n.log.Info("expired idempotency keys", "expired", k, "retention", n.cfg.IdempotencyRetention)
			}
		}
	}()
	n.onStop(func(context.Context) error { cancel(); <-done; return nil })
	return nil
}

func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// ExpireIdempotencyKeys runs one sweep now: under the cluster's
// maintenance lock, and only while no reshard runs, it deletes on every
// shard the idempotency keys older than IdempotencyRetention, for at most
// a few seconds. It returns how many keys went; 0 with no error when
// another node holds the lock or a reshard runs, or when keys are kept
// for ever (IdempotencyRetention 0).
func (n *Node) ExpireIdempotencyKeys(ctx context.Context) (int64, error) {
	if n.cfg.IdempotencyRetention <= 0 {
		return 0, nil
	}
	lock, ok, err := control.AcquireMaintenance(ctx, n.global, 0)
	if err != nil || !ok {
		return 0, err
	}
	defer lock.Release()
	if busy, err := n.resharding(ctx); err != nil || busy {
		if err == nil {
			n.log.Info("idempotency keys not expired: a reshard runs or left the shard map unsettled (abort or finish it)")
		}
		return 0, err
	}
	// The budget is checked between statements, never by cancelling one
	// (short of the node stopping): when the lock is released, the DELETEs
	// sent under it have ended.
	deadline := time.Now().Add(sweepBudget)
	allowed := func(ctx context.Context) error {
		if time.Now().After(deadline) {
			return errSweepBudget
		}
		return lock.Held(ctx)
	}
	// Each sweep starts at another shard, so that a backlog on one does
	// not hold the others back.
	shards := n.exec.Topology().AllShards()
	first := rand.N(len(shards))
	shards = append(shards[first:], shards[:first]...)
	var total int64
	for _, id := range shards {
		db, err := n.exec.Shard(id)
		if err != nil {
			return total, err
		}
		k, err := app.ExpireIdempotencyKeys(ctx, db, n.cfg.IdempotencyRetention, expireBatch, allowed)
		total += k
		if errors.Is(err, errSweepBudget) {
			return total, nil // the next sweep goes on
		}
		if err != nil {
			return total, fmt.Errorf("shard %s: %w", id, err)
		}
	}
	return total, nil
}

var errSweepBudget = errors.New("core: housekeeping sweep budget spent")

// resharding reports whether a reshard runs or left the map unsettled
// (a shard joining or draining, writes frozen): then rows may be on their
// way between shards, and housekeeping deletes none.
func (n *Node) resharding(ctx context.Context) (bool, error) {
	if n.exec.Topology().Map.Moving() { // a freeze, too: a valid map freezes only while it moves
		return true, nil
	}
	st, err := n.reshard.Current(ctx)
	if errors.Is(err, reshard.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !st.Phase.Final(), nil
}
