package reshard

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// failedWhileCopying is a workflow removing shard-1 that copied its users
// to shard-0 and failed before the cutover; it returns the record and the
// users moved.
func failedWhileCopying(t *testing.T, e *env) (*record, []int64) {
	t.Helper()
	ctx := context.Background()
	users := e.users("shard-1", 1, 40)
	e.writeUsers(e.d.Direct(t, "shard-1"), users, "ada")
	r := e.record(Copying)
	e.commit(r.State.Joined)
	r.State.JoinedCommitted = true
	e.insert(r)
	w := e.workflow(r)
	if err := w.copy(ctx); err != nil {
		t.Fatalf("copy: %v", err)
	}
	if n := count(t, e, "shard-0", users); n != len(users) {
		t.Fatalf("%d of %d users copied to shard-0", n, len(users))
	}
	if err := w.fail(ctx, fatalf("reshard: something broke")); err == nil || r.Phase != Failed {
		t.Fatalf("fail: %v, phase %s", err, r.Phase)
	}
	return r, users
}

// count is how many of users have a users row on shard.
func count(t *testing.T, e *env, shard string, users []int64) int {
	t.Helper()
	n := 0
	for _, u := range users {
		var k int
		if err := e.d.Direct(t, shard).QueryRow("SELECT COUNT(*) FROM users WHERE user_id = ?", u).Scan(&k); err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

func TestAbortRollsBackAWorkflowThatFailedBeforeItsCutover(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r, users := failedWhileCopying(t, e)
	own := e.users("shard-0", 1, 20)
	e.writeUsers(e.d.Direct(t, "shard-0"), own, "bo")
	failedMap, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	st, err := e.c.Abort(ctx, r.ID)
	if err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if st.Phase != Aborted || st.ToEpoch != failedMap.Epoch+1 || st.Error == "" {
		t.Fatalf("status after Abort: %+v", st)
	}
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Epoch != failedMap.Epoch+1 || cur.Freeze || !sameLayout(cur, r.State.Start) {
		t.Fatalf("map after Abort: %s %+v, want the start's layout at epoch %d", describe(cur), cur.Shards, failedMap.Epoch+1)
	}
	for _, s := range cur.Shards {
		if s.State != shardmap.Serving {
			t.Fatalf("shard %s is %s after Abort", s.ID, s.State)
		}
	}
	if n := count(t, e, "shard-0", users); n != 0 {
		t.Fatalf("%d copies left on shard-0 after Abort", n)
	}
	if n := count(t, e, "shard-1", users); n != len(users) {
		t.Fatalf("%d of %d users still on shard-1 after Abort", n, len(users))
	}
	if n := count(t, e, "shard-0", own); n != len(own) {
		t.Fatalf("%d of shard-0's own %d users left after Abort", n, len(own))
	}

	// Again: the same answer, nothing more committed.
	if again, err := e.c.Abort(ctx, r.ID); err != nil || again.Phase != Aborted {
		t.Fatalf("second Abort: %+v %v", again, err)
	}
	if m, _ := e.maps.Load(ctx); m.Epoch != cur.Epoch {
		t.Fatalf("a second Abort committed epoch %d", m.Epoch)
	}
	// The next workflow may start.
	if _, err := e.c.Start(ctx, Request{Kind: Remove, Shard: shardmap.Shard{ID: "shard-1"}}); err != nil {
		t.Fatalf("Start after Abort: %v", err)
	}
}

func TestAbortRefuses(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.c.Abort(ctx, 12345); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown id: %v, want ErrNotFound", err)
	}
	r, _ := failedWhileCopying(t, e)

	// The map changed since it failed, to neither the workflow's map nor
	// the one it started from.
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fixed := cur.Clone()
	fixed.Epoch++
	for i := range fixed.Shards {
		fixed.Shards[i].State = shardmap.Serving
	}
	fixed.Shards[0].Weight = 2
	e.commit(fixed)
	if _, err := e.c.Abort(ctx, r.ID); !errors.Is(err, ErrCannotAbort) {
		t.Fatalf("Abort after the map changed: %v, want ErrCannotAbort", err)
	}
	if m, _ := e.maps.Load(ctx); m.Epoch != fixed.Epoch {
		t.Fatalf("a refused Abort committed epoch %d", m.Epoch)
	}
	if got, _ := e.c.Get(ctx, r.ID); got.Phase != Failed {
		t.Fatalf("a refused Abort left the workflow %s", got.Phase)
	}

	// One that cut over keeps its old copies for the operator.
	cut := e.record(Failed)
	cut.State.SettledEpoch = fixed.Epoch
	e.insert(cut)
	if err := e.c.store.finish(ctx, cut, e.c.owner); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Abort(ctx, cut.ID); !errors.Is(err, ErrCannotAbort) {
		t.Fatalf("Abort of a workflow that cut over: %v, want ErrCannotAbort", err)
	}
	// An older one is not the latest.
	if _, err := e.c.Abort(ctx, r.ID); !errors.Is(err, ErrCannotAbort) || !strings.Contains(err.Error(), "not the latest") {
		t.Fatalf("Abort of an older workflow: %v, want ErrCannotAbort", err)
	}
	// A running one is not failed.
	running := e.record(Copying)
	e.insert(running)
	if _, err := e.c.Abort(ctx, running.ID); !errors.Is(err, ErrCannotAbort) {
		t.Fatalf("Abort of a running workflow: %v, want ErrCannotAbort", err)
	}
}

// TestAbortFinishesARollbackTheMapAlreadyHas: the map is back where the
// workflow started (an earlier Abort committed it and stopped, or the
// operator put it back): Abort deletes the copies and records the end.
func TestAbortFinishesARollbackTheMapAlreadyHas(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r, users := failedWhileCopying(t, e)
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	back := r.State.Start.Clone()
	back.Epoch = cur.Epoch + 1
	e.commit(back)
	st, err := e.c.Abort(ctx, r.ID)
	if err != nil || st.Phase != Aborted || st.ToEpoch != back.Epoch {
		t.Fatalf("Abort: %+v %v", st, err)
	}
	if n := count(t, e, "shard-0", users); n != 0 {
		t.Fatalf("%d copies left on shard-0", n)
	}
	if m, _ := e.maps.Load(ctx); m.Epoch != back.Epoch {
		t.Fatalf("Abort committed epoch %d over a map already back", m.Epoch)
	}
}

// TestAbortCommitsARollbackAnEarlierAbortRecorded: an Abort that stopped
// after recording the workflow aborted and before committing the map is
// finished by the next.
func TestAbortCommitsARollbackAnEarlierAbortRecorded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r, _ := failedWhileCopying(t, e)
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.Phase, r.State.AbortedEpoch = Aborted, cur.Epoch+1
	if err := e.c.store.aborted(ctx, r); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.Abort(ctx, r.ID)
	if err != nil || st.Phase != Aborted || st.ToEpoch != cur.Epoch+1 {
		t.Fatalf("Abort: %+v %v", st, err)
	}
	m, err := e.maps.Load(ctx)
	if err != nil || m.Epoch != cur.Epoch+1 || !sameLayout(m, r.State.Start) {
		t.Fatalf("map after Abort: %+v %v", m, err)
	}
}

