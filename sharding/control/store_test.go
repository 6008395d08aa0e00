package control_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestStatementsParseWithTiDB(t *testing.T) {
	for _, stmt := range control.Statements {
		if _, _, err := parser.New().Parse(stmt, "", ""); err != nil {
			t.Errorf("TiDB parser rejects %q: %v", stmt, err)
		}
	}
}

// newStore returns a store over a fresh global keyspace whose control
// tables are empty. Its tests run every statement of control.Statements.
func newStore(t *testing.T) (*control.Store, *sql.DB) {
	t.Helper()
	srv := testenv.MariaDB(t, 1)[0]
	ctx := context.Background()
	const database = "cq_control"
	if err := dbconn.EnsureDatabase(ctx, srv.Addr(), database, dbconn.Credentials{}); err != nil {
		t.Fatal(err)
	}
	db, err := dbconn.Open(srv.Addr(), database, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, m := range schema.Migrations(schema.Global) {
		for _, stmt := range m.Statements {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	return control.NewStore(db), db
}

func testMap(epoch uint64, shards ...string) *shardmap.Map {
	m := &shardmap.Map{Epoch: epoch, Global: shardmap.Keyspace{Address: "10.0.0.1:4000"}}
	for i, id := range shards {
		m.Shards = append(m.Shards, shardmap.Shard{
			ID: id, Address: fmt.Sprintf("10.0.1.%d:4000", i+1), State: shardmap.Serving, Weight: 1,
		})
	}
	return m
}

// successor adds a joining shard: a change every validator accepts.
func successor(m *shardmap.Map, id string) *shardmap.Map {
	next := *m
	next.Epoch = m.Epoch + 1
	next.Shards = append(append([]shardmap.Shard(nil), m.Shards...), shardmap.Shard{
		ID: id, Address: "10.0.9.9:4000", State: shardmap.Joining, Weight: 1,
	})
	return &next
}

func historyEpochs(t *testing.T, s *control.Store) []uint64 {
	t.Helper()
	entries, err := s.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var epochs []uint64
	for _, e := range entries {
		if e.CommittedAt.IsZero() || e.CommittedAt.Location() != time.UTC {
			t.Errorf("epoch %d committed at %v", e.Map.Epoch, e.CommittedAt)
		}
		epochs = append(epochs, e.Map.Epoch)
	}
	return epochs
}

func TestStore(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()

	if _, err := s.Load(ctx); !errors.Is(err, control.ErrNoShardMap) {
		t.Fatalf("Load on empty table = %v, want ErrNoShardMap", err)
	}
	if err := s.CompareAndSwap(ctx, 0, testMap(1, "shard-a")); !errors.Is(err, control.ErrNoShardMap) {
		t.Fatalf("CompareAndSwap on empty table = %v, want ErrNoShardMap", err)
	}

	first := testMap(1, "shard-a", "shard-b")
	stored, created, err := s.Bootstrap(ctx, first)
	if err != nil || !created || !reflect.DeepEqual(stored, first) {
		t.Fatalf("Bootstrap = %+v, %v, %v", stored, created, err)
	}
	stored, created, err = s.Bootstrap(ctx, testMap(5, "shard-z"))
	if err != nil || created || !reflect.DeepEqual(stored, first) {
		t.Fatalf("second Bootstrap = %+v, %v, %v; want the first map kept", stored, created, err)
	}

	next := successor(first, "shard-c")
	if err := s.CompareAndSwap(ctx, 1, next); err != nil {
		t.Fatalf("CompareAndSwap(1 → 2): %v", err)
	}
	if got, err := s.Load(ctx); err != nil || !reflect.DeepEqual(got, next) {
		t.Fatalf("Load after swap = %+v, %v; want %+v", got, err, next)
	}

	err = s.CompareAndSwap(ctx, 1, successor(first, "shard-d"))
	var conflict *control.EpochConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, control.ErrEpochConflict) || *conflict != (control.EpochConflictError{Expected: 1, Current: 2}) {
		t.Fatalf("stale CompareAndSwap = %v, want conflict expected 1 current 2", err)
	}

	notNewer := successor(next, "shard-e")
	notNewer.Epoch = next.Epoch // a successor must have a higher epoch
	err = s.CompareAndSwap(ctx, 2, notNewer)
	if err == nil || errors.Is(err, control.ErrEpochConflict) {
		t.Fatalf("CompareAndSwap to a non-successor = %v, want a validation error", err)
	}
	invalid := successor(next, "Not A Valid ID!")
	if err := s.CompareAndSwap(ctx, 2, invalid); err == nil {
		t.Fatal("CompareAndSwap to an invalid map succeeded")
	}

	if got := historyEpochs(t, s); !reflect.DeepEqual(got, []uint64{1, 2}) {
		t.Errorf("history epochs %v, want [1 2]", got)
	}
}

func TestConcurrentCompareAndSwap(t *testing.T) {
	s, db := newStore(t)
	ctx := context.Background()
	base := testMap(1, "shard-a")
	if _, _, err := s.Bootstrap(ctx, base); err != nil {
		t.Fatal(err)
	}

	const writers = 20
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { errs[i] = s.CompareAndSwap(ctx, 1, successor(base, fmt.Sprintf("shard-w%d", i))) })
	}
	wg.Wait()

	winner := -1
	for i, err := range errs {
		var conflict *control.EpochConflictError
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &conflict) || conflict.Expected != 1 || conflict.Current != 2:
			t.Errorf("writer %d: %v, want an epoch conflict (expected 1, current 2)", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got, err := s.Load(ctx)
	if err != nil || !reflect.DeepEqual(got, successor(base, fmt.Sprintf("shard-w%d", winner))) {
		t.Errorf("stored map %+v, %v; want the winner's", got, err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM cq_shard_map_history WHERE epoch = 2").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("history rows for epoch 2: %d, %v; want exactly 1", rows, err)
	}
	if got := historyEpochs(t, s); !reflect.DeepEqual(got, []uint64{1, 2}) {
		t.Errorf("history epochs %v, want [1 2]", got)
	}
}

func TestConcurrentBootstrap(t *testing.T) {
	s, _ := newStore(t)
	const callers = 10
	type result struct {
		stored  *shardmap.Map
		created bool
		err     error
	}
	results := make([]result, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			m := testMap(uint64(i+1), "shard-a")
			results[i].stored, results[i].created, results[i].err = s.Bootstrap(context.Background(), m)
		})
	}
	wg.Wait()
	created := 0
	var winner *shardmap.Map
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.created {
			created++
			winner = r.stored
		}
	}
	if created != 1 {
		t.Fatalf("%d callers created the map, want 1", created)
	}
	for i, r := range results {
		if !reflect.DeepEqual(r.stored, winner) {
			t.Errorf("caller %d sees epoch %d, the winner stored epoch %d", i, r.stored.Epoch, winner.Epoch)
		}
	}
}
