package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWritesLandOnTheShardTheRingNames(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	const users = 600
	for u := int64(1); u <= users; u++ {
		if _, err := c.e.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (?, ?)", u, fmt.Sprint("user-", u)); err != nil {
			t.Fatal(err)
		}
	}
	topo := c.e.Topology()
	total := 0
	for id, db := range c.direct {
		rows, err := db.QueryContext(ctx, "SELECT user_id FROM users")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var u int64
			if err := rows.Scan(&u); err != nil {
				t.Fatal(err)
			}
			if owner := topo.Owner(u); owner != id {
				t.Errorf("user %d is on %s, the ring names %s", u, id, owner)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s holds no user out of %d", id, users)
		}
		total += n
	}
	if total != users {
		t.Fatalf("the shards hold %d users, want %d (each exactly once)", total, users)
	}
	// And the executor reads each one back from its shard.
	for _, u := range []int64{1, 77, 600} {
		var name string
		if err := c.e.QueryRow(ctx, "SELECT name FROM users WHERE user_id = ?", u).Scan(&name); err != nil || name != fmt.Sprint("user-", u) {
			t.Fatalf("user %d: name %q, %v", u, name, err)
		}
	}
}

// seedOrders writes the same orders through the executor and into the
// unsharded reference database.
func seedOrders(t *testing.T, c *cluster, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	statuses := []string{"paid", "pending_payment", "Paid", "cancelled", "completed"}
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const ins = "INSERT INTO orders (id, user_id, status, amount, total_cents, note, score, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	for i := range n {
		var note, score any
		if rng.IntN(3) > 0 {
			note = fmt.Sprintf("n%02d", rng.IntN(40))
		}
		if rng.IntN(4) > 0 {
			score = rng.Float64() * 100
		}
		args := []any{
			int64(1000 + i), int64(1 + rng.IntN(50)), statuses[rng.IntN(len(statuses))],
			fmt.Sprintf("%d.%02d", rng.IntN(900), rng.IntN(100)), int64(rng.IntN(5000)), note, score,
			base.Add(time.Duration(rng.IntN(5000)) * time.Second),
		}
		if _, err := c.e.Exec(ctx, ins, args...); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ref.ExecContext(ctx, ins, args...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMergedQueriesMatchOneTable(t *testing.T) {
	c := startCluster(t, 3)
	seedOrders(t, c, 400)
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT id, user_id, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT 10", nil},
		{"SELECT id, user_id, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT 10 OFFSET 25", nil},
		{"SELECT id, total_cents FROM orders WHERE status = ? ORDER BY total_cents, id LIMIT ?, ?", []any{"paid", 7, 12}},
		{"SELECT * FROM orders WHERE status <> 'cancelled' ORDER BY amount DESC, id LIMIT 15", nil},
		{"SELECT id, status FROM orders ORDER BY status, id DESC LIMIT 30", nil},
		{"SELECT id, note FROM orders ORDER BY note, id LIMIT 40", nil},
		{"SELECT id, note FROM orders ORDER BY note DESC, id LIMIT 40", nil},
		{"SELECT id, score FROM orders ORDER BY score DESC, id LIMIT 20", nil},
		{"SELECT id, amount AS a FROM orders ORDER BY a, 1 LIMIT 25 OFFSET 100", nil},
		{"SELECT COUNT(*), SUM(amount), SUM(total_cents), MIN(created_at), MAX(amount), MIN(note), MAX(score), MIN(score) FROM orders", nil},
		{"SELECT COUNT(*), SUM(amount), MIN(note), MAX(created_at) FROM orders WHERE status = 'nothing'", nil},
		{"SELECT COUNT(note) FROM orders WHERE status = ?", []any{"paid"}},
		{"SELECT id, user_id FROM orders WHERE user_id IN (1, 2, 3, 4, 5, 6, 7, 8, 9) ORDER BY id", nil},
		{"SELECT id, created_at FROM orders WHERE user_id IN (?, ?, ?, ?) AND status = ? ORDER BY created_at, id LIMIT ? OFFSET ?", []any{11, 12, 13, 14, "paid", 5, 3}},
		{"SELECT id FROM orders ORDER BY id LIMIT 5 OFFSET 10000", nil},
	} {
		t.Run(q.sql, func(t *testing.T) {
			got := collect(t, func() (rowsLike, error) { return c.e.Query(ctx, q.sql, q.args...) })
			want := collect(t, func() (rowsLike, error) { return c.ref.QueryContext(ctx, q.sql, q.args...) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("merged result differs from one table\n got %v\nwant %v", got, want)
			}
		})
	}
	// The checks above compare something: the reference sees every order.
	var n int
	if err := c.ref.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil || n != 400 {
		t.Fatalf("reference holds %d orders, %v", n, err)
	}
}

type rowsLike interface {
	Columns() ([]string, error)
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

// collect reads rows as strings, NULL as "NULL".
func collect(t *testing.T, query func() (rowsLike, error)) [][]string {
	t.Helper()
	rows, err := query()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCrossShardTransactionIsRefusedAndLeavesNothing(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	topo := c.e.Topology()
	a, b := usersOn(topo, "shard-0", 1)[0], usersOn(topo, "shard-1", 1)[0]

	tx, err := c.e.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (?, 'a')", a); err != nil {
		t.Fatal(err)
	}
	if tx.Shard() != "shard-0" {
		t.Fatalf("transaction pinned to %q, want shard-0", tx.Shard())
	}
	_, err = tx.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (?, 'b')", b)
	if !errors.Is(err, ErrCrossShard) {
		t.Fatalf("second shard in a transaction: got %v, want ErrCrossShard", err)
	}
	if !strings.Contains(err.Error(), "shard-0") || !strings.Contains(err.Error(), "shard-1") {
		t.Errorf("error should name both shards: %v", err)
	}
	if err := tx.Commit(); !errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("commit after refusal: got %v, want sql.ErrTxDone (already rolled back)", err)
	}
	for id, db := range c.direct {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE user_id IN (?, ?)", a, b).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%s holds %d rows of the refused transaction", id, n)
		}
	}
}

