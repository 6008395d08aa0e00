package exec

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// nextMap is e's map at the next epoch, compiled but not applied. With
// freeze it has a joining shard (on the first shard's server: nothing is
// routed to a joining shard) and freezes the users that would move to it,
// as a reshard's cutover does; without, nobody is frozen.
func nextMap(t testing.TB, e *Executor, freeze bool) *shardmap.Topology {
	t.Helper()
	next := e.Topology().Map.Clone()
	next.Epoch++
	next.Freeze = freeze
	if freeze && !slices.ContainsFunc(next.Shards, func(s shardmap.Shard) bool { return s.State == shardmap.Joining }) {
		j := next.Shards[0]
		j.ID, j.State = "shard-joining", shardmap.Joining
		next.Shards = append(next.Shards, j)
	}
	topo, err := compile(next)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// apply switches e to topo.
func apply(t testing.TB, e *Executor, topo *shardmap.Topology) *shardmap.Topology {
	t.Helper()
	if err := e.SetTopology(topo); err != nil {
		t.Fatal(err)
	}
	return topo
}

// advance switches e to nextMap(freeze).
func advance(t testing.TB, e *Executor, freeze bool) *shardmap.Topology {
	t.Helper()
	return apply(t, e, nextMap(t, e, freeze))
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

// userRows counts user u's rows on every shard.
func (c *cluster) userRows(t testing.TB, u int64) int {
	t.Helper()
	total := 0
	for id, db := range c.direct {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM users WHERE user_id = ?", u).Scan(&n); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		total += n
	}
	return total
}

const insertUser = "INSERT INTO users (user_id, name) VALUES (?, 'n')"

func TestFrozenUserIsRefusedAndNothingIsWritten(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	topo := nextMap(t, c.e, true)
	// On the same shard: only the freeze tells them apart.
	frozen, free := userOn(topo, "shard-0", true), userOn(topo, "shard-0", false)
	apply(t, c.e, topo)

	t.Run("first statement", func(t *testing.T) {
		tx, _ := c.e.Begin(ctx, nil)
		if _, err := tx.Exec(ctx, insertUser, frozen); !errors.Is(err, ErrFrozen) {
			t.Fatalf("write of a frozen user: %v, want ErrFrozen", err)
		}
		if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("commit after the refusal: %v, want sql.ErrTxDone (rolled back)", err)
		}
	})
	t.Run("after another user's write", func(t *testing.T) {
		tx, _ := c.e.Begin(ctx, nil)
		if _, err := tx.Exec(ctx, insertUser, free); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE users SET name = 'x' WHERE user_id = ?", frozen); !errors.Is(err, ErrFrozen) {
			t.Fatalf("write of a frozen user: %v, want ErrFrozen", err)
		}
		if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
			t.Fatalf("commit after the refusal: %v, want sql.ErrTxDone (rolled back)", err)
		}
		if n := c.userRows(t, free); n != 0 {
			t.Fatalf("the rolled-back transaction left %d rows of user %d", n, free)
		}
	})
	t.Run("read inside a transaction", func(t *testing.T) {
		tx, _ := c.e.Begin(ctx, nil)
		defer tx.Rollback()
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE user_id = ?", frozen).Scan(&n); !errors.Is(err, ErrFrozen) {
			t.Fatalf("read of a frozen user in a transaction: %v, want ErrFrozen", err)
		}
	})
	t.Run("exec outside a transaction", func(t *testing.T) {
		if _, err := c.e.Exec(ctx, insertUser, frozen); !errors.Is(err, ErrFrozen) {
			t.Fatalf("write of a frozen user: %v, want ErrFrozen", err)
		}
		var n int
		if err := c.e.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE user_id = ?", frozen).Scan(&n); err != nil {
			t.Fatalf("reads outside a transaction go on: %v", err)
		}
	})
	if n := c.userRows(t, frozen); n != 0 {
		t.Fatalf("user %d is frozen but has %d rows", frozen, n)
	}

	t.Run("other users are unaffected", func(t *testing.T) {
		tx, _ := c.e.Begin(ctx, nil)
		if _, err := tx.Exec(ctx, insertUser, free); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.e.Exec(ctx, "UPDATE users SET name = 'y' WHERE user_id = ?", free); err != nil {
			t.Fatal(err)
		}
		if n := c.userRows(t, free); n != 1 {
			t.Fatalf("user %d has %d rows, want 1", free, n)
		}
	})

	advance(t, c.e, false) // lift the freeze
	tx, _ := c.e.Begin(ctx, nil)
	if _, err := tx.Exec(ctx, insertUser, frozen); err != nil {
		t.Fatalf("after the freeze was lifted: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := c.userRows(t, frozen); n != 1 {
		t.Fatalf("user %d has %d rows after the freeze was lifted, want 1", frozen, n)
	}
}