// TestAbortOfAnAddWhoseShardIsGone: the shard an Add brought is
// unreachable (why it failed, say): its copies cannot be deleted, and need
// not be — it leaves the map.
func TestAbortOfAnAddWhoseShardIsGone(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cur, err := e.maps.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Kind: Add, Shard: shardmap.Shard{ID: "shard-2", Address: nobodyListens(t), Weight: 1}}
	joined, err := e.c.joined(cur, &req)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(joined, e.c.cfg.RingOptions)
	if err != nil {
		t.Fatal(err)
	}
	r := &record{ID: uint64(e.c.cfg.IDs.Next()), Kind: Add, Shard: "shard-2", Phase: Copying, State: state{Request: req, Start: cur, Joined: joined, JoinedCommitted: true}}
	for _, f := range p.delta.Summary {
		r.State.Pairs = append(r.State.Pairs, pairState{Pair: Pair{From: f.From, To: f.To, Fraction: f.Fraction}})
	}
	e.commit(joined)
	e.insert(r)
	r.Phase, r.Error = Failed, "reshard: copy to shard-2: connection refused"
	if err := e.c.store.finish(ctx, r, e.c.owner); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.Abort(ctx, r.ID)
	if err != nil || st.Phase != Aborted {
		t.Fatalf("Abort: %+v %v", st, err)
	}
	m, err := e.maps.Load(ctx)
	if err != nil || len(m.Shards) != 2 || !sameLayout(m, cur) {
		t.Fatalf("map after Abort: %+v %v", m, err)
	}
}

// nobodyListens is a loopback address nothing listens on.
func nobodyListens(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