func TestTransactionRefusesScatterAndGlobal(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	for _, second := range []string{"SELECT id FROM orders ORDER BY id LIMIT 1", "SELECT 1"} {
		tx, _ := c.e.Begin(ctx, nil)
		if _, err := tx.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (1, 'a')"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Query(ctx, second); !errors.Is(err, ErrCrossShard) {
			t.Fatalf("%q in a shard transaction: got %v, want ErrCrossShard", second, err)
		}
		var n int
		if err := c.e.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE user_id = 1").Scan(&n); err != nil || n != 0 {
			t.Fatalf("after refusal user 1 has %d rows (%v), want 0", n, err)
		}
	}
}

func TestTransactionCommitsOnItsShard(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	u := usersOn(c.e.Topology(), "shard-1", 1)[0]
	tx, _ := c.e.Begin(ctx, nil)
	defer tx.Rollback()
	stmts := []string{
		"INSERT INTO users (user_id, name) VALUES (?, 'x')",
		"INSERT INTO orders (id, user_id, status, amount, total_cents, created_at) VALUES (1, ?, 'paid', 1.50, 150, NOW())",
		"UPDATE users SET name = 'y' WHERE user_id = ?",
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s, u); err != nil {
			t.Fatal(err)
		}
	}
	var name string
	if err := tx.QueryRow(ctx, "SELECT name FROM users WHERE user_id = ?", u).Scan(&name); err != nil || name != "y" {
		t.Fatalf("read inside the transaction: %q, %v", name, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.direct["shard-1"].QueryRowContext(ctx, "SELECT COUNT(*) FROM orders WHERE user_id = ?", u).Scan(&n); err != nil || n != 1 {
		t.Fatalf("committed order on shard-1: %d, %v", n, err)
	}
}

func TestFailingShardFailsScatterAndIsNamed(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if err := c.servers["shard-2"].Kill(); err != nil {
		t.Fatal(err)
	}
	_, err := c.e.Query(ctx, "SELECT id FROM orders ORDER BY id LIMIT 3")
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "shard-2" {
		t.Fatalf("scatter with shard-2 down: got %v, want a *ShardError naming shard-2", err)
	}
	if !strings.Contains(err.Error(), c.servers["shard-2"].Addr()) {
		t.Errorf("error should give the shard's address: %v", err)
	}
	// Users of the other shards are still served.
	u := usersOn(c.e.Topology(), "shard-0", 1)[0]
	if _, err := c.e.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (?, 'ok')", u); err != nil {
		t.Fatalf("shard-0 while shard-2 is down: %v", err)
	}
}

func TestScatterHonoursTheCallersDeadline(t *testing.T) {
	c := startCluster(t, 2)
	seedOrders(t, c, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.e.Query(ctx, "SELECT id, SLEEP(5) AS s FROM orders")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("scatter returned after %v; the deadline was 300ms", d)
	}
}

func TestBroadcastReachesEveryShardAndNamesFailures(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	if _, err := c.e.Exec(ctx, "CREATE INDEX by_status ON orders (status)"); err != nil {
		t.Fatal(err)
	}
	for id, db := range c.direct {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = 'cq' AND table_name = 'orders' AND index_name = 'by_status'").Scan(&n); err != nil || n == 0 {
			t.Fatalf("%s lacks the broadcast index (%v)", id, err)
		}
	}
	c.servers["shard-1"].Kill()
	_, err := c.e.Exec(ctx, "ALTER TABLE orders ADD COLUMN extra INT NULL")
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != "shard-1" {
		t.Fatalf("broadcast with shard-1 down: got %v, want a *ShardError naming shard-1", err)
	}
	for _, id := range []string{"shard-0", "shard-2"} {
		if _, err := c.direct[id].ExecContext(ctx, "SELECT extra FROM orders LIMIT 1"); err != nil {
			t.Errorf("%s did not get the DDL while shard-1 was down: %v", id, err)
		}
	}
}

