package app

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// holdApp is an App over ex whose writes of frozen users wait at most hold.
func holdApp(t testing.TB, ex *exec.Executor, hold time.Duration) *App {
	t.Helper()
	gen, err := ids.New(2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Exec, cfg.IDs, cfg.HoldTimeout = ex, gen, hold
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// nextMap switches ex to the next epoch of its map. With freeze it adds a
// joining shard (on the first shard's server: nothing is routed to a
// joining shard) and freezes the users that would move to it, as a
// reshard's cutover does; without, it freezes nobody.
func nextMap(t testing.TB, ex *exec.Executor, freeze bool) *shardmap.Topology {
	t.Helper()
	m := ex.Topology().Map.Clone()
	m.Epoch++
	m.Freeze = freeze
	if freeze && !slices.ContainsFunc(m.Shards, func(s shardmap.Shard) bool { return s.State == shardmap.Joining }) {
		j := m.Shards[0]
		j.ID, j.State = "shard-joining", shardmap.Joining
		m.Shards = append(m.Shards, j)
	}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.SetTopology(topo); err != nil {
		t.Fatal(err)
	}
	return topo
}

// userOn is the first user id ≥ 1 that topo places on shard and freezes
// or not.
func userOn(topo *shardmap.Topology, shard string, frozen bool) int64 {
	for u := int64(1); ; u++ {
		if topo.Owner(u) == shard && topo.Frozen(u) == frozen {
			return u
		}
	}
}

// profileRows counts user's profile rows on its shard.
func (e *env) profileRows(user int64) int {
	e.t.Helper()
	var n int
	if err := e.c.Direct(e.t, e.c.Topology.Owner(user)).QueryRow("SELECT COUNT(*) FROM users WHERE user_id = ?", user).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func profileBody(name string) map[string]any {
	return map[string]any{"name": name, "email": "ada@example.com", "phone": "+1 555 0100"}
}

func TestWriteOfAFrozenUserWaitsForTheNextMap(t *testing.T) {
	e := start(t, 2)
	a := holdApp(t, e.c.Exec, time.Minute) // long: only the new map may release it
	topo := nextMap(t, e.c.Exec, true)
	frozen, free := userOn(topo, "shard-0", true), userOn(topo, "shard-0", false) // same shard

	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- clientOf(t, a, customer(frozen)).do("PUT", "/api/v1/me", profileBody("Held")) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.HoldStats().Held == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the frozen user's write was not held")
		}
		time.Sleep(time.Millisecond)
	}

	clientOf(t, a, customer(free)).must(200, nil, "PUT", "/api/v1/me", profileBody("Free"))
	if got := a.HoldStats(); got.Held != 1 {
		t.Fatalf("hold stats %+v after a free user's write; want that write not held", got)
	}
	select {
	case w := <-done:
		t.Fatalf("the frozen user's write was answered %d before the freeze was lifted", w.Code)
	default:
	}
	if n := e.profileRows(frozen); n != 0 {
		t.Fatalf("the held write already wrote %d rows", n)
	}

	nextMap(t, e.c.Exec, false)
	select {
	case w := <-done:
		if w.Code != http.StatusOK {
			t.Fatalf("released write: %d %s", w.Code, w.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held write was not released by the map that lifts the freeze")
	}
	if n := e.profileRows(frozen); n != 1 {
		t.Fatalf("the released write left %d rows, want 1", n)
	}
	if got := a.HoldStats(); got != (HoldStats{Held: 1}) {
		t.Fatalf("hold stats %+v, want one held and none refused", got)
	}
}

func TestHeldWriteIsRefusedAfterHoldTimeout(t *testing.T) {
	e := start(t, 1)
	const hold = 200 * time.Millisecond
	a := holdApp(t, e.c.Exec, hold)
	frozen := userOn(nextMap(t, e.c.Exec, true), "shard-0", true)
	before := e.snapshot()

	began := time.Now()
	w := clientOf(t, a, customer(frozen)).do("PUT", "/api/v1/me", profileBody("Refused"))
	waited := time.Since(began)
	if w.Code != http.StatusServiceUnavailable || errorCode(t, w) != codeResharding {
		t.Fatalf("held write after the hold: %d %s; want 503 %s", w.Code, w.Body, codeResharding)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1", got)
	}
	if waited < hold {
		t.Fatalf("answered after %v, before the hold of %v", waited, hold)
	}
	if d := diff(before, e.snapshot()); len(d) > 0 {
		t.Fatalf("a refused write changed data: %v", d)
	}
	if got := a.HoldStats(); got != (HoldStats{Held: 1, Refused: 1}) {
		t.Fatalf("hold stats %+v, want one held and refused", got)
	}
}

// TestWriteFencedByTheShardWaitsForANewerMap: a node whose map is older
// than a shard's write fence (a cutover it has not heard of) writes
// nothing there; its write is held and goes through once the node serves
// a newer map.
func TestWriteFencedByTheShardWaitsForANewerMap(t *testing.T) {
	e := start(t, 1)
	a := holdApp(t, e.c.Exec, time.Minute)
	user := e.c.UserOn("shard-0", 1)
	fence := e.c.Exec.Topology().Epoch() + 1
	if _, err := e.c.Direct(t, "shard-0").Exec("UPDATE cq_change_seq SET min_epoch = ? WHERE singleton = 1", fence); err != nil {
		t.Fatal(err)
	}
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- clientOf(t, a, customer(user)).do("PUT", "/api/v1/me", profileBody("Fenced")) }()
	deadline := time.Now().Add(10 * time.Second)
	for a.HoldStats().Held == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the fenced write was not held")
		}
		time.Sleep(time.Millisecond)
	}
	if n := e.profileRows(user); n != 0 {
		t.Fatalf("the fenced write wrote %d rows", n)
	}
	nextMap(t, e.c.Exec, false)
	select {
	case w := <-done:
		if w.Code != http.StatusOK {
			t.Fatalf("write after the node learned the map: %d %s", w.Code, w.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held write was not released by the newer map")
	}
	if n := e.profileRows(user); n != 1 {
		t.Fatalf("%d rows after the release, want 1", n)
	}
}
