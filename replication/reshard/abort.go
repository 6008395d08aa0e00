package reshard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/cangqiong/cangqiong/replication/reshard/move"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Abort rolls back workflow id, which failed before its cutover: it
// deletes the copies the workflow made on the target shards, then commits
// the map the workflow started from (a new epoch: the added shard gone, or
// the removed one serving again) and records the workflow Aborted. Nobody
// read or wrote those copies — the users never left their shards — so
// rolling back moves nothing back.
//
// It refuses with ErrCannotAbort a workflow that is not failed, one that
// cut over (the new owners serve its users: the old copies are kept for
// the operator), one that is not the latest, or when the map is no longer
// the one the workflow left; ErrNotFound an unknown id. Aborting an aborted
// workflow returns its status. If it fails part way it can be called
// again: the deletes repeat harmlessly and the map is committed once.
func (c *Coordinator) Abort(ctx context.Context, id uint64) (Status, error) {
	lock, ok, err := control.AcquireMaintenance(ctx, c.store.db, maintenanceWait)
	if err != nil {
		return Status{}, err
	}
	if !ok {
		return Status{}, refusal(ErrBusy, "the shards' housekeeping has held the maintenance lock for %v; try again", maintenanceWait)
	}
	defer lock.Release()

	r, err := c.store.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	switch {
	case r.Phase == Aborted:
		return r.status(), nil
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
	// failed before changing it, or an earlier Abort or the operator put
	// it back).
	back := slices.Equal(cur.Shards, r.State.Start.Shards)
	if !back && !slices.Equal(cur.Shards, r.State.Joined.Shards) {
		return Status{}, refusal(ErrCannotAbort, "the shard map changed since workflow %d failed (epoch %d); roll back by hand", id, cur.Epoch)
	}
	if r.State.JoinedCommitted {
		if err := c.deleteCopies(ctx, r); err != nil {
			return Status{}, err
		}
	}
	epoch := uint64(0)
	switch {
	case !back:
		m := r.State.Start.Clone()
		m.Epoch, m.Freeze = cur.Epoch+1, false
		if err := c.cfg.Maps.Commit(ctx, cur.Epoch, m); err != nil {
			return Status{}, fmt.Errorf("reshard: commit the map workflow %d started from: %w", id, err)
		}
		epoch = m.Epoch
	case r.State.JoinedCommitted:
		epoch = cur.Epoch
	}
	return c.recordAborted(ctx, r, epoch)
}

// deleteCopies deletes, on each pair's target, the rows the workflow
// copied there. A target that leaves the map with the rollback (the shard
// an Add brought) is nobody's to read: a failure there is logged, not
// returned — it may be why the workflow failed.
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
		_, dst, tables, err := w.pair(ctx, pr)
		var n int64
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

// recordAborted stores r as Aborted, back at epoch (0: the map was never
// changed).
func (c *Coordinator) recordAborted(ctx context.Context, r *record, epoch uint64) (Status, error) {
	r.Phase, r.State.AbortedEpoch = Aborted, epoch
	if err := c.store.aborted(ctx, r); err != nil {
		if errors.Is(err, errLeaseLost) {
			err = refusal(ErrCannotAbort, "workflow %d changed while it was rolled back", r.ID)
		}
		return Status{}, err
	}
	c.log.Info("reshard aborted", "id", r.ID, "kind", r.Kind, "shard", r.Shard, "epoch", epoch)
	return r.status(), nil
}
