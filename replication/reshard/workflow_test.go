package reshard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/replication/reshard/move"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// These tests drive the workflow's steps on a real deployment (MariaDB
// servers from internal/testenv): a cluster of one core node whose gossip
// is the control table itself (every committed map is served at once).

var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// casMaps commits straight to the control table.
type casMaps struct{ *control.Store }

func (s casMaps) Commit(ctx context.Context, expect uint64, next *shardmap.Map) error {
	return s.CompareAndSwap(ctx, expect, next)
}

type env struct {
	t    *testing.T
	d    *shardtest.Cluster
	maps *control.Store
	c    *Coordinator
	// members, when set, replaces the default membership: core-0
	// announcing the stored epoch.
	members atomic.Pointer[func(stored *shardmap.Map) []Member]
}

func newEnv(t *testing.T, tune func(*Config)) *env {
	t.Helper()
	e := &env{t: t, d: shardtest.Start(t, shardtest.Options{Shards: 2})}
	global := e.d.Direct(t, exec.GlobalTarget)
	e.maps = control.NewStore(global)
	gen, err := ids.New(1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Node: "core-0", Global: global, Maps: casMaps{e.maps}, IDs: gen, Logger: quietLog,
		PollInterval: 50 * time.Millisecond, Grace: 10 * time.Millisecond, CutoverWait: time.Second,
		Members: func() []Member {
			m, err := e.maps.Load(context.Background())
			if err != nil {
				return nil
			}
			if f := e.members.Load(); f != nil {
				return (*f)(m)
			}
			return []Member{{Name: "core-0", Epoch: m.Epoch}}
		},
	}
	if tune != nil {
		tune(&cfg)
	}
	if e.c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.c.Shutdown(context.Background()) })
	return e
}

// record is a workflow removing shard-1 (its users move to shard-0), as
// Start records it, in phase; not stored.
func (e *env) record(phase Phase) *record {
	e.t.Helper()
	cur, err := e.maps.Load(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	req := Request{Kind: Remove, Shard: shardmap.Shard{ID: "shard-1"}}
	joined, err := e.c.joined(cur, &req)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := newPlan(joined, ring.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	r := &record{ID: uint64(e.c.cfg.IDs.Next()), Kind: Remove, Shard: "shard-1", Phase: phase, State: state{Request: req, Start: cur, Joined: joined}}
	for _, f := range p.delta.Summary {
		r.State.Pairs = append(r.State.Pairs, pairState{Pair: Pair{From: f.From, To: f.To, Fraction: f.Fraction}})
	}
	if len(r.State.Pairs) != 1 {
		e.t.Fatalf("pairs %+v, want shard-1→shard-0", r.State.Pairs)
	}
	return r
}

// insert stores r, owned by this coordinator.
func (e *env) insert(r *record) {
	e.t.Helper()
	if err := e.c.store.insert(context.Background(), r, e.c.owner); err != nil {
		e.t.Fatal(err)
	}
}

// workflow is a run of r on this node, for calling its steps.
func (e *env) workflow(r *record) *workflow {
	e.t.Helper()
	w := &workflow{c: e.c, r: r, pools: map[string]*sql.DB{}, tables: map[string][]move.Table{}}
	var err error
	if w.plan, err = newPlan(r.State.Joined, e.c.cfg.RingOptions); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.close)
	return w
}

// commit stores m after the stored map.
func (e *env) commit(m *shardmap.Map) {
	e.t.Helper()
	if err := e.maps.CompareAndSwap(context.Background(), m.Epoch-1, m); err != nil {
		e.t.Fatal(err)
	}
}

// users returns n users the original map places on shard, from id from on.
func (e *env) users(shard string, from int64, n int) []int64 {
	var out []int64
	for u := from; len(out) < n; u++ {
		u = e.d.UserOn(shard, u)
		out = append(out, u)
	}
	return out
}

// writeUsers upserts a users row for each user on db, named name.
func (e *env) writeUsers(db *sql.DB, users []int64, name string) {
	e.t.Helper()
	for len(users) > 0 {
		n := min(len(users), 500)
		var b strings.Builder
		b.WriteString("INSERT INTO users (user_id, name, email, phone, role, created_at, updated_at) VALUES ")
		args := make([]any, 0, 2*n)
		for i, u := range users[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, '', '', 'customer', '2026-01-01', '2026-01-01')")
			args = append(args, u, name)
		}
		b.WriteString(" ON DUPLICATE KEY UPDATE name = VALUES(name)")
		if _, err := db.Exec(b.String(), args...); err != nil {
			e.t.Fatal(err)
		}
		users = users[n:]
	}
}

