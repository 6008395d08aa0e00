package reshard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cangqiong/cangqiong/replication/reshard/move"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// fatal marks an error the workflow cannot get past by retrying: it ends
// Failed, for an operator.
type fatal struct{ err error }

func (f *fatal) Error() string { return f.err.Error() }
func (f *fatal) Unwrap() error { return f.err }

func fatalf(format string, args ...any) error { return &fatal{fmt.Errorf(format, args...)} }

// slowHold is a cutover hold worth a warning: writes waited this long.
const slowHold = 500 * time.Millisecond

// saveEvery bounds how often the copy checkpoints its progress.
const saveEvery = 250 * time.Millisecond

// workflow is one run of a workflow on this node.
type workflow struct {
	c     *Coordinator
	r     *record
	plan  *plan
	pools map[string]*sql.DB
	// tables are the moved tables, per source shard.
	tables map[string][]move.Table
	saved  time.Time
}

// runWorkflow drives workflow id from its checkpoint to Done or Failed.
// Transient errors are retried with a growing pause; a fatal one, or the
// run's context ending, returns.
func (c *Coordinator) runWorkflow(ctx context.Context, id uint64) error {
	r, err := c.store.get(ctx, id)
	if err != nil {
		return err
	}
	w := &workflow{c: c, r: r, pools: map[string]*sql.DB{}, tables: map[string][]move.Table{}}
	defer w.close()
	pause := 100 * time.Millisecond
	for !r.Phase.Final() {
		if w.plan == nil {
			if w.plan, err = newPlan(r.State.Joined, c.cfg.RingOptions); err != nil {
				return w.fail(ctx, err)
			}
		}
		phase := r.Phase
		err := w.step(ctx)
		if err == nil {
			pause = 100 * time.Millisecond
			if r.Phase != phase {
				c.log.Info("reshard phase", "id", r.ID, "phase", r.Phase, "from", phase)
			}
			continue
		}
		if ctx.Err() != nil || errors.Is(err, errLeaseLost) {
			return err
		}
		if f := (*fatal)(nil); errors.As(err, &f) {
			return w.fail(ctx, err)
		}
		c.log.Warn("reshard step failed; retrying", "id", r.ID, "phase", r.Phase, "err", err, "pause", pause)
		r.Error = err.Error()
		if err := c.store.save(ctx, r, c.cfg.Node); err != nil && errors.Is(err, errLeaseLost) {
			return err
		}
		if !sleep(ctx, pause) {
			return ctx.Err()
		}
		pause = min(2*pause, 5*time.Second)
	}
	return nil
}

func (w *workflow) step(ctx context.Context) error {
	switch w.r.Phase {
	case Preparing:
		return w.prepare(ctx)
	case Copying:
		return w.copy(ctx)
	case CatchingUp:
		return w.catchUp(ctx)
	case Cutover:
		return w.cutover(ctx)
	case Verifying:
		return w.verify(ctx)
	case Cleanup:
		return w.cleanup(ctx)
	}
	return fatalf("reshard: unknown phase %q", w.r.Phase)
}

