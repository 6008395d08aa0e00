package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// pruneLoop prunes every owned outbox every PruneInterval until ctx ends.
func (r *Relay) pruneLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.pruneOnce(ctx)
	}
}

// pruneOnce prunes each keyspace this node relays now, and forgets the
// acknowledgements of edges silent for longer than Retention when it
// relays the global keyspace (one node does it).
func (r *Relay) pruneOnce(ctx context.Context) {
	feeds, _, _ := r.hub.state()
	for _, f := range feeds {
		if ctx.Err() != nil {
			return
		}
		n, err := r.prune(ctx, f)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("cannot prune an outbox", "keyspace", f.ks, "err", err)
		}
		if n > 0 {
			r.log.Debug("pruned an outbox", "keyspace", f.ks, "rows", n)
		}
	}
	if feeds[exec.GlobalTarget] != nil {
		if _, err := r.acks.Forget(ctx, time.Now().Add(-r.cfg.Retention)); err != nil && ctx.Err() == nil {
			r.log.Warn("cannot forget old acknowledgements", "err", err)
		}
	}
}

// prune deletes the prefix of f's outbox that every registered region
// acknowledged or that is older than Retention, a batch at a time while f
// is still relayed here, and returns how many rows went.
func (r *Relay) prune(ctx context.Context, f *feed) (int64, error) {
	regions, err := r.cfg.Regions.List(ctx)
	if err != nil {
		return 0, err
	}
	acks, err := r.acks.Acks(ctx, f.ks)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	acked, _ := ackBound(regions, acks, now, r.cfg.AckWindow)
	// Never past what this node has read: an edge cannot acknowledge a
	// change it was not sent (one that says so is wrong).
	acked = min(acked, f.view().head)
	if r.cfg.Keep != nil {
		first, ok, err := r.cfg.Keep(ctx, f.ks)
		if err != nil {
			return 0, fmt.Errorf("relay: what else reads the outbox of %s: %w", f.ks, err)
		}
		if ok {
			acked = min(acked, max(first, 1)-1)
		}
	}
	db, err := r.pool(f.ks)
	if err != nil {
		return 0, err
	}
	q := statementsFor(f.ks)
	var total int64
	for r.relays(f) {
		aged, err := r.agedPrefix(ctx, f.ks, now.Add(-r.cfg.Retention))
		if err != nil {
			return total, err
		}
		upto := max(acked, aged)
		if upto == 0 {
			break
		}
		res, err := db.ExecContext(ctx, q.prune, upto, r.cfg.PruneBatch)
		if err != nil {
			return total, fmt.Errorf("relay: prune the outbox of %s: %w", f.ks, err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			break
		}
		total += n
		r.count.pruned.Add(uint64(n))
	}
	if total > 0 {
		_, oldest, err := r.bounds(ctx, f.ks)
		if err != nil {
			return total, err
		}
		f.setOldest(oldest)
	}
	return total, nil
}

// relays reports whether f is still this node's feed of its keyspace.
func (r *Relay) relays(f *feed) bool {
	feeds, _, _ := r.hub.state()
	return feeds[f.ks] == f
}

// agedPrefix is the last sequence of the outbox's prefix written before
// cutoff, looking at the first PruneBatch rows; 0 if the first row is
// younger. Only a prefix is deleted, so a reader of seq > cursor never
// finds a hole in the middle.
func (r *Relay) agedPrefix(ctx context.Context, ks string, cutoff time.Time) (uint64, error) {
	db, err := r.pool(ks)
	if err != nil {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, statementsFor(ks).aged, r.cfg.PruneBatch)
	if err != nil {
		return 0, fmt.Errorf("relay: read the oldest changes of %s: %w", ks, err)
	}
	defer rows.Close()
	var upto uint64
	for rows.Next() {
		var seq uint64
		var at time.Time
		if err := rows.Scan(&seq, &at); err != nil {
			return 0, fmt.Errorf("relay: read the oldest changes of %s: %w", ks, err)
		}
		if !at.Before(cutoff) {
			break
		}
		upto = seq
	}
	return upto, rows.Err()
}

// ackBound is the highest sequence every registered region (active or
// draining) has acknowledged, and false when no region is registered (then
// acknowledgements delete nothing). A region's acknowledgement is the
// minimum over its edges heard within window, or, when none was, the
// maximum any of its edges ever acknowledged (0 without any).
func ackBound(regions []control.Region, acks []control.StreamAck, now time.Time, window time.Duration) (uint64, bool) {
	type agg struct {
		recentMin, anyMax uint64
		recent            bool
	}
	byRegion := map[string]*agg{}
	for _, a := range acks {
		g := byRegion[a.Region]
		if g == nil {
			g = &agg{}
			byRegion[a.Region] = g
		}
		g.anyMax = max(g.anyMax, a.Seq)
		if now.Sub(a.UpdatedAt) <= window {
			if !g.recent || a.Seq < g.recentMin {
				g.recentMin = a.Seq
			}
			g.recent = true
		}
	}
	var bound uint64
	registered := false
	for _, reg := range regions {
		if reg.State != control.RegionActive && reg.State != control.RegionDraining {
			continue
		}
		var v uint64
		if g := byRegion[reg.Name]; g != nil {
			v = g.anyMax
			if g.recent {
				v = g.recentMin
			}
		}
		if !registered || v < bound {
			bound = v
		}
		registered = true
	}
	return bound, registered
}