// appendChanges writes one outbox change per user on db, as the outbox
// writer does (the counter and the rows in one transaction).
func (e *env) appendChanges(db *sql.DB, users []int64) {
	e.t.Helper()
	tx, err := db.Begin()
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback()
	var seq uint64
	if err := tx.QueryRow("SELECT seq FROM cq_change_seq WHERE singleton = 1 FOR UPDATE").Scan(&seq); err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		seq++
		if _, err := tx.Exec("INSERT INTO cq_changes (seq, user_id, surrogate_keys, payload, created_at) VALUES (?, ?, '', '{}', UTC_TIMESTAMP(6))", seq, u); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := tx.Exec("UPDATE cq_change_seq SET seq = ? WHERE singleton = 1", seq); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

// await polls workflow id until cond holds, failing after timeout.
func (e *env) await(id uint64, timeout time.Duration, what string, cond func(*record) bool) *record {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := e.c.store.get(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("workflow %d: %s: not within %s (phase %s, error %q, state %+v)", id, what, timeout, r.Phase, r.Error, r.State)
		}
		time.Sleep(10 * time.Millisecond) // polling the record
	}
}

func (e *env) history() []*shardmap.Map {
	e.t.Helper()
	h, err := e.maps.History(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]*shardmap.Map, len(h))
	for i, en := range h {
		out[i] = en.Map
	}
	return out
}

// describe is a map's history entry in short: "3 frozen moving".
func describe(m *shardmap.Map) string {
	s := fmt.Sprint(m.Epoch)
	if m.Freeze {
		s += " frozen"
	}
	if moving(m) {
		s += " moving"
	}
	return s
}

func describeAll(ms []*shardmap.Map) []string {
	var out []string
	for _, m := range ms {
		out = append(out, describe(m))
	}
	return out
}

func isFatal(err error) bool {
	f := (*fatal)(nil)
	return errors.As(err, &f)
}

// TestVerifyComparesEveryUserDespiteWrittenOnes: verification leaves out
// the users the target wrote since the cutover before it compares, so that
// more than move.MaxMismatches of them cannot make it stop early and pass
// without having compared the users after them.
func TestVerifyComparesEveryUserDespiteWrittenOnes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	src, dst := e.d.Direct(t, "shard-1"), e.d.Direct(t, "shard-0")
	written := e.users("shard-1", 1, move.MaxMismatches+10)
	rest := e.users("shard-1", written[len(written)-1]+1, 20)
	hidden := rest[10] // differs, and the target's outbox does not name it
	all := append(append([]int64{}, written...), rest...)
	e.writeUsers(src, all, "copied")
	e.writeUsers(dst, all, "copied")
	e.writeUsers(dst, written, "written after the cutover")
	e.writeUsers(dst, []int64{hidden}, "lost update")

	r := e.record(Verifying)
	p := &r.State.Pairs[0]
	p.HeadSet, p.Copied, p.TargetHeadSet = true, true, true
	if p.TargetHead, _ = move.SourceHead(ctx, dst); p.TargetHead != 0 {
		t.Fatalf("target head %d", p.TargetHead)
	}
	e.appendChanges(dst, written)
	e.insert(r)
	w := e.workflow(r)

	err := w.verify(ctx)
	if !isFatal(err) || !strings.Contains(err.Error(), fmt.Sprintf("user %d:", hidden)) || !strings.Contains(err.Error(), "1 users differ") {
		t.Fatalf("verify: %v; want a fatal error naming user %d alone", err, hidden)
	}
	if p.Verified || r.Phase != Verifying || p.Mismatches != 1 {
		t.Fatalf("after a mismatch: verified %v, phase %s, mismatches %d", p.Verified, r.Phase, p.Mismatches)
	}

	e.writeUsers(dst, []int64{hidden}, "copied")
	if err := w.verify(ctx); err != nil {
		t.Fatalf("verify with only written users differing: %v", err)
	}
	if !p.Verified || r.Phase != Cleanup || p.Mismatches != 0 {
		t.Fatalf("after a clean verify: verified %v, phase %s, mismatches %d", p.Verified, r.Phase, p.Mismatches)
	}
}

