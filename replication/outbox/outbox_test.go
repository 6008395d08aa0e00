package outbox

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

func TestStatementsParseWithTiDB(t *testing.T) {
	for _, q := range []string{bumpShardSQL, fenceShardSQL, insertShardSQL, bumpGlobalSQL, insertGlobalSQL} {
		if _, err := parser.New().ParseOneStmt(q, "", ""); err != nil {
			t.Errorf("TiDB's parser rejects %q: %v", q, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	v := Version{Shard: "shard-3", Seq: 1234}
	got, err := ParseVersion(v.String())
	if err != nil || got != v || v.String() != "shard-3.1234" {
		t.Fatalf("round trip: %q → %+v, %v", v.String(), got, err)
	}
	for _, bad := range []string{"", "shard-3", ".5", "shard-3.", "shard-3.x", "shard-3.-1"} {
		if _, err := ParseVersion(bad); !errors.Is(err, ErrBadVersion) {
			t.Errorf("ParseVersion(%q) = %v, want ErrBadVersion", bad, err)
		}
	}
}

const insertUser = "INSERT INTO users (user_id, name, email, phone, role, created_at, updated_at) VALUES (?, 'u', '', '', 'customer', NOW(6), NOW(6))"

// write inserts a user and appends its change in one transaction.
func write(ctx context.Context, e *exec.Executor, user int64, commit bool) (Version, error) {
	tx, err := e.Begin(ctx, nil)
	if err != nil {
		return Version{}, err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(ctx, insertUser, user); err != nil {
		return Version{}, err
	}
	v, err := Append(ctx, tx, Change{UserID: user, SurrogateKeys: []string{"user:" + strconv.FormatInt(user, 10)}, Payload: map[string]any{"kind": "user.created"}})
	if err != nil || !commit {
		return v, err
	}
	return v, tx.Commit()
}

func TestAppendSequencesAShardsChangesWithoutGaps(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 2})
	ctx := context.Background()
	// A rolled-back change takes no number.
	if _, err := write(ctx, c.Exec, c.UserOn("shard-0", 1), false); err != nil {
		t.Fatal(err)
	}
	// Concurrent writers on one shard get distinct, gapless numbers.
	var mu sync.Mutex
	var seqs []uint64
	var wg sync.WaitGroup
	next := int64(1)
	users := make([]int64, 30)
	for i := range users {
		users[i] = c.UserOn("shard-0", next)
		next = users[i] + 1
	}
	for _, u := range users {
		wg.Go(func() {
			v, err := write(ctx, c.Exec, u, true)
			if err != nil {
				t.Error(err)
				return
			}
			if v.Shard != "shard-0" {
				t.Errorf("user %d: version on %s", u, v.Shard)
			}
			mu.Lock()
			seqs = append(seqs, v.Seq)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("sequences %v: want 1..%d without gaps or repeats", seqs, len(users))
		}
	}
	var rows int
	if err := c.Direct(t, "shard-0").QueryRowContext(ctx, "SELECT COUNT(*) FROM cq_changes").Scan(&rows); err != nil || rows != len(users) {
		t.Fatalf("shard-0 outbox holds %d rows (%v), want %d", rows, err, len(users))
	}
	if err := c.Direct(t, "shard-1").QueryRowContext(ctx, "SELECT COUNT(*) FROM cq_changes").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("shard-1 outbox holds %d rows (%v), want 0", rows, err)
	}
}

func TestAppendToTheGlobalOutbox(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 1})
	ctx := context.Background()
	tx, _ := c.Exec.Begin(ctx, nil)
	defer tx.Rollback()
	if _, err := Append(ctx, tx, Change{SurrogateKeys: []string{"shop:1"}}); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("append before any statement: got %v, want ErrNotPinned", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE shops SET is_open = 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	v, err := Append(ctx, tx, Change{SurrogateKeys: []string{"shop:1", "menu:1"}, Payload: map[string]any{"kind": "shop.opened"}})
	if err != nil || v.String() != "global.1" {
		t.Fatalf("global append: %v, %v; want global.1", v, err)
	}
	if _, err := Append(ctx, tx, Change{SurrogateKeys: []string{"bad key"}}); !errors.Is(err, ErrBadChange) {
		t.Fatalf("a key with a space: got %v, want ErrBadChange", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var keys string
	if err := c.Direct(t, exec.GlobalTarget).QueryRowContext(ctx, "SELECT surrogate_keys FROM cq_global_changes WHERE seq = 1").Scan(&keys); err != nil || keys != "shop:1 menu:1" {
		t.Fatalf("global outbox row: %q, %v", keys, err)
	}
}

// TestAFencedShardRefusesWritesOfOlderMaps: once a shard's fence is above
// a transaction's epoch, its write fails with ErrFenced and leaves nothing;
// a transaction of the fence's epoch writes.
func TestAFencedShardRefusesWritesOfOlderMaps(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 1})
	ctx := context.Background()
	epoch := c.Exec.Topology().Epoch()
	if _, err := c.Direct(t, "shard-0").Exec("UPDATE cq_change_seq SET min_epoch = ? WHERE singleton = 1", epoch+1); err != nil {
		t.Fatal(err)
	}
	if _, err := write(ctx, c.Exec, 7, true); !errors.Is(err, ErrFenced) {
		t.Fatalf("write under epoch %d behind a fence at %d: %v, want ErrFenced", epoch, epoch+1, err)
	}
	var n int
	if err := c.Direct(t, "shard-0").QueryRow("SELECT COUNT(*) FROM users WHERE user_id = 7").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the fenced write left %d rows (%v)", n, err)
	}
	next := c.Exec.Topology().Map.Clone()
	next.Epoch++
	topo, err := shardmap.Compile(next, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec.SetTopology(topo); err != nil {
		t.Fatal(err)
	}
	if _, err := write(ctx, c.Exec, 7, true); err != nil {
		t.Fatalf("write under the fence's epoch: %v", err)
	}
}