func TestMergeBound(t *testing.T) {
	c := startCluster(t, 2)
	seedOrders(t, c, 50)
	e, err := New(Config{Topology: c.e.Topology(), VSchema: testVSchema(t), MaxMergeRows: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Query(context.Background(), "SELECT id FROM orders"); !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("50 rows with a bound of 20: got %v, want ErrTooManyRows", err)
	}
}

func TestJoiningShardGetsDDLButNoUsers(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	topo := c.e.Topology()
	next := topo.Map.Clone()
	next.Epoch++
	joining := next.Shards[0]
	joining.ID, joining.Database, joining.State = "shard-new", "cqnew", "joining"
	next.Shards = append(next.Shards, joining)
	if err := dbconnEnsure(ctx, joining.Address, "cqnew"); err != nil {
		t.Fatal(err)
	}
	nt, err := compile(next)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.e.SetTopology(nt); err != nil {
		t.Fatal(err)
	}
	if err := c.e.SetTopology(topo); err != nil || c.e.Topology().Epoch() != next.Epoch {
		t.Fatalf("an older map replaced the newer one (epoch %d, %v)", c.e.Topology().Epoch(), err)
	}
	if _, err := c.e.Exec(ctx, usersSchema); err != nil {
		t.Fatal(err)
	}
	db := openDirect(t, joining.Address, "cqnew")
	if _, err := db.ExecContext(ctx, "INSERT INTO users (user_id, name) VALUES (-1, 'stray')"); err != nil {
		t.Fatalf("the joining shard did not get the broadcast DDL: %v", err)
	}
	rows, err := c.e.Query(ctx, "SELECT user_id FROM users WHERE user_id < 0")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatal("a scatter read a joining shard, which owns no users yet")
	}
	for u := int64(1); u < 200; u++ {
		if owner := c.e.Topology().Owner(u); owner == "shard-new" {
			t.Fatalf("user %d routed to the joining shard", u)
		}
	}
}

func TestLocalTablesRunOnThePinnedShard(t *testing.T) {
	c := startCluster(t, 2)
	ctx := context.Background()
	const seqTable = "CREATE TABLE IF NOT EXISTS seqs (id INT NOT NULL PRIMARY KEY, seq BIGINT UNSIGNED NOT NULL)"
	if _, err := c.e.Exec(ctx, seqTable); err != nil {
		t.Fatal(err)
	}
	for _, db := range c.direct {
		if _, err := db.ExecContext(ctx, "INSERT INTO seqs (id, seq) VALUES (1, 0)"); err != nil {
			t.Fatal(err)
		}
	}
	const bump = "UPDATE seqs SET seq = LAST_INSERT_ID(seq + 1) WHERE id = 1"
	if _, err := c.e.Exec(ctx, bump); !errors.Is(err, ErrNeedsPin) {
		t.Fatalf("local statement outside a transaction: got %v, want ErrNeedsPin", err)
	}
	u := usersOn(c.e.Topology(), "shard-1", 1)[0]
	tx, _ := c.e.Begin(ctx, nil)
	if _, err := tx.Exec(ctx, bump); !errors.Is(err, ErrNeedsPin) {
		t.Fatalf("local statement before the pin: got %v, want ErrNeedsPin", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO users (user_id, name) VALUES (?, 'x')", u); err != nil {
		t.Fatal(err)
	}
	for want := int64(1); want <= 2; want++ {
		res, err := tx.Exec(ctx, bump)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.LastInsertId(); got != want {
			t.Fatalf("sequence = %d, want %d", got, want)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{"shard-0": 0, "shard-1": 2} {
		var seq int
		if err := c.direct[id].QueryRowContext(ctx, "SELECT seq FROM seqs WHERE id = 1").Scan(&seq); err != nil || seq != want {
			t.Fatalf("%s sequence = %d (%v), want %d", id, seq, err, want)
		}
	}
}

func TestChangedSignalsANewMap(t *testing.T) {
	c := startCluster(t, 1)
	ch := c.e.Changed()
	select {
	case <-ch:
		t.Fatal("Changed is closed before any change")
	default:
	}
	next := c.e.Topology().Map.Clone()
	next.Epoch++
	nt, err := compile(next)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.e.SetTopology(nt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed was not closed by SetTopology")
	}
	if c.e.Changed() == ch {
		t.Fatal("Changed was not replaced for the next change")
	}
}