// TestVerifyStoppedAtTheLimitFails: a Verify that stops at its mismatch
// limit never verifies the pair.
func TestVerifyStoppedAtTheLimitFails(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	src := e.d.Direct(t, "shard-1")
	e.writeUsers(src, e.users("shard-1", 1, move.MaxMismatches+5), "never copied")
	r := e.record(Verifying)
	p := &r.State.Pairs[0]
	p.HeadSet, p.Copied, p.TargetHeadSet = true, true, true
	e.insert(r)
	err := e.workflow(r).verify(ctx)
	if !isFatal(err) || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("verify: %v; want a fatal error saying it stopped", err)
	}
	if p.Verified {
		t.Fatal("a verification that stopped short verified the pair")
	}
}

// TestTrimmedOutboxIsAGap: outbox rows missing below the head (deleted
// before they were read) restart the pair's copy, and make the users the
// target wrote unknowable rather than none.
func TestTrimmedOutboxIsAGap(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	src := e.d.Direct(t, "shard-1")
	users := e.users("shard-1", 1, 5)
	e.appendChanges(src, users)
	if _, err := src.Exec("DELETE FROM cq_changes"); err != nil {
		t.Fatal(err)
	}

	r := e.record(CatchingUp)
	p := &r.State.Pairs[0]
	p.HeadSet, p.Copied, p.Scanned = true, true, 42
	e.insert(r)
	w := e.workflow(r)
	if err := w.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if r.Phase != Copying || p.HeadSet || p.Copied || p.Cursor != 0 || p.Scanned != 0 {
		t.Fatalf("after a gap: phase %s, pair %+v; want the pair copied again", r.Phase, *p)
	}

	_, err := changedSince(ctx, src, 0, nil, map[int64]bool{})
	if !errors.Is(err, move.ErrOutboxGap) {
		t.Fatalf("changedSince over a trimmed outbox: %v, want ErrOutboxGap", err)
	}
	r.Phase = Verifying
	p.HeadSet, p.Copied, p.TargetHeadSet = true, true, true
	r.State.Pairs[0].From, r.State.Pairs[0].To = "shard-0", "shard-1" // shard-1's outbox as the target's
	if err := w.verifyPair(ctx, p); !isFatal(err) || !errors.Is(err, move.ErrOutboxGap) {
		t.Fatalf("verify over a trimmed target outbox: %v, want a fatal gap", err)
	}
}

// TestKeepProtectsTargetsUntilVerified: the relay keeps a source's outbox
// from the catch-up's cursor until the cutover ends, and the target's after
// TargetHead (even 0) until the pair is verified.
func TestKeepProtectsTargetsUntilVerified(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r := e.record(Preparing)
	e.insert(r)
	p := &r.State.Pairs[0]
	check := func(phase Phase, set func(p *pairState), want map[string]any) {
		t.Helper()
		r.Phase = phase
		set(p)
		if err := e.c.store.save(ctx, r, e.c.owner); err != nil {
			t.Fatal(err)
		}
		for _, ks := range []string{"shard-0", "shard-1"} {
			first, ok, err := e.c.Keep(ctx, ks)
			if err != nil {
				t.Fatal(err)
			}
			var got any = "nothing"
			if ok {
				got = first
			}
			if got != want[ks] {
				t.Errorf("%s, pair %+v: Keep(%s) = %v, want %v", phase, *p, ks, got, want[ks])
			}
		}
	}
	check(Copying, func(p *pairState) {}, map[string]any{"shard-1": uint64(0), "shard-0": "nothing"})
	check(CatchingUp, func(p *pairState) { p.HeadSet, p.Head, p.Cursor = true, 3, 7 }, map[string]any{"shard-1": uint64(8), "shard-0": "nothing"})
	check(Cutover, func(p *pairState) {}, map[string]any{"shard-1": uint64(8), "shard-0": "nothing"})
	check(Cutover, func(p *pairState) { p.TargetHeadSet, p.TargetHead = true, 0 }, map[string]any{"shard-1": uint64(8), "shard-0": uint64(1)})
	check(Verifying, func(p *pairState) { p.TargetHead = 12 }, map[string]any{"shard-1": "nothing", "shard-0": uint64(13)})
	check(Verifying, func(p *pairState) { p.Verified = true }, map[string]any{"shard-1": "nothing", "shard-0": "nothing"})
	check(Cleanup, func(p *pairState) { p.Verified = false }, map[string]any{"shard-1": "nothing", "shard-0": "nothing"})
}

