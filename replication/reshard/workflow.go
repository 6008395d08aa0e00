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

// roundTimeout bounds one catch-up round of a pair (its statements on both
// shards): a shard that hangs fails the round, which is retried, instead of
// stalling the workflow.
const roundTimeout = 30 * time.Second

// lagPatience: a catch-up that has not brought every pair within
// CutoverLag for this long, though its rounds are quick (each lagging
// pair's last round took at most half of CutoverBudget), has reached what
// it can do while the users it moves are written (each round recopies the
// users written during the last one, whole): the cutover begins anyway,
// the last changes bounded by CutoverBudget.
const lagPatience = 10 * time.Second

// After a cutover was released the next waits Cutovers × cutoverBackoff,
// at most maxCutoverBackoff; the catch-up goes on meanwhile, polling at
// most every backoffPoll.
const (
	cutoverBackoff    = time.Second
	maxCutoverBackoff = 10 * time.Second
	backoffPoll       = 100 * time.Millisecond
)

// workflow is one run of a workflow on this node.
type workflow struct {
	c     *Coordinator
	r     *record
	plan  *plan
	pools map[string]*sql.DB
	// tables are the moved tables, per source shard.
	tables map[string][]move.Table
	saved  time.Time
	// phaseSince is when this run entered the current phase.
	phaseSince time.Time
}

