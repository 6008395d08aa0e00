package exec

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/router"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// TestScatterDropsRowsTheShardDoesNotOwn leaves copies of orders on shards
// that do not own their users, as a reshard does during its grace period,
// and checks that scatters selecting the shard key return every order once,
// from its owner, with ORDER BY, LIMIT and OFFSET applied to owned rows.
func TestScatterDropsRowsTheShardDoesNotOwn(t *testing.T) {
	c := startCluster(t, 3)
	seedOrders(t, c, 400)
	ctx := context.Background()
	topo := c.e.Topology()
	ring := topo.RingShards()
	// The 30 lowest ids are copied, with a total that changed on the owner
	// since: the copies lead every shard's ORDER BY id and ORDER BY
	// total_cents, so they fill a shard's LIMIT, which must be read again.
	stale := 0
	rows, err := c.ref.QueryContext(ctx, "SELECT id, user_id, status, amount, total_cents, note, score, created_at FROM orders ORDER BY id LIMIT 30")
	if err != nil {
		t.Fatal(err)
	}
	var copies [][]any
	for rows.Next() {
		var id, user, cents int64
		var status, amount string
		var note sql.NullString
		var score sql.NullFloat64
		var at time.Time
		if err := rows.Scan(&id, &user, &status, &amount, &cents, &note, &score, &at); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, []any{id, user, status, amount, cents - 100_000, note, score, at})
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for i, row := range copies {
		owner := topo.Owner(row[1].(int64))
		for j, other := range ring {
			// Odd rows are copied onto every other shard, even rows onto one.
			if other == owner || i%2 == 0 && j > 0 && ring[0] != owner {
				continue
			}
			if _, err := c.direct[other].ExecContext(ctx, "INSERT INTO orders (id, user_id, status, amount, total_cents, note, score, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row...); err != nil {
				t.Fatal(err)
			}
			stale++
		}
	}
	// One copy that differs from its original shows which one comes back.
	var last, lastUser int64
	if err := c.ref.QueryRowContext(ctx, "SELECT id, user_id FROM orders ORDER BY id DESC LIMIT 1").Scan(&last, &lastUser); err != nil {
		t.Fatal(err)
	}
	elsewhere := ring[0]
	if elsewhere == topo.Owner(lastUser) {
		elsewhere = ring[1]
	}
	if _, err := c.direct[elsewhere].ExecContext(ctx, "INSERT INTO orders (id, user_id, status, amount, total_cents, created_at) VALUES (?, ?, 'stale-copy', 0, 0, NOW())", last, lastUser); err != nil {
		t.Fatal(err)
	}
	stale++

	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT user_id, id, status FROM orders WHERE id = ?", []any{last}},
		{"SELECT id, user_id FROM orders ORDER BY id LIMIT 5", nil},
		{"SELECT id, user_id, total_cents FROM orders ORDER BY total_cents, id LIMIT 5", nil},
		{"SELECT id, user_id, total_cents FROM orders ORDER BY total_cents, id LIMIT 4 OFFSET 3", nil},
		{"SELECT user_id, id FROM orders ORDER BY id LIMIT 1", nil},
		{"SELECT id, user_id, created_at FROM orders ORDER BY id LIMIT 10 OFFSET 7", nil},
		{"SELECT id, user_id, created_at FROM orders ORDER BY created_at DESC, id DESC LIMIT 10", nil},
		{"SELECT o.id, o.user_id, o.total_cents FROM orders o WHERE total_cents > ? ORDER BY o.total_cents, o.id LIMIT ?, ?", []any{100, 3, 12}},
		{"SELECT * FROM orders ORDER BY id LIMIT 15", nil},
		{"SELECT * FROM orders WHERE id < 1100 ORDER BY amount DESC, id", nil},
		{"SELECT id, user_id FROM orders ORDER BY id", nil},
		{"SELECT id, user_id FROM orders WHERE user_id IN (1, 2, 3, 4, 5, 6, 7, 8, 9) ORDER BY id LIMIT 20", nil},
	} {
		t.Run(q.sql, func(t *testing.T) {
			got := collect(t, func() (rowsLike, error) { return c.e.Query(ctx, q.sql, q.args...) })
			want := collect(t, func() (rowsLike, error) { return c.ref.QueryContext(ctx, q.sql, q.args...) })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("with stale copies on non-owners\n got %v\nwant %v", got, want)
			}
		})
	}
	// Without ORDER BY each shard returns its first rows, the copies among
	// them; the merge still fills the LIMIT with distinct owned rows.
	got := collect(t, func() (rowsLike, error) {
		return c.e.Query(ctx, "SELECT id, user_id, total_cents FROM orders LIMIT 40")
	})
	seen := map[string]bool{}
	for _, row := range got {
		if seen[row[0]] || strings.HasPrefix(row[2], "-") { // only copies have negative totals
			t.Fatalf("LIMIT without ORDER BY returned %v: repeated or a stale copy", row)
		}
		seen[row[0]] = true
	}
	if len(got) != 40 {
		t.Fatalf("LIMIT 40 without ORDER BY returned %d rows", len(got))
	}
	// Aggregates cannot be checked row by row: they count the copies until
	// the reshard deletes them (see the package doc).
	var n int
	if err := c.e.QueryRow(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil || n != 400+stale {
		t.Fatalf("COUNT(*) = %d (%v), want 400 orders + %d copies", n, err, stale)
	}
}

// offlineTopology is a compiled map of n shards that nothing serves.
func offlineTopology(t testing.TB, n int) *shardmap.Topology {
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "127.0.0.1:1"}}
	for i := range n {
		m.Shards = append(m.Shards, shardmap.Shard{ID: fmt.Sprintf("shard-%d", i), Address: fmt.Sprintf("127.0.0.1:%d", 2+i), State: shardmap.Serving, Weight: 1})
	}
	topo, err := compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestOwnerCheckDoesNotAllocate pins the per-row cost: one ring lookup.
func TestOwnerCheckDoesNotAllocate(t *testing.T) {
	topo := offlineTopology(t, 3)
	o := &owner{topo: topo, shard: "shard-1", key: router.KeyColumn{Index: 0}}
	u := usersOn(topo, "shard-1", 1)[0]
	for _, v := range []any{u, []byte(fmt.Sprint(u)), uint64(u)} {
		if !o.owns(v) {
			t.Fatalf("shard-1 does not own %T %v", v, v)
		}
		if n := testing.AllocsPerRun(100, func() { o.owns(v) }); n != 0 {
			t.Errorf("owns(%T) allocates %.0f times", v, n)
		}
	}
	other := usersOn(topo, "shard-2", 1)[0]
	if o.owns(other) {
		t.Fatalf("shard-1 owns user %d of shard-2", other)
	}
	if !o.owns(nil) {
		t.Fatal("a NULL key (outer join) should keep the row")
	}
}

// BenchmarkOwnerCheck is the cost a scatter adds per row.
func BenchmarkOwnerCheck(b *testing.B) {
	topo := offlineTopology(b, 16)
	o := &owner{topo: topo, shard: "shard-3"}
	k := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		k += 7919
		o.owns(k)
	}
}