// TestReleasedCutoverLiftsTheFreeze: a cutover whose last changes outlast
// CutoverBudget is released at once (the map without the freeze follows
// the frozen one), the next waits Cutovers × 1 s after it, and a node with
// a budget that suffices finishes the workflow.
func TestReleasedCutoverLiftsTheFreeze(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CutoverBudget = time.Nanosecond })
	ctx := context.Background()
	moved := e.users("shard-1", 1, 30)
	e.writeUsers(e.d.Direct(t, "shard-1"), moved, "moving")
	st, err := e.c.Start(ctx, Request{Kind: Remove, Shard: shardmap.Shard{ID: "shard-1"}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.await(st.ID, time.Minute, "two cutovers released", func(r *record) bool {
		return r.State.Cutovers >= 2 && r.State.FrozenEpoch == 0 || r.Phase.Final()
	})
	if r.Phase != CatchingUp || !strings.Contains(r.Error, "cutover budget") {
		t.Fatalf("after released cutovers: phase %s, error %q", r.Phase, r.Error)
	}
	h, err := e.maps.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// epochs: start, joined, then (frozen, lifted) per cutover.
	var released []time.Time
	for i, en := range h {
		if !en.Map.Freeze {
			continue
		}
		if i+1 >= len(h) {
			break
		}
		next := h[i+1].Map
		if next.Freeze || !moving(next) || !sameLayout(next, en.Map) {
			t.Fatalf("frozen epoch %d was followed by %s, want the same map without the freeze", en.Map.Epoch, describe(next))
		}
		if len(released) > 0 {
			if gap := en.CommittedAt.Sub(released[len(released)-1]); gap < time.Duration(len(released))*cutoverBackoff-50*time.Millisecond {
				t.Errorf("cutover %d froze %v after the last release, want ≥ %v", len(released)+1, gap, time.Duration(len(released))*cutoverBackoff)
			}
		}
		released = append(released, h[i+1].CommittedAt)
	}
	if len(released) < 2 {
		t.Fatalf("history %v: want two released cutovers", describeAll(e.history()))
	}

	// A node with the default budget takes over and finishes.
	if err := e.c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e2 := &env{t: t, d: e.d, maps: e.maps}
	cfg := e.c.cfg
	cfg.Node, cfg.CutoverBudget, cfg.Logger = "core-1", 0, quietLog
	cfg.Members = func() []Member {
		m, err := e.maps.Load(context.Background())
		if err != nil {
			return nil
		}
		return []Member{{Name: "core-1", Epoch: m.Epoch}}
	}
	if e2.c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e2.c.Shutdown(context.Background()) })
	e2.c.Run()
	r = e2.await(st.ID, time.Minute, "done", func(r *record) bool { return r.Phase.Final() })
	if r.Phase != Done {
		t.Fatalf("workflow ended %s: %s", r.Phase, r.Error)
	}
	final, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if final.Freeze || moving(final) || len(final.Shards) != 1 {
		t.Fatalf("final map %+v", final)
	}
}

