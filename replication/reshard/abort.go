package reshard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cangqiong/cangqiong/replication/reshard/move"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// abortTimeout bounds a rollback once begun; it goes on when the caller
// stops waiting (an admin request that timed out), so that it does not
// stop half way.
const abortTimeout = 30 * time.Minute

// Abort rolls back workflow id, which failed before its cutover: it
// deletes the copies the workflow made on the target shards, records the
// workflow Aborted and commits the map the workflow started from (a new
// epoch: the added shard gone, or the removed one serving again; the rest
// of the map as it is now). Nobody read or wrote those copies — the users
// never left their shards — so rolling back moves nothing back. Once it
// has begun it finishes even if ctx ends (within abortTimeout).
//
// It refuses with ErrCannotAbort a workflow that is not failed, one that
// cut over (the new owners serve its users: the old copies are kept for
// the operator), one that is not the latest, or when the map's shards are
// neither the workflow's nor the ones it started from; ErrNotFound an
// unknown id. Aborting an aborted workflow returns its status, after
// committing the rollback if an earlier Abort recorded it and stopped
// before the commit (a map that still moves users refuses every Start
// meanwhile).
func (c *Coordinator) Abort(ctx context.Context, id uint64) (Status, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	lock, err := c.maintenance(ctx)
	if err != nil {
		return Status{}, err
	}
	defer lock.Release()

	r, err := c.store.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	switch {
	case r.Phase == Aborted:
		return c.finishRollback(ctx, r)
	case r.Phase != Failed:
		return Status{}, refusal(ErrCannotAbort, "workflow %d is %s; only a failed workflow can be rolled back", id, r.Phase)
	case r.State.SettledEpoch != 0:
		return Status{}, refusal(ErrCannotAbort, "workflow %d cut over at epoch %d: the new owners serve its users; the old copies are kept", id, r.State.SettledEpoch)
	}
	if latest, err := c.store.latest(ctx); err != nil {
		return Status{}, err
	} else if latest.ID != id {
		return Status{}, refusal(ErrCannotAbort, "workflow %d is not the latest (%d is)", id, latest.ID)
	}
	cur, err := c.maps.Load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("reshard: read the shard map: %w", err)
	}
	// The map is where the workflow left it, or back where it started (it
	// failed before changing it, or the operator put it back).
	back := slices.Equal(cur.Shards, r.State.Start.Shards)
	if !back && !slices.Equal(cur.Shards, r.State.Joined.Shards) {
		return Status{}, refusal(ErrCannotAbort, "the shard map changed since workflow %d failed (epoch %d); roll back by hand", id, cur.Epoch)
	}
	if r.State.JoinedCommitted {
		if err := c.deleteCopies(ctx, r); err != nil {
			return Status{}, err
		}
	}
	// Recorded first: a later Abort commits the map if this one stops
	// before it does.
	epoch := uint64(0)
	switch {
	case !back:
		epoch = cur.Epoch + 1
	case r.State.JoinedCommitted:
		epoch = cur.Epoch
	}
	r.Phase, r.State.AbortedEpoch = Aborted, epoch
	if err := c.store.aborted(ctx, r); err != nil {
		if errors.Is(err, errLeaseLost) {
			err = refusal(ErrCannotAbort, "workflow %d changed while it was rolled back", r.ID)
		}
		return Status{}, err
	}
	return c.finishRollback(ctx, r)
}

// finishRollback commits the map an aborted workflow started from, if the
// map still has the workflow's shards.
func (c *Coordinator) finishRollback(ctx context.Context, r *record) (Status, error) {
	cur, err := c.maps.Load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("reshard: read the shard map: %w", err)
	}
	if r.State.JoinedCommitted && slices.Equal(cur.Shards, r.State.Joined.Shards) {
		m := cur.Clone()
		m.Shards = slices.Clone(r.State.Start.Shards)
		m.Epoch, m.Freeze = cur.Epoch+1, false
		if err := c.cfg.Maps.Commit(ctx, cur.Epoch, m); err != nil {
			return Status{}, fmt.Errorf("reshard: commit the map workflow %d started from: %w", r.ID, err)
		}
		if m.Epoch != r.State.AbortedEpoch {
			r.State.AbortedEpoch = m.Epoch
			if err := c.store.abortedAt(ctx, r); err != nil {
				return Status{}, err
			}
		}
		c.log.Info("reshard aborted", "id", r.ID, "kind", r.Kind, "shard", r.Shard, "epoch", m.Epoch)
	}
	return r.status(), nil
}

// deleteCopies deletes, on each pair's target, the rows the workflow
// copied there (the tables read from the target: the source may be the
// dead shard a Remove was for). A target that leaves the map with the
// rollback (the shard an Add brought) is nobody's to read: a failure
// there is logged, not returned — it may be why the workflow failed.
func (c *Coordinator) deleteCopies(ctx context.Context, r *record) error {
	p, err := newPlan(r.State.Joined, c.cfg.RingOptions)
	if err != nil {
		return err
	}
	w := &workflow{c: c, r: r, plan: p, pools: map[string]*sql.DB{}, tables: map[string][]move.Table{}}
	defer w.close()
	for i := range r.State.Pairs {
		pr := &r.State.Pairs[i]
		stays := slices.ContainsFunc(r.State.Start.Shards, func(s shardmap.Shard) bool { return s.ID == pr.To })
		var n int64
		dst, err := w.pool(pr.To)
		var tables []move.Table
		if err == nil {
			tables, err = move.Tables(ctx, dst)
		}
		if err == nil {
			n, err = move.DeleteUsers(ctx, dst, tables, move.Matching(p.filter(pr.From, pr.To)), 0)
		}
		switch {
		case err != nil && stays:
			return fmt.Errorf("reshard: delete the copies on %s: %w", pr.To, err)
		case err != nil:
			c.log.Warn("reshard abort could not delete the copies on the shard leaving the map", "id", r.ID, "shard", pr.To, "err", err)
		default:
			c.log.Info("reshard abort deleted copies", "id", r.ID, "from", pr.From, "to", pr.To, "rows", n)
		}
	}
	return nil
}
