package move

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// quiet keeps the Copier's progress lines out of test output.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// fixture is a reshard in progress: shard-0 and shard-1 serve, shard-2
// joins. The executor routes by the map before the reshard (epoch 2), so
// writes of moving users still land on their old owner. The tests move the
// users going from shard-0 to shard-2.
type fixture struct {
	c        *shardtest.Cluster
	from     *shardmap.Topology
	src, dst *sql.DB // shard-0, shard-2
	tables   []Table
	moves    func(userID int64) bool // shard-0 → shard-2
	nextID   atomic.Int64            // ids of rows written by tests
}

const (
	source = "shard-0"
	target = "shard-2"
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := shardtest.Start(t, shardtest.Options{Shards: 3})
	before := c.Map.Clone()
	before.Epoch = 2
	before.Shards[2].State = shardmap.Joining
	after := c.Map.Clone()
	after.Epoch = 3
	from, err := shardmap.Compile(before, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec.SetTopology(from); err != nil {
		t.Fatal(err)
	}
	delta, err := shardmap.Diff(before, after, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{c: c, from: from, src: c.Direct(t, source), dst: c.Direct(t, target)}
	f.moves = func(u int64) bool {
		fromShard, toShard, moved := delta.Moves(u)
		return moved && fromShard == source && toShard == target
	}
	f.nextID.Store(1_000_000)
	if f.tables, err = Tables(context.Background(), f.src); err != nil {
		t.Fatal(err)
	}
	return f
}

// users returns n users of the source shard: about a third of them move.
func (f *fixture) users(n int) (all, moving, staying []int64) {
	for u := int64(1); len(all) < n; u++ {
		if f.from.Owner(u) != source {
			continue
		}
		all = append(all, u)
		if f.moves(u) {
			moving = append(moving, u)
		} else {
			staying = append(staying, u)
		}
	}
	return all, moving, staying
}

// write runs fn and appends the user's change in one routed transaction,
// again if the shard picks it as a deadlock victim.
func (f *fixture) write(ctx context.Context, user int64, fn func(tx *exec.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := f.tryWrite(ctx, user, fn)
		if err == nil || !retryable(err) || attempt == 10 {
			return err
		}
	}
}

func (f *fixture) tryWrite(ctx context.Context, user int64, fn func(tx *exec.Tx) error) error {
	tx, err := f.c.Exec.Begin(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	change := outbox.Change{UserID: user, SurrogateKeys: []string{fmt.Sprintf("user:%d", user)}, Payload: map[string]string{"kind": "test"}}
	if _, err := outbox.Append(ctx, tx, change); err != nil {
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// now is a DATETIME(6) value.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// seedUser writes a user's rows in every table: 15 rows.
func (f *fixture) seedUser(ctx context.Context, u int64) error {
	return f.write(ctx, u, func(tx *exec.Tx) error {
		ts := now()
		stmts := []struct {
			q    string
			args []any
		}{
			{"INSERT INTO users (user_id, name, email, phone, role, created_at, updated_at) VALUES (?, ?, ?, ?, 'customer', ?, ?)",
				[]any{u, fmt.Sprintf("用户 %d", u), fmt.Sprintf("u%d@example.com", u), "+86 555", ts, ts}},
			{"INSERT INTO cart_items (user_id, dish_id, shop_id, quantity, created_at, updated_at) VALUES (?, 1, 7, 2, ?, ?), (?, 2, 7, 1, ?, ?)",
				[]any{u, ts, ts, u, ts, ts}},
			{"INSERT INTO idempotency_keys (user_id, idem_key, request_hash, response_status, response_body, created_at) VALUES (?, 'k-open', ?, NULL, NULL, ?), (?, 'k-done', ?, 201, ?, ?)",
				[]any{u, hash32(u, 1), ts, u, hash32(u, 2), []byte{0xff, 0, 'x', 0xfe}, ts}},
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
				return err
			}
		}
		for a := range int64(2) {
			if err := addAddress(ctx, tx, u, u*100+a, a == 0); err != nil {
				return err
			}
		}
		for range 2 {
			if err := f.addOrder(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func hash32(u int64, k byte) []byte {
	h := make([]byte, 32)
	h[0], h[1], h[31] = byte(u), k, 0x80
	return h
}

func addAddress(ctx context.Context, tx *exec.Tx, u, id int64, isDefault bool) error {
	ts := now()
	_, err := tx.Exec(ctx, "INSERT INTO addresses (user_id, id, label, recipient, phone, line1, line2, city, region, postal_code, country, is_default, created_at, updated_at) "+
		"VALUES (?, ?, 'home', 'R', '1', 'l1', '', 'Hangzhou', 'ZJ', '310000', 'CN', ?, ?, ?)", u, id, isDefault, ts, ts)
	return err
}

// addOrder writes an order with two items and its payment.
func (f *fixture) addOrder(ctx context.Context, tx *exec.Tx, u int64) error {
	id, ts := f.nextID.Add(1), now()
	if _, err := tx.Exec(ctx, "INSERT INTO orders (user_id, id, shop_id, status, total_cents, address_id, delivery_recipient, delivery_phone, delivery_line1, delivery_line2, delivery_city, delivery_region, delivery_postal_code, delivery_country, created_at, updated_at) "+
		"VALUES (?, ?, 7, 'placed', 2500, ?, 'R', '1', 'l1', '', 'Hangzhou', 'ZJ', '310000', 'CN', ?, ?)", u, id, u*100, ts, ts); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO order_items (user_id, order_id, id, dish_id, name, unit_price_cents, quantity) VALUES (?, ?, 1, 1, 'noodles', 1000, 2), (?, ?, 2, 2, 'tea', 500, 1)", u, id, u, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "INSERT INTO payments (user_id, id, order_id, kind, status, amount_cents, provider_ref, created_at, updated_at) VALUES (?, ?, ?, 'charge', 'captured', 2500, ?, ?, ?)",
		u, id, id, fmt.Sprintf("ref-%d", id), ts, ts)
	return err
}

// deleteUser deletes all of a user's rows (the account is closed).
func (f *fixture) deleteUser(ctx context.Context, u int64) error {
	return f.write(ctx, u, func(tx *exec.Tx) error {
		for _, t := range f.tables {
			if _, err := tx.Exec(ctx, "DELETE FROM "+t.Name+" WHERE user_id = ?", u); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *fixture) seed(t testing.TB, users []int64) {
	t.Helper()
	ctx := context.Background()
	for _, u := range users {
		if err := f.seedUser(ctx, u); err != nil {
			t.Fatalf("seed user %d: %v", u, err)
		}
	}
}

// dump returns the rows of every moved table on db whose user keep
// accepts (nil: all), one line each, sorted.
func dump(t testing.TB, db *sql.DB, tables []Table, keep func(int64) bool) []string {
	t.Helper()
	var out []string
	for _, tb := range tables {
		rows, err := db.QueryContext(context.Background(), tb.scanFirstSQL(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		err = eachRow(rows, func(row []any) error {
			if keep == nil || keep(row[tb.userIndex()].(int64)) {
				out = append(out, tb.Name+"|"+formatRow(row))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func formatRow(row []any) string {
	parts := make([]string, len(row))
	for i, v := range row {
		switch v := v.(type) {
		case []byte:
			parts[i] = fmt.Sprintf("%q", v)
		case time.Time:
			parts[i] = v.Format(time.RFC3339Nano)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "|")
}

// clear empties the moved tables of db.
func clearTables(t testing.TB, db *sql.DB, tables []Table) {
	t.Helper()
	for _, tb := range tables {
		if _, err := db.Exec("DELETE FROM " + quote(tb.Name)); err != nil {
			t.Fatal(err)
		}
	}
}

// sameRows fails the test when two dumps differ, showing the first
// differences.
func sameRows(t testing.TB, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for _, w := range want {
		if _, ok := slices.BinarySearch(got, w); !ok {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if _, ok := slices.BinarySearch(want, g); !ok {
			extra = append(extra, g)
		}
	}
	t.Fatalf("%s: %d rows, want %d; missing %d %v; extra %d %v", what, len(got), len(want),
		len(missing), head(missing), len(extra), head(extra))
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// copyAll copies the moving users from source to target with cfg's knobs.
func (f *fixture) copyAll(t testing.TB, cfg Config) Progress {
	t.Helper()
	cfg.Source, cfg.Target, cfg.Tables, cfg.Filter, cfg.Logger = f.src, f.dst, f.tables, f.moves, quiet
	c, err := NewCopier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Copy(context.Background(), Progress{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nopDB is a DB that is never reached.
type nopDB struct{}

var errNoDB = errors.New("nopDB: not connected")

func (nopDB) QueryContext(context.Context, string, ...any) (*sql.Rows, error) { return nil, errNoDB }
func (nopDB) ExecContext(context.Context, string, ...any) (sql.Result, error) { return nil, errNoDB }
func (nopDB) BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)        { return nil, errNoDB }

// keyOf extracts the primary key of a row read with t's column list.
func (t Table) keyOf(row []any, idx []int) Key {
	return appendKey(make(Key, 0, len(idx)), row, idx)
}