// fail ends the workflow Failed with err.
func (w *workflow) fail(ctx context.Context, err error) error {
	w.r.Phase, w.r.Error = Failed, err.Error()
	w.c.log.Error("reshard failed", "id", w.r.ID, "err", err)
	if ferr := w.c.store.finish(ctx, w.r, w.c.cfg.Node); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// advance checkpoints the workflow in its next phase.
func (w *workflow) advance(ctx context.Context, next Phase) error {
	w.r.Phase, w.r.Error = next, ""
	if next == Done {
		return w.c.store.finish(ctx, w.r, w.c.cfg.Node)
	}
	return w.save(ctx)
}

func (w *workflow) save(ctx context.Context) error {
	w.saved = time.Now()
	return w.c.store.save(ctx, w.r, w.c.cfg.Node)
}

func (w *workflow) close() {
	for _, db := range w.pools {
		db.Close()
	}
}

// pool is a pool straight to shard id (by its address in the Joined map,
// which lists every shard the workflow touches).
func (w *workflow) pool(id string) (*sql.DB, error) {
	if db := w.pools[id]; db != nil {
		return db, nil
	}
	for _, s := range w.r.State.Joined.Shards {
		if s.ID == id {
			db, err := dbconn.Open(s.Address, s.DatabaseName(), w.c.cfg.Credentials, dbconn.Pool{MaxOpen: 4})
			if err != nil {
				return nil, err
			}
			w.pools[id] = db
			return db, nil
		}
	}
	return nil, fatalf("reshard: shard %s is not in the workflow's map", id)
}

// pair opens the pools and reads the moved tables of one pair.
func (w *workflow) pair(ctx context.Context, p *pairState) (src, dst *sql.DB, tables []move.Table, err error) {
	if src, err = w.pool(p.From); err != nil {
		return
	}
	if dst, err = w.pool(p.To); err != nil {
		return
	}
	if tables = w.tables[p.From]; tables == nil {
		if tables, err = move.Tables(ctx, src); err != nil {
			return
		}
		w.tables[p.From] = tables
	}
	return
}

// prepare migrates the new shard's schema and commits the Joined map.
func (w *workflow) prepare(ctx context.Context) error {
	st := &w.r.State
	if w.r.Kind == Add {
		rep, err := schema.Migrate(ctx, st.Joined, w.c.cfg.Credentials, w.c.log)
		if err != nil {
			return fmt.Errorf("reshard: migrate the shards: %w", err)
		}
		if failed := rep.Failed(); len(failed) > 0 {
			return fmt.Errorf("reshard: migrate %s: %v", failed[0].Target, failed[0].Err)
		}
	}
	if !st.JoinedCommitted {
		if err := w.commit(ctx, st.Start.Epoch, st.Joined); err != nil {
			return err
		}
		st.JoinedCommitted = true
	}
	for i := range st.Pairs {
		p := &st.Pairs[i]
		src, _, tables, err := w.pair(ctx, p)
		if err != nil {
			return err
		}
		if p.SourceRows, err = estimateRows(ctx, src, tables); err != nil {
			return err
		}
	}
	return w.advance(ctx, Copying)
}

// commit stores next if the stored map is still at expect; a map already
// equal to next (a commit this workflow made before it was resumed) is
// success, any other is fatal: someone changed the map under the workflow.
func (w *workflow) commit(ctx context.Context, expect uint64, next *shardmap.Map) error {
	err := w.c.cfg.Maps.Commit(ctx, expect, next)
	if err == nil || !errors.Is(err, control.ErrEpochConflict) {
		return err
	}
	cur, lerr := w.c.maps.Load(ctx)
	if lerr != nil {
		return lerr
	}
	if cur.Equal(next) {
		return nil
	}
	return fatalf("reshard: the shard map moved to epoch %d under the workflow (it expected %d): %w", cur.Epoch, expect, err)
}

// estimateRows is the source's row count estimate of the moved tables.
func estimateRows(ctx context.Context, db *sql.DB, tables []move.Table) (int64, error) {
	if len(tables) == 0 {
		return 0, nil
	}
	names := make([]any, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	q := "SELECT COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?" +
		strings.Repeat(", ?", len(names)-1) + ")"
	var n int64
	if err := db.QueryRowContext(ctx, q, names...).Scan(&n); err != nil {
		return 0, fmt.Errorf("reshard: estimate the rows to copy: %w", err)
	}
	return n, nil
}

// copy copies every pair's moving users (move's protocol, steps 0-2).
func (w *workflow) copy(ctx context.Context) error {
	st := &w.r.State
	if st.CopyStarted.IsZero() {
		st.CopyStarted = time.Now().UTC()
	}
	for i := range st.Pairs {
		p := &st.Pairs[i]
		if p.Copied {
			continue
		}
		src, dst, tables, err := w.pair(ctx, p)
		if err != nil {
			return err
		}
		filter := w.plan.filter(p.From, p.To)
		if !p.HeadSet {
			// A fresh copy: clear what an abandoned attempt left.
			if _, err := move.DeleteUsers(ctx, dst, tables, move.Matching(filter), 0); err != nil {
				return err
			}
			if p.Head, err = move.SourceHead(ctx, src); err != nil {
				return err
			}
			p.HeadSet, p.Cursor, p.Copy = true, p.Head, move.Progress{}
			if err := w.save(ctx); err != nil {
				return err
			}
		}
		copier, err := move.NewCopier(move.Config{
			Source: src, Target: dst, Tables: tables, Filter: filter,
			ReadBatch: w.c.cfg.ReadBatch, RowsPerSecond: w.c.cfg.RowsPerSecond, Logger: w.c.log,
			OnProgress: func(ctx context.Context, pr move.Progress) error {
				w.progress(p, pr)
				if time.Since(w.saved) < saveEvery {
					return nil
				}
				return w.save(ctx)
			},
		})
		if err != nil {
			return fatalf("reshard: %w", err)
		}
		pr, err := copier.Copy(ctx, p.Copy)
		w.progress(p, pr)
		if err != nil {
			if errors.Is(err, move.ErrBadProgress) || errors.Is(err, move.ErrUnmovable) {
				return &fatal{err}
			}
			return err
		}
		p.Copied = true
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	return w.advance(ctx, CatchingUp)
}

func (w *workflow) progress(p *pairState, pr move.Progress) {
	p.Copy, p.Scanned, p.Rows, p.Users = pr, pr.Scanned, pr.Rows, pr.Users
}

// catchUp re-copies changed users until every pair is within CutoverLag.
func (w *workflow) catchUp(ctx context.Context) error {
	st := &w.r.State
	lagging := false
	for i := range st.Pairs {
		p := &st.Pairs[i]
		head, err := w.catchUpPair(ctx, p)
		if err != nil || w.r.Phase != CatchingUp {
			return err
		}
		if head > p.Cursor {
			p.Lag = head - p.Cursor
		} else {
			p.Lag = 0
		}
		lagging = lagging || p.Lag > w.c.cfg.CutoverLag
	}
	if lagging {
		return w.save(ctx)
	}
	return w.advance(ctx, Cutover)
}

// catchUpPair reads the source outbox after the pair's cursor and re-copies
// the moving users it names, up to the head it reads first, which it
// returns. A gap in the outbox (rows deleted before the catch-up read
// them) restarts the pair's copy.
func (w *workflow) catchUpPair(ctx context.Context, p *pairState) (uint64, error) {
	src, _, _, err := w.pair(ctx, p)
	if err != nil {
		return 0, err
	}
	head, err := move.SourceHead(ctx, src)
	if err != nil {
		return 0, err
	}
	restart, err := w.catchUpTo(ctx, p, head)
	if restart {
		w.r.Phase = Copying
		return 0, errors.Join(err, w.save(ctx))
	}
	return head, err
}

// catchUpTo re-copies the moving users the source outbox names after the
// pair's cursor, until the cursor reaches until. It only touches p (pairs
// may catch up in parallel; the pools must be open). On a gap in the
// outbox it resets p to be copied again and reports restart.
func (w *workflow) catchUpTo(ctx context.Context, p *pairState, until uint64) (restart bool, err error) {
	src, dst, tables := w.pools[p.From], w.pools[p.To], w.tables[p.From]
	filter := w.plan.filter(p.From, p.To)
	for p.Cursor < until {
		users, last, err := move.ChangedUsers(ctx, src, p.Cursor, filter, 0)
		if errors.Is(err, move.ErrOutboxGap) {
			w.c.log.Warn("the source outbox was trimmed before the catch-up read it; copying the pair again", "from", p.From, "to", p.To, "err", err)
			*p = pairState{Pair: Pair{From: p.From, To: p.To, Fraction: p.Fraction, SourceRows: p.SourceRows}}
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if len(users) > 0 {
			if err := move.Recopy(ctx, src, dst, tables, users); err != nil {
				return false, err
			}
		}
		if last == p.Cursor {
			break
		}
		p.Cursor = last
	}
	return false, nil
}

// cutover holds the moving users' writes (a map freezing their ranges),
// waits until every node serves it, copies the last changes, and commits
// the settled map where the new owners serve.
func (w *workflow) cutover(ctx context.Context) error {
	st := &w.r.State
	cur, err := w.c.maps.Load(ctx)
	if err != nil {
		return err
	}
	if st.SettledEpoch == 0 || cur.Epoch < st.SettledEpoch {
		if st.FrozenEpoch == 0 || cur.Epoch < st.FrozenEpoch {
			if cur.Epoch != st.Joined.Epoch {
				return fatalf("reshard: the shard map moved to epoch %d under the workflow (it expected %d)", cur.Epoch, st.Joined.Epoch)
			}
			frozen := st.Joined.Clone()
			frozen.Epoch++
			frozen.Freeze = true
			st.FrozenEpoch, st.SettledEpoch, st.Cutovers = frozen.Epoch, 0, st.Cutovers+1
			if err := w.save(ctx); err != nil {
				return err
			}
			st.HoldStart = time.Now()
			if err := w.commit(ctx, cur.Epoch, frozen); err != nil {
				return err
			}
			w.c.log.Info("holding the moving users' writes", "id", w.r.ID, "epoch", frozen.Epoch, "moving", w.plan.delta.Fraction)
		}
		frozenAt := time.Now()
		if lagging, err := w.awaitEpoch(ctx, st.FrozenEpoch); err != nil {
			return err
		} else if lagging != nil {
			return w.unfreeze(ctx, lagging)
		}
		heldAt := time.Now()
		if err := w.finalCatchUp(ctx); err != nil {
			return err
		}
		caughtUpAt := time.Now()
		if w.r.Phase != Cutover {
			return w.unfreeze(ctx, nil) // a pair's copy starts over
		}
		frozen, err := w.c.maps.Load(ctx)
		if err != nil {
			return err
		}
		if frozen.Epoch != st.FrozenEpoch {
			return fatalf("reshard: the shard map moved to epoch %d during the cutover (frozen at %d)", frozen.Epoch, st.FrozenEpoch)
		}
		settled := frozen.Settled()
		st.SettledEpoch = settled.Epoch
		if err := w.save(ctx); err != nil {
			return err
		}
		if err := w.commit(ctx, frozen.Epoch, settled); err != nil {
			return err
		}
		if !st.HoldStart.IsZero() {
			st.Hold = time.Since(st.HoldStart)
		}
		st.SettledAt = time.Now().UTC()
		level := slog.LevelInfo
		if st.Hold > slowHold {
			level = slog.LevelWarn
		}
		w.c.log.Log(ctx, level, "cut over: the new owners serve", "id", w.r.ID, "epoch", settled.Epoch, "hold", st.Hold,
			"freeze_commit", frozenAt.Sub(st.HoldStart), "nodes_hold", heldAt.Sub(frozenAt),
			"last_changes", caughtUpAt.Sub(heldAt), "settle_commit", time.Since(caughtUpAt))
	}
	return w.advance(ctx, Verifying)
}

// finalCatchUp brings every pair up to its source's head while the moving
// users' writes are held, the pairs in parallel: this is the part of the
// hold that grows with the number of pairs.
func (w *workflow) finalCatchUp(ctx context.Context) error {
	st := &w.r.State
	for i := range st.Pairs { // open the pools first: w.pair fills maps
		if _, _, _, err := w.pair(ctx, &st.Pairs[i]); err != nil {
			return err
		}
	}
	restarted := make([]bool, len(st.Pairs))
	g, gctx := errgroup.WithContext(ctx)
	for i := range st.Pairs {
		g.Go(func() error {
			p := &st.Pairs[i]
			head, err := move.SourceHead(gctx, w.pools[p.From])
			if err != nil {
				return err
			}
			if restarted[i], err = w.catchUpTo(gctx, p, head); err != nil || restarted[i] {
				return err
			}
			p.Lag = 0
			p.TargetHead, err = move.SourceHead(gctx, w.pools[p.To])
			return err
		})
	}
	err := g.Wait()
	if slices.Contains(restarted, true) {
		w.r.Phase = Copying
		return errors.Join(err, w.save(ctx))
	}
	return err
}

// awaitEpoch waits until every alive node announces epoch (or later); it
// returns the nodes that did not within CutoverWait.
func (w *workflow) awaitEpoch(ctx context.Context, epoch uint64) ([]string, error) {
	deadline := time.Now().Add(w.c.cfg.CutoverWait)
	for {
		var behind []string
		for _, m := range w.c.cfg.Members() {
			if m.Epoch < epoch {
				behind = append(behind, m.Name)
			}
		}
		if len(behind) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return behind, nil
		}
		if !sleep(ctx, 2*time.Millisecond) {
			return nil, ctx.Err()
		}
	}
}

// unfreeze lifts a freeze the cutover could not finish: the map keeps the
// joining/draining shards but holds nothing, and the workflow catches up
// again before it retries.
func (w *workflow) unfreeze(ctx context.Context, lagging []string) error {
	st := &w.r.State
	cur, err := w.c.maps.Load(ctx)
	if err != nil {
		return err
	}
	if cur.Epoch != st.FrozenEpoch {
		return fatalf("reshard: the shard map moved to epoch %d during the cutover (frozen at %d)", cur.Epoch, st.FrozenEpoch)
	}
	open := cur.Clone()
	open.Epoch++
	open.Freeze = false
	if err := w.commit(ctx, cur.Epoch, open); err != nil {
		return err
	}
	st.Joined, st.FrozenEpoch, st.HoldStart = open, 0, time.Time{}
	if w.r.Phase == Cutover {
		w.r.Phase = CatchingUp
	}
	if lagging != nil {
		w.r.Error = fmt.Sprintf("cutover %d released: nodes %s did not serve the frozen map within %s", st.Cutovers, strings.Join(lagging, ", "), w.c.cfg.CutoverWait)
		w.c.log.Warn("cutover released", "id", w.r.ID, "behind", lagging)
	}
	return w.save(ctx)
}

// verify compares every moved user's rows, old copy against new, but for
// users the target changed since the cutover (their old copy is stale by
// design).
func (w *workflow) verify(ctx context.Context) error {
	st := &w.r.State
	for i := range st.Pairs {
		p := &st.Pairs[i]
		if p.Verified {
			continue
		}
		src, dst, tables, err := w.pair(ctx, p)
		if err != nil {
			return err
		}
		filter := w.plan.filter(p.From, p.To)
		mism, err := move.Verify(ctx, src, dst, tables, move.Matching(filter))
		if err != nil && !errors.Is(err, move.ErrTooManyMismatches) {
			return err
		}
		if len(mism) > 0 {
			// Users written on the target since the cutover differ by
			// design; read which after Verify, so that none written
			// during it is missed.
			changed, err := changedSince(ctx, dst, p.TargetHead, filter)
			if err != nil {
				return err
			}
			mism = slices.DeleteFunc(mism, func(m move.Mismatch) bool { return changed[m.User] })
		}
		p.Mismatches = len(mism)
		if len(mism) > 0 {
			return fatalf("reshard: %d users differ between %s and %s after the copy (first: %s); the old copies are kept", len(mism), p.From, p.To, mism[0])
		}
		p.Verified = true
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	return w.advance(ctx, Cleanup)
}

// changedSince lists the users the filter selects that db's outbox shows
// changed after seq.
func changedSince(ctx context.Context, db *sql.DB, seq uint64, filter func(int64) bool) (map[int64]bool, error) {
	changed := map[int64]bool{}
	for {
		users, last, err := move.ChangedUsers(ctx, db, seq, filter, 0)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			changed[u] = true
		}
		if last == seq {
			return changed, nil
		}
		seq = last
	}
}

// cleanup deletes the old copies once the grace period has passed.
func (w *workflow) cleanup(ctx context.Context) error {
	st := &w.r.State
	if wait := time.Until(st.SettledAt.Add(w.c.cfg.Grace)); wait > 0 && !sleep(ctx, wait) {
		return ctx.Err()
	}
	for i := range st.Pairs {
		p := &st.Pairs[i]
		if p.Cleaned {
			continue
		}
		src, _, tables, err := w.pair(ctx, p)
		if err != nil {
			return err
		}
		n, err := move.DeleteUsers(ctx, src, tables, move.Matching(w.plan.filter(p.From, p.To)), 0)
		p.Deleted += n
		if err != nil {
			return err
		}
		p.Cleaned = true
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	return w.advance(ctx, Done)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