// TestResumeLiftsAFreezeLeftBehind: whatever point a run stopped at, the
// run that resumes it never copies or catches up under a freeze, and
// recognises the map an earlier run committed to lift it.
func TestResumeLiftsAFreezeLeftBehind(t *testing.T) {
	for _, tc := range []struct {
		name string
		// phase and lifted: what the stopped run left. The frozen map is
		// committed; lifted says the map lifting it is too.
		phase  Phase
		lifted bool
	}{
		{"release recorded, freeze not lifted", CatchingUp, false},
		{"pair restart recorded, freeze not lifted", Copying, false},
		{"freeze lifted, release not recorded", Cutover, true},
		{"release recorded, freeze lifted, not adopted", CatchingUp, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			e.writeUsers(e.d.Direct(t, "shard-1"), e.users("shard-1", 1, 20), "moving")
			r := e.record(tc.phase)
			st := &r.State
			e.commit(st.Joined)
			frozen := st.Joined.Clone()
			frozen.Epoch++
			frozen.Freeze = true
			e.commit(frozen)
			st.JoinedCommitted, st.FrozenEpoch, st.Cutovers = true, frozen.Epoch, 1
			if tc.lifted {
				open := frozen.Clone()
				open.Epoch++
				open.Freeze = false
				e.commit(open)
			}
			p := &st.Pairs[0]
			if tc.phase != Copying {
				head, err := move.SourceHead(ctx, e.d.Direct(t, "shard-1"))
				if err != nil {
					t.Fatal(err)
				}
				w := e.workflow(r) // copy the pair as the stopped run did
				src, dst, tables, err := w.pair(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				cp, err := move.NewCopier(move.Config{Source: src, Target: dst, Tables: tables, Filter: w.plan.filter(p.From, p.To)})
				if err != nil {
					t.Fatal(err)
				}
				if p.Copy, err = cp.Copy(ctx, move.Progress{}); err != nil {
					t.Fatal(err)
				}
				p.HeadSet, p.Head, p.Cursor, p.Copied = true, head, head, true
			}
			e.insert(r)
			e.c.Run() // resumes the workflow this process owns and does not run
			r = e.await(r.ID, time.Minute, "done", func(r *record) bool { return r.Phase.Final() })
			if r.Phase != Done {
				t.Fatalf("workflow ended %s: %s", r.Phase, r.Error)
			}
			h := e.history()
			got := describeAll(h[len(h)-4:])
			e0 := frozen.Epoch
			want := []string{fmt.Sprint(e0, " frozen moving"), fmt.Sprint(e0+1, " moving"), fmt.Sprint(e0+2, " frozen moving"), fmt.Sprint(e0 + 3)}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Fatalf("map history ends %v, want %v", got, want)
			}
		})
	}
}

// TestFailLiftsTheFreeze: a workflow that fails during its cutover lifts
// its freeze before it ends Failed.
func TestFailLiftsTheFreeze(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r := e.record(Cutover)
	st := &r.State
	e.commit(st.Joined)
	frozen := st.Joined.Clone()
	frozen.Epoch++
	frozen.Freeze = true
	e.commit(frozen)
	st.JoinedCommitted, st.FrozenEpoch, st.Cutovers = true, frozen.Epoch, 1
	e.insert(r)
	err := e.workflow(r).fail(ctx, fatalf("reshard: something broke"))
	if err == nil || r.Phase != Failed {
		t.Fatalf("fail: %v, phase %s", err, r.Phase)
	}
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Freeze || cur.Epoch != frozen.Epoch+1 || !sameLayout(cur, frozen) {
		t.Fatalf("map after the failure: %s, want %d without the freeze", describe(cur), frozen.Epoch+1)
	}
	stored, err := e.c.store.get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Phase != Failed || stored.State.FrozenEpoch != 0 || !strings.Contains(stored.Error, "something broke") {
		t.Fatalf("stored: %s %q frozen %d", stored.Phase, stored.Error, stored.State.FrozenEpoch)
	}
}