func TestDrainWaitsForTransactionsOfOlderEpochs(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	topo := nextMap(t, c.e, true)
	// users[0] is frozen by the next map, but its transaction began before.
	users := []int64{userOn(topo, "shard-0", true), userOn(topo, "shard-0", false)}

	old, _ := c.e.Begin(ctx, nil)
	defer old.Rollback()
	if _, err := old.Exec(ctx, insertUser, users[0]); err != nil {
		t.Fatal(err)
	}
	next := apply(t, c.e, topo).Epoch()
	current, _ := c.e.Begin(ctx, nil) // of the new epoch: Drain does not wait for it
	defer current.Rollback()
	if _, err := current.Exec(ctx, insertUser, users[1]); err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.e.Drain(short, next); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with a transaction of epoch %d open: %v, want the context's deadline", next-1, err)
	}

	done := make(chan error, 1)
	go func() { done <- c.e.Drain(ctx, next) }()
	if err := old.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return after the old transaction committed")
	}
	if n := c.userRows(t, users[0]); n != 1 {
		t.Fatalf("the old transaction's row: %d, want 1 (it began before the freeze)", n)
	}
}

// TestDrainMissesNoTransaction races Begin against SetTopology and Drain:
// once Drain returned, no transaction of an older epoch may be open.
func TestDrainMissesNoTransaction(t *testing.T) {
	e := lazyExecutor(t)
	ctx := context.Background()
	var drainedBelow atomic.Uint64 // Drain returned for this epoch
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				tx, _ := e.Begin(ctx, nil)
				if ep := tx.st.topo.Epoch(); ep < drainedBelow.Load() {
					t.Errorf("a transaction of epoch %d is open after Drain(%d) returned", ep, drainedBelow.Load())
				}
				tx.Commit()
			}
		})
	}
	for range 200 {
		epoch := advance(t, e, false).Epoch()
		if err := e.Drain(ctx, epoch); err != nil {
			t.Fatal(err)
		}
		drainedBelow.Store(epoch)
	}
	stop.Store(true)
	wg.Wait()
}

// lazyExecutor is an Executor whose pools never connect: enough for
// routing and transaction bookkeeping.
func lazyExecutor(t testing.TB) *Executor {
	t.Helper()
	topo, err := compile(&shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "127.0.0.1:1"},
		Shards: []shardmap.Shard{{ID: "shard-0", Address: "127.0.0.1:1", State: shardmap.Serving, Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Topology: topo, VSchema: testVSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Routing checks frozen users only when the map freezes some: the common
// path stays free of allocations.
func TestRoutingWithoutFreezeDoesNotAllocate(t *testing.T) {
	e := lazyExecutor(t)
	st := e.state.Load()
	args := []any{int64(42)}
	allocs := testing.AllocsPerRun(100, func() {
		if _, frozen, err := e.route(st, pointSelect, args); err != nil || frozen != nil {
			t.Fatal(err, frozen)
		}
	})
	if allocs != 0 {
		t.Fatalf("routing a point select allocates %v times, want 0", allocs)
	}
}