// runWorkflow drives workflow id from its checkpoint to Done or Failed.
// Transient errors are retried with a growing pause; a fatal one, or the
// run's context ending, returns.
func (c *Coordinator) runWorkflow(ctx context.Context, id uint64) error {
	r, err := c.store.get(ctx, id)
	if err != nil {
		return err
	}
	w := &workflow{c: c, r: r, pools: map[string]*sql.DB{}, tables: map[string][]move.Table{}, phaseSince: time.Now()}
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
		if r.Phase != phase {
			w.phaseSince = time.Now()
		}
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
		if err := c.store.save(ctx, r, c.owner); err != nil && errors.Is(err, errLeaseLost) {
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

// fail ends the workflow Failed with err. It first lifts a freeze the
// workflow committed and did not settle (thaw), retrying until it is lifted
// or the run ends: a failed workflow never leaves writes held. A run that
// ends first leaves the workflow running, for the next one to do it.
func (w *workflow) fail(ctx context.Context, err error) error {
	pause := 100 * time.Millisecond
	for {
		terr := w.thaw(ctx)
		if terr == nil {
			break
		}
		if f := (*fatal)(nil); errors.As(terr, &f) {
			err = fmt.Errorf("%w (and the cutover's freeze could not be lifted: %v)", err, terr)
			break
		}
		if ctx.Err() != nil || errors.Is(terr, errLeaseLost) {
			return errors.Join(err, terr)
		}
		w.c.log.Warn("cannot lift the cutover's freeze of a failing workflow; retrying", "id", w.r.ID, "err", terr, "pause", pause)
		if !sleep(ctx, pause) {
			return errors.Join(err, ctx.Err())
		}
		pause = min(2*pause, 5*time.Second)
	}
	w.r.Phase, w.r.Error = Failed, err.Error()
	w.c.log.Error("reshard failed", "id", w.r.ID, "err", err)
	if ferr := w.c.store.finish(ctx, w.r, w.c.owner); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// advance checkpoints the workflow in its next phase.
func (w *workflow) advance(ctx context.Context, next Phase) error {
	w.r.Phase, w.r.Error = next, ""
	if next == Done {
		return w.c.store.finish(ctx, w.r, w.c.owner)
	}
	return w.save(ctx)
}

func (w *workflow) save(ctx context.Context) error {
	w.saved = time.Now()
	return w.c.store.save(ctx, w.r, w.c.owner)
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
	if err := w.thaw(ctx); err != nil {
		return err
	}
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

// catchUp re-copies changed users, a round at a time, until every pair
// is within CutoverLag (or, past lagPatience, the rounds of those that
// are not are quick) and, after a released cutover, its backoff has
// passed.
func (w *workflow) catchUp(ctx context.Context) error {
	if err := w.thaw(ctx); err != nil {
		return err
	}
	st := &w.r.State
	var lagging []string
	slow := false
	for i := range st.Pairs {
		p := &st.Pairs[i]
		gap, took, err := w.catchUpPair(ctx, p)
		if err != nil {
			return err
		}
		if gap {
			p.reset()
			return w.advance(ctx, Copying)
		}
		if p.Lag > w.c.cfg.CutoverLag {
			lagging = append(lagging, fmt.Sprintf("%s→%s %d (round %s)", p.From, p.To, p.Lag, took.Round(time.Millisecond)))
			slow = slow || took > w.c.cfg.CutoverBudget/2
		}
	}
	if lagging != nil && (slow || time.Since(w.phaseSince) < lagPatience) {
		return w.save(ctx)
	}
	if wait := w.backoff(); wait > 0 {
		// A cutover was released lately: keep catching up until the
		// next may begin.
		if time.Since(w.saved) >= saveEvery {
			if err := w.save(ctx); err != nil {
				return err
			}
		}
		if !sleep(ctx, min(wait, backoffPoll)) {
			return ctx.Err()
		}
		return nil
	}
	if lagging != nil {
		w.c.log.Warn("the catch-up does not get within CutoverLag while the moving users are written; cutting over anyway, the last changes bounded by CutoverBudget",
			"id", w.r.ID, "cutover_lag", w.c.cfg.CutoverLag, "lagging", lagging, "catching_up", time.Since(w.phaseSince).Round(time.Second))
	}
	return w.advance(ctx, Cutover)
}

// backoff is how long the next cutover must still wait: min(Cutovers ×
// 1 s, 10 s) after the last was released.
func (w *workflow) backoff() time.Duration {
	st := &w.r.State
	if st.ReleasedAt.IsZero() {
		return 0
	}
	return time.Until(st.ReleasedAt.Add(min(time.Duration(st.Cutovers)*cutoverBackoff, maxCutoverBackoff)))
}

// catchUpPair reads the source outbox after the pair's cursor and re-copies
// the moving users it names, up to the head it reads first, then sets the
// pair's Lag: how far the source's head is ahead of the cursor once the
// round is over (the changes written while it ran). It returns how long
// the round took, and reports a gap in the outbox (rows deleted before
// the catch-up read them): the pair must be copied again.
func (w *workflow) catchUpPair(ctx context.Context, p *pairState) (gap bool, took time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	src, _, _, err := w.pair(ctx, p)
	if err != nil {
		return false, 0, err
	}
	start := time.Now()
	head, err := move.SourceHead(ctx, src)
	if err != nil {
		return false, 0, err
	}
	if gap, err = w.catchUpTo(ctx, p, head); err != nil || gap {
		return gap, 0, err
	}
	took = time.Since(start)
	if head, err = move.SourceHead(ctx, src); err != nil {
		return false, 0, err
	}
	p.Lag = 0
	if head > p.Cursor {
		p.Lag = head - p.Cursor
	}
	return false, took, nil
}

// catchUpTo re-copies the moving users the source outbox names after the
// pair's cursor, until the cursor reaches until (a head read before: every
// change up to it is committed, so its rows are there unless trimmed). It
// only touches p (pairs may catch up in parallel; the pools must be open).
// It reports a gap in the outbox, a missing sequence number or rows ending
// before until: changes were lost to the catch-up, and the caller copies
// the pair again.
func (w *workflow) catchUpTo(ctx context.Context, p *pairState, until uint64) (gap bool, err error) {
	src, dst, tables := w.pools[p.From], w.pools[p.To], w.tables[p.From]
	filter := w.plan.filter(p.From, p.To)
	for p.Cursor < until {
		users, last, err := move.ChangedUsers(ctx, src, p.Cursor, filter, 0)
		if errors.Is(err, move.ErrOutboxGap) {
			w.c.log.Warn("the source outbox was trimmed before the catch-up read it; copying the pair again", "from", p.From, "to", p.To, "err", err)
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if last == p.Cursor {
			w.c.log.Warn("the source outbox was trimmed before the catch-up read it; copying the pair again", "from", p.From, "to", p.To,
				"cursor", p.Cursor, "head", until)
			return true, nil
		}
		if len(users) > 0 {
			if err := move.Recopy(ctx, src, dst, tables, users); err != nil {
				return false, err
			}
		}
		p.Cursor = last
	}
	return false, nil
}

// cutover holds the moving users' writes (a map freezing their ranges),
// waits until every node serves it, copies the last changes, and commits
// the settled map where the new owners serve. A cutover that cannot finish
// (a node does not serve the frozen map within CutoverWait, the last
// changes take longer than CutoverBudget, a shard fails meanwhile) is
// released: the freeze is lifted and the workflow catches up again.
func (w *workflow) cutover(ctx context.Context) error {
	st := &w.r.State
	cur, err := w.c.maps.Load(ctx)
	if err != nil {
		return err
	}
	if w.thawed(cur) {
		// A run released the cutover and stopped before it recorded so.
		w.c.log.Warn("the cutover's freeze was lifted by an earlier run; catching up again", "id", w.r.ID, "epoch", cur.Epoch)
		w.adopt(cur)
		st.ReleasedAt = time.Now().UTC()
		return w.advance(ctx, CatchingUp)
	}
	if st.SettledEpoch != 0 && cur.Epoch >= st.SettledEpoch {
		// A run committed the settled map and stopped before it recorded
		// so (its SettledAt was recorded before the commit).
		if st.SettledAt.IsZero() {
			st.SettledAt = time.Now().UTC()
		}
		return w.advance(ctx, Verifying)
	}
	if st.FrozenEpoch == 0 || cur.Epoch < st.FrozenEpoch {
		if cur.Epoch != st.Joined.Epoch {
			return fatalf("reshard: the shard map moved to epoch %d under the workflow (it expected %d)", cur.Epoch, st.Joined.Epoch)
		}
		if wait := w.backoff(); wait > 0 && !sleep(ctx, wait) {
			return ctx.Err()
		}
		frozen := st.Joined.Clone()
		frozen.Epoch++
		frozen.Freeze = true
		st.FrozenEpoch, st.SettledEpoch, st.Cutovers = frozen.Epoch, 0, st.Cutovers+1
		st.HoldStart = time.Now()
		if err := w.save(ctx); err != nil {
			return err
		}
		if err := w.commit(ctx, cur.Epoch, frozen); err != nil {
			return err
		}
		cur = frozen
		w.c.log.Info("holding the moving users' writes", "id", w.r.ID, "epoch", frozen.Epoch, "moving", w.plan.delta.Fraction, "cutover", st.Cutovers)
	}
	if cur.Epoch != st.FrozenEpoch || !cur.Freeze || !sameLayout(cur, st.Joined) {
		return fatalf("reshard: the shard map moved to epoch %d during the cutover (frozen at %d)", cur.Epoch, st.FrozenEpoch)
	}
	frozenAt := time.Now()
	if lagging, err := w.awaitEpoch(ctx, st.FrozenEpoch); err != nil {
		return err
	} else if lagging != nil {
		return w.unfreeze(ctx, fmt.Sprintf("nodes %s did not serve the frozen map within %s", strings.Join(lagging, ", "), w.c.cfg.CutoverWait), nil)
	}
	// Every alive node holds the moving users' writes. The fence makes
	// that true of every node whatever gossip believes: the shards users
	// leave refuse writes of older maps from now on, and the head the
	// final catch-up reads after it is final for them.
	if err := w.fence(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return w.unfreeze(ctx, fmt.Sprintf("the source shards could not be fenced: %v", err), nil)
	}
	heldAt := time.Now()
	restart, err := w.finalCatchUp(ctx)
	if ctx.Err() != nil {
		// The run ends (lease lost, shutdown): the node that resumes the
		// workflow resumes the cutover, or releases it.
		return ctx.Err()
	}
	if err != nil || len(restart) > 0 {
		reason := "the source outbox of a pair has a gap: it is copied again"
		if err != nil {
			reason = fmt.Sprintf("the last changes could not be copied: %v", err)
		}
		if uerr := w.unfreeze(ctx, reason, restart); uerr != nil {
			return errors.Join(err, uerr)
		}
		if f := (*fatal)(nil); errors.As(err, &f) {
			return err
		}
		return nil
	}
	caughtUpAt := time.Now()
	settled := cur.Settled()
	st.SettledEpoch, st.SettledAt = settled.Epoch, time.Now().UTC()
	if err := w.save(ctx); err != nil {
		return err
	}
	if err := w.commit(ctx, cur.Epoch, settled); err != nil {
		return err
	}
	st.SettledAt = time.Now().UTC()
	if !st.HoldStart.IsZero() {
		st.Hold = st.SettledAt.Sub(st.HoldStart)
	}
	level := slog.LevelInfo
	if st.Hold > slowHold {
		level = slog.LevelWarn
	}
	w.c.log.Log(ctx, level, "cut over: the new owners serve", "id", w.r.ID, "epoch", settled.Epoch, "hold", st.Hold,
		"freeze_commit", frozenAt.Sub(st.HoldStart), "nodes_hold", heldAt.Sub(frozenAt),
		"last_changes", caughtUpAt.Sub(heldAt), "settle_commit", time.Since(caughtUpAt))
	return w.advance(ctx, Verifying)
}

// finalCatchUp brings every pair up to its source's head while the moving
// users' writes are held, the pairs in parallel (this is the part of the
// hold that grows with the number of pairs), and reads each target's head.
// Every statement runs under one deadline, CutoverBudget from now: a slow
// or hung shard ends in an error, never in an unbounded hold. It changes
// no phase; it returns the pairs whose source outbox has a gap, which must
// be copied again.
func (w *workflow) finalCatchUp(ctx context.Context) (restart []int, err error) {
	budget := w.c.cfg.CutoverBudget
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	st := &w.r.State
	for i := range st.Pairs { // open the pools first: w.pair fills maps
		if _, _, _, err := w.pair(ctx, &st.Pairs[i]); err != nil {
			return nil, w.overBudget(ctx, err)
		}
	}
	gap := make([]bool, len(st.Pairs))
	g, gctx := errgroup.WithContext(ctx)
	for i := range st.Pairs {
		g.Go(func() error {
			p := &st.Pairs[i]
			head, err := move.SourceHead(gctx, w.pools[p.From])
			if err != nil {
				return err
			}
			if gap[i], err = w.catchUpTo(gctx, p, head); err != nil || gap[i] {
				return err
			}
			p.Lag = 0
			if p.TargetHead, err = move.SourceHead(gctx, w.pools[p.To]); err != nil {
				return err
			}
			p.TargetHeadSet = true
			return nil
		})
	}
	err = g.Wait()
	for i, gapped := range gap {
		if gapped {
			restart = append(restart, i)
		}
	}
	return restart, w.overBudget(ctx, err)
}

// overBudget says so when err came from the cutover budget running out.
func (w *workflow) overBudget(ctx context.Context, err error) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("they took longer than the cutover budget (%s): %w", w.c.cfg.CutoverBudget, err)
	}
	return err
}

// fence raises the write fence of every pair's source shard to the
// frozen epoch, within CutoverBudget.
func (w *workflow) fence(ctx context.Context) error {
	st := &w.r.State
	ctx, cancel := context.WithTimeout(ctx, w.c.cfg.CutoverBudget)
	defer cancel()
	done := map[string]bool{}
	for i := range st.Pairs {
		p := &st.Pairs[i]
		if done[p.From] {
			continue
		}
		src, _, _, err := w.pair(ctx, p)
		if err != nil {
			return err
		}
		if err := move.Fence(ctx, src, st.FrozenEpoch); err != nil {
			return fmt.Errorf("shard %s: %w", p.From, w.overBudget(ctx, err))
		}
		done[p.From] = true
	}
	return nil
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

// unfreeze releases a cutover that could not finish: the workflow goes back
// to CatchingUp (to Copying if pairs in restart must be copied again) and
// its freeze is lifted. The decision is checkpointed first, then the map
// without the freeze committed (thaw): a run that stops in between leaves
// a state whose next step lifts the freeze, or adopts the map that lifted
// it.
func (w *workflow) unfreeze(ctx context.Context, reason string, restart []int) error {
	st := &w.r.State
	w.r.Phase = CatchingUp
	for _, i := range restart {
		st.Pairs[i].reset()
		w.r.Phase = Copying
	}
	for i := range st.Pairs {
		st.Pairs[i].TargetHead, st.Pairs[i].TargetHeadSet = 0, false
	}
	st.SettledEpoch, st.SettledAt = 0, time.Time{}
	st.ReleasedAt = time.Now().UTC()
	w.r.Error = fmt.Sprintf("cutover %d released: %s", st.Cutovers, reason)
	w.c.log.Warn("cutover released; catching up again", "id", w.r.ID, "cutover", st.Cutovers, "reason", reason, "next", w.r.Phase,
		"retry_in", min(time.Duration(st.Cutovers)*cutoverBackoff, maxCutoverBackoff))
	if err := w.save(ctx); err != nil {
		return err
	}
	return w.thaw(ctx)
}

// thaw lifts a freeze this workflow committed and did not settle. If the
// stored map is frozen at FrozenEpoch it commits its successor without the
// freeze (the joining/draining shards unchanged) and adopts it as Joined;
// if an earlier run did so and stopped before it recorded it, it adopts
// that map. A freeze decided but never committed is forgotten. The settled
// map (and any other) is left alone: nothing of this workflow is held.
func (w *workflow) thaw(ctx context.Context) error {
	st := &w.r.State
	if st.FrozenEpoch == 0 {
		return nil
	}
	cur, err := w.c.maps.Load(ctx)
	if err != nil {
		return err
	}
	switch {
	case cur.Epoch < st.FrozenEpoch:
		st.FrozenEpoch, st.HoldStart = 0, time.Time{}
		return w.save(ctx)
	case cur.Epoch == st.FrozenEpoch:
		if !cur.Freeze || !sameLayout(cur, st.Joined) {
			return fatalf("reshard: the shard map at epoch %d is not the workflow's frozen map", cur.Epoch)
		}
		open := cur.Clone()
		open.Epoch++
		open.Freeze = false
		if err := w.commit(ctx, cur.Epoch, open); err != nil {
			return err
		}
		w.c.log.Info("lifted the cutover's freeze", "id", w.r.ID, "epoch", open.Epoch)
		cur = open
	case !w.thawed(cur):
		return nil
	}
	w.adopt(cur)
	return w.save(ctx)
}

// adopt makes m, Joined with a freeze lifted, the workflow's Joined map.
func (w *workflow) adopt(m *shardmap.Map) {
	st := &w.r.State
	st.Joined, st.FrozenEpoch, st.HoldStart, st.SettledEpoch, st.SettledAt = m, 0, time.Time{}, 0, time.Time{}
}

// thawed reports whether m is the workflow's Joined map with a freeze
// lifted: a later epoch, no freeze, the same shards (still joining or
// draining, which tells it from the settled map).
func (w *workflow) thawed(m *shardmap.Map) bool {
	j := w.r.State.Joined
	return m.Epoch > j.Epoch && !m.Freeze && moving(m) && sameLayout(m, j)
}

// sameLayout reports whether a and b are the same map apart from their
// epoch and freeze.
func sameLayout(a, b *shardmap.Map) bool {
	c := a.Clone()
	c.Epoch, c.Freeze = b.Epoch, b.Freeze
	return c.Equal(b)
}

// moving reports whether a shard of m joins or drains.
func moving(m *shardmap.Map) bool {
	return slices.ContainsFunc(m.Shards, func(s shardmap.Shard) bool { return s.State != shardmap.Serving })
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
		if err := w.verifyPair(ctx, p); err != nil {
			return err
		}
		p.Verified = true
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	return w.advance(ctx, Cleanup)
}

// verifyPair verifies one pair. The users the target's outbox shows
// written since TargetHead are read before move.Verify, which leaves them
// out, and again after it, to drop the differences of users written while
// it ran. A Verify that stopped at move.MaxMismatches compared only some
// users: it never verifies the pair. If every difference it found was a
// user written meanwhile it runs once more without them; otherwise, or if
// that stops too, the pair fails.
func (w *workflow) verifyPair(ctx context.Context, p *pairState) error {
	src, dst, tables, err := w.pair(ctx, p)
	if err != nil {
		return err
	}
	moving := w.plan.filter(p.From, p.To)
	changed := map[int64]bool{}
	seq := p.TargetHead
	for attempt := 1; ; attempt++ {
		if seq, err = w.changedSince(ctx, p, dst, seq, changed); err != nil {
			return err
		}
		unchanged := func(u int64) bool { return moving(u) && !changed[u] }
		mism, verr := move.Verify(ctx, src, dst, tables, move.Matching(unchanged))
		stopped := errors.Is(verr, move.ErrTooManyMismatches)
		if verr != nil && !stopped {
			return verr
		}
		if len(mism) > 0 {
			if seq, err = w.changedSince(ctx, p, dst, seq, changed); err != nil {
				return err
			}
			mism = slices.DeleteFunc(mism, func(m move.Mismatch) bool { return changed[m.User] })
		}
		p.Mismatches = len(mism)
		switch {
		case stopped && len(mism) > 0:
			return fatalf("reshard: verification of %s→%s stopped after %d differing users: at least %d users differ (first: %s); the old copies are kept",
				p.From, p.To, move.MaxMismatches, len(mism), mism[0])
		case len(mism) > 0:
			return fatalf("reshard: %d users differ between %s and %s after the copy (first: %s); the old copies are kept", len(mism), p.From, p.To, mism[0])
		case stopped && attempt == 1:
			w.c.log.Warn("verification stopped at its mismatch limit, on users written meanwhile; verifying again without them",
				"id", w.r.ID, "from", p.From, "to", p.To, "written", len(changed))
		case stopped:
			return fatalf("reshard: verification of %s→%s could not finish: twice it stopped after %d differing users, all written on %s meanwhile; the old copies are kept",
				p.From, p.To, move.MaxMismatches, p.To)
		default:
			return nil
		}
	}
}

// changedSince adds to changed the moving users of p that the target's
// outbox shows written after seq, up to the head it reads first, and
// returns the last sequence number read. Rows missing below that head were
// trimmed: who was written cannot be told, and verification fails.
func (w *workflow) changedSince(ctx context.Context, p *pairState, dst *sql.DB, seq uint64, changed map[int64]bool) (uint64, error) {
	last, err := changedSince(ctx, dst, seq, w.plan.filter(p.From, p.To), changed)
	if errors.Is(err, move.ErrOutboxGap) {
		return last, fatalf("reshard: cannot tell which users %s wrote since the cutover, so %s→%s cannot be verified; the old copies are kept: %w", p.To, p.From, p.To, err)
	}
	return last, err
}

// changedSince adds to changed the users the filter selects that db's
// outbox shows changed after seq, up to the outbox head it reads first,
// and returns the last sequence number read. An outbox that misses rows
// below that head (trimmed) is an error wrapping move.ErrOutboxGap.
func changedSince(ctx context.Context, db *sql.DB, seq uint64, filter func(int64) bool, changed map[int64]bool) (uint64, error) {
	head, err := move.SourceHead(ctx, db)
	if err != nil {
		return seq, err
	}
	for seq < head {
		users, last, err := move.ChangedUsers(ctx, db, seq, filter, 0)
		if err != nil {
			return seq, err
		}
		if last == seq {
			return seq, fmt.Errorf("%w: the outbox ends at %d, its head is %d", move.ErrOutboxGap, seq, head)
		}
		for _, u := range users {
			changed[u] = true
		}
		seq = last
	}
	return seq, nil
}

// cleanup deletes the old copies once the grace period has passed and
// every alive node serves the settled map (no node still routes a moving
// user to its old shard); it waits for them at most CutoverWait at a time,
// retrying until they do.
func (w *workflow) cleanup(ctx context.Context) error {
	st := &w.r.State
	if st.SettledAt.IsZero() { // recorded before the settled commit since; not by older runs
		st.SettledAt = time.Now().UTC()
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	if wait := time.Until(st.SettledAt.Add(w.c.cfg.Grace)); wait > 0 && !sleep(ctx, wait) {
		return ctx.Err()
	}
	if behind, err := w.awaitEpoch(ctx, st.SettledEpoch); err != nil {
		return err
	} else if behind != nil {
		return fmt.Errorf("reshard: nodes %s do not serve the settled map (epoch %d) yet; the old copies are kept until they do",
			strings.Join(behind, ", "), st.SettledEpoch)
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