// TestCleanupWaitsForEveryNodeToServeTheSettledMap: past the grace, the
// old copies stay until every alive node announces the settled epoch.
func TestCleanupWaitsForEveryNodeToServeTheSettledMap(t *testing.T) {
	var caughtUp atomic.Bool
	e := newEnv(t, func(c *Config) { c.CutoverWait = 200 * time.Millisecond })
	e.members.Store(new(func(m *shardmap.Map) []Member {
		lagging := m.Epoch
		if !moving(m) && !caughtUp.Load() { // core-1 still serves the frozen map
			lagging--
		}
		return []Member{{Name: "core-0", Epoch: m.Epoch}, {Name: "core-1", Epoch: lagging}}
	}))
	ctx := context.Background()
	src := e.d.Direct(t, "shard-1")
	moved := e.users("shard-1", 1, 20)
	e.writeUsers(src, moved, "moving")
	st, err := e.c.Start(ctx, Request{Kind: Remove, Shard: shardmap.Shard{ID: "shard-1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.await(st.ID, time.Minute, "cleanup waiting for core-1", func(r *record) bool {
		return r.Phase == Cleanup && strings.Contains(r.Error, "core-1 do not serve the settled map") || r.Phase.Final()
	})
	var n int
	if err := src.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != len(moved) {
		t.Fatalf("old copies while a node lags: %d users (%v), want %d", n, err, len(moved))
	}
	caughtUp.Store(true)
	r := e.await(st.ID, time.Minute, "done", func(r *record) bool { return r.Phase.Final() })
	if r.Phase != Done {
		t.Fatalf("workflow ended %s: %s", r.Phase, r.Error)
	}
	if err := src.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Fatalf("old copies after the cleanup: %d users (%v)", n, err)
	}
	if r.State.SettledAt.IsZero() || r.State.Hold <= 0 {
		t.Fatalf("settled at %v, hold %v", r.State.SettledAt, r.State.Hold)
	}
}

// TestRenewStopsTheRunBeforeTheLeaseCanExpire: a renewal that hangs (the
// row locked here) stops the run within LeaseTTL/2 of the last successful
// attempt, before any other node could take the lease; a lease taken by
// another node stops it at the next renewal.
func TestRenewStopsTheRunBeforeTheLeaseCanExpire(t *testing.T) {
	const ttl = 1200 * time.Millisecond
	e := newEnv(t, func(c *Config) { c.LeaseTTL = ttl })
	ctx := context.Background()
	global := e.d.Direct(t, exec.GlobalTarget)
	run := func(r *record) (leased time.Time, stopped <-chan time.Time, cancelRun context.CancelFunc) {
		leased = time.Now()
		e.insert(r)
		rctx, cancel := context.WithCancel(ctx)
		lost := make(chan struct{})
		at := make(chan time.Time, 1)
		go func() {
			e.c.renew(rctx, r.ID, leased, cancel, lost)
			select {
			case <-lost:
				at <- time.Now()
			default:
				close(at)
			}
		}()
		return leased, at, cancel
	}
	finish := func(r *record) { // let the next test insert one
		if _, err := global.Exec("UPDATE cq_reshards SET running = NULL WHERE id = ?", int64(r.ID)); err != nil {
			t.Fatal(err)
		}
	}

	// Renewals that succeed keep the run going past the TTL.
	r := e.record(Copying)
	_, stopped, cancel := run(r)
	select {
	case at := <-stopped:
		t.Fatalf("the run stopped at %v with the lease renewed", at)
	case <-time.After(2 * ttl):
	}
	cancel()
	if got, ok := <-stopped; ok {
		t.Fatalf("a cancelled run reports its lease lost at %v", got)
	}
	finish(r)

	// Another node took the lease.
	r = e.record(Copying)
	_, stopped, cancel = run(r)
	defer cancel()
	if _, err := global.Exec("UPDATE cq_reshards SET owner = 'core-9/abcdef' WHERE id = ?", int64(r.ID)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(ttl):
		t.Fatal("the run went on after another node took its lease")
	}
	finish(r)

	// A global database that stops answering renewals.
	tx, err := global.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	r = e.record(Copying)
	leased, stopped, cancel := run(r)
	defer cancel()
	if _, err := tx.Exec("SELECT * FROM cq_reshards WHERE id = ? FOR UPDATE", int64(r.ID)); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-stopped:
		// The last renewal that succeeded began at leased or later; the
		// lock came after at most one.
		if took := at.Sub(leased); took > ttl/2+ttl/renewEvery+100*time.Millisecond {
			t.Errorf("the run stopped %v after the lease began, want about %v (≤ %v), well before %v", took, ttl/2, ttl/2+ttl/renewEvery, ttl)
		}
	case <-time.After(ttl):
		t.Fatal("the run went on past the lease's TTL while its renewals hung")
	}
}

// TestRestartedNodeWaitsForItsPredecessorsLease: a new process of a node
// does not take the live lease of the previous process of the same name
// for its own; it resumes the workflow once that lease expires. Status
// names the node, not the process.
func TestRestartedNodeWaitsForItsPredecessorsLease(t *testing.T) {
	const ttl = time.Second
	e := newEnv(t, func(c *Config) { c.LeaseTTL, c.Grace = ttl, time.Hour })
	ctx := context.Background()
	r := e.record(Cleanup) // waits for the grace: the owner stays
	r.State.SettledAt = time.Now().UTC()
	predecessor := "core-0/0a1b2c"
	if predecessor == e.c.owner { // this process drew the same random tag
		predecessor = "core-0/ffffff"
	}
	leased := time.Now()
	if err := e.c.store.insert(ctx, r, predecessor); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.Get(ctx, r.ID)
	if err != nil || st.Owner != "core-0" {
		t.Fatalf("status owner %q (%v), want core-0", st.Owner, err)
	}
	e.c.Run()
	r = e.await(r.ID, time.Minute, "taken over", func(r *record) bool { return r.Owner != predecessor })
	if took := time.Since(leased); took < ttl {
		t.Fatalf("the predecessor's lease was taken %v after it was granted, before its TTL %v", took, ttl)
	}
	if r.Owner != e.c.owner || !strings.HasPrefix(r.Owner, "core-0/") || nodeOf(r.Owner) != "core-0" {
		t.Fatalf("owner %q, want %q", r.Owner, e.c.owner)
	}
	if st := r.status(); st.Owner != "core-0" {
		t.Fatalf("status owner %q", st.Owner)
	}
}

func TestNodeOf(t *testing.T) {
	for in, want := range map[string]string{
		"core-0/1a2b3c": "core-0", "core-0": "core-0", "a/b/0a0b0c": "a/b", "core-0/xyzxyz": "core-0/xyzxyz", "core-0/1a2b": "core-0/1a2b", "": "",
	} {
		if got := nodeOf(in); got != want {
			t.Errorf("nodeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestANodeGossipLostCannotWriteMovedUsers: a node the coordinator does
// not know of (gossip lost it) and that still serves the map from before
// the workflow writes to the old shard until the cutover; from the cutover
// on, the old shard's fence refuses it, so no write can land where the
// users no longer live.
func TestANodeGossipLostCannotWriteMovedUsers(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Grace = time.Minute })
	ctx := context.Background()
	stale := e.d.Exec // never told of a newer map
	moved := e.users("shard-1", 1, 10)
	e.writeUsers(e.d.Direct(t, "shard-1"), moved, "moving")
	write := func(u int64) error {
		tx, err := stale.Begin(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.Exec(ctx, "UPDATE users SET name = 'late' WHERE user_id = ?", u); err != nil {
			return err
		}
		if _, err := outbox.Append(ctx, tx, outbox.Change{UserID: u, SurrogateKeys: []string{"user:x"}}); err != nil {
			return err
		}
		return tx.Commit()
	}
	if err := write(moved[0]); err != nil {
		t.Fatalf("before the workflow: %v", err)
	}
	st, err := e.c.Start(ctx, Request{Kind: Remove, Shard: shardmap.Shard{ID: "shard-1"}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.await(st.ID, time.Minute, "cut over", func(r *record) bool { return r.Phase == Cleanup || r.Phase.Final() })
	if r.Phase != Cleanup {
		t.Fatalf("workflow %s: %s", r.Phase, r.Error)
	}
	if err := write(moved[1]); !errors.Is(err, outbox.ErrFenced) {
		t.Fatalf("a write of the map before the cutover, after it: %v, want outbox.ErrFenced", err)
	}
	var name string
	if err := e.d.Direct(t, "shard-1").QueryRow("SELECT name FROM users WHERE user_id = ?", moved[1]).Scan(&name); err != nil || name == "late" {
		t.Fatalf("the old shard took the fenced write: name %q (%v)", name, err)
	}
}
