package move

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

func TestChangedUsersListsMovingUsersAfterTheCursor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, moving, staying := f.users(40)
	a, b, c := moving[0], moving[1], staying[0]
	head, err := SourceHead(ctx, f.src)
	if err != nil || head != 0 {
		t.Fatalf("head of an empty outbox: %d, %v", head, err)
	}
	// Changes 1 to 8: seed a, c, b, then rename a, c, b, a, c.
	for _, u := range []int64{a, c, b} {
		if err := f.seedUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []int64{a, c, b, a, c} {
		if err := f.write(ctx, u, rename(u, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if head, err = SourceHead(ctx, f.src); err != nil || head != 8 {
		t.Fatalf("head after 8 changes: %d, %v", head, err)
	}
	cases := []struct {
		after uint64
		limit int
		want  []int64
		last  uint64
	}{
		{0, 0, []int64{a, b}, 8},
		{0, 3, []int64{a, b}, 3},   // a, c, b
		{3, 2, []int64{a}, 5},      // a, c
		{5, 100, []int64{b, a}, 8}, // b, a, c
		{8, 10, nil, 8},
	}
	for _, tc := range cases {
		users, last, err := ChangedUsers(ctx, f.src, tc.after, f.moves, tc.limit)
		if err != nil || !slices.Equal(users, tc.want) || last != tc.last {
			t.Errorf("ChangedUsers(after %d, limit %d) = %v, %d, %v; want %v, %d", tc.after, tc.limit, users, last, err, tc.want, tc.last)
		}
	}
	if users, _, err := ChangedUsers(ctx, f.src, 0, nil, 0); err != nil || !slices.Equal(users, []int64{a, c, b}) {
		t.Errorf("every user: %v, %v; want a, c, b", users, err)
	}
	// A trimmed outbox is refused, not skipped over.
	if _, err := f.src.Exec("DELETE FROM cq_changes WHERE seq = 4"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ChangedUsers(ctx, f.src, 2, f.moves, 0); !errors.Is(err, ErrOutboxGap) {
		t.Errorf("across a gap: got %v, want ErrOutboxGap", err)
	}
	if _, err := f.src.Exec("DELETE FROM cq_changes WHERE seq <= 3"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ChangedUsers(ctx, f.src, 0, f.moves, 0); !errors.Is(err, ErrOutboxGap) {
		t.Errorf("from before a trimmed start: got %v, want ErrOutboxGap", err)
	}
}

func rename(u int64, name string) func(tx *exec.Tx) error {
	return func(tx *exec.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE users SET name = ?, updated_at = ? WHERE user_id = ?", name, now(), u)
		return err
	}
}

// workload writes random changes to a set of users until stopped: the
// load a serving shard takes while its users move.
type workload struct {
	f      *fixture
	users  []int64
	ops    chan struct{} // one token per committed change, dropped when full
	done   atomic.Int64
	stop   chan struct{}
	halted sync.Once
	wg     sync.WaitGroup
	errsMu sync.Mutex
	errs   []error
}

func startWorkload(f *fixture, users []int64, writers int) *workload {
	w := &workload{f: f, users: users, ops: make(chan struct{}, 1<<16), stop: make(chan struct{})}
	for i := range writers {
		// each writer owns every writers-th user: writers do not fight
		// over rows, only over the outbox counter.
		var mine []int64
		for j := i; j < len(users); j += writers {
			mine = append(mine, users[j])
		}
		w.wg.Go(func() { w.run(mine, uint64(i)) })
	}
	return w
}

func (w *workload) run(users []int64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	ctx := context.Background()
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		u := users[rng.IntN(len(users))]
		if err := w.f.write(ctx, u, w.change(rng, u)); err != nil {
			w.errsMu.Lock()
			w.errs = append(w.errs, err)
			w.errsMu.Unlock()
			return
		}
		w.done.Add(1)
		select {
		case w.ops <- struct{}{}:
		default:
		}
	}
}

// change picks one of the product's kinds of write.
func (w *workload) change(rng *rand.Rand, u int64) func(tx *exec.Tx) error {
	ctx := context.Background()
	switch rng.IntN(6) {
	case 0:
		return rename(u, "renamed")
	case 1:
		return func(tx *exec.Tx) error { return w.f.addOrder(ctx, tx, u) }
	case 2: // delete an address, or add it back
		id := u*100 + 1
		return func(tx *exec.Tx) error {
			res, err := tx.Exec(ctx, "DELETE FROM addresses WHERE user_id = ? AND id = ?", u, id)
			if n, _ := res.RowsAffected(); err == nil && n == 0 {
				return addAddress(ctx, tx, u, id, false)
			}
			return err
		}
	case 3:
		return func(tx *exec.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE cart_items SET quantity = quantity + 1, updated_at = ? WHERE user_id = ? AND dish_id = 1", now(), u)
			return err
		}
	case 4:
		return func(tx *exec.Tx) error {
			_, err := tx.Exec(ctx, "DELETE FROM cart_items WHERE user_id = ? AND dish_id = 2", u)
			return err
		}
	default:
		return func(tx *exec.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE idempotency_keys SET response_status = 200, response_body = ? WHERE user_id = ? AND idem_key = 'k-open'",
				[]byte{byte(rng.IntN(256)), 0xc3}, u)
			return err
		}
	}
}

// await waits until n changes commit after the call, or fails after a
// deadline.
func (w *workload) await(n int) error {
	for drained := false; !drained; {
		select {
		case <-w.ops:
		default:
			drained = true
		}
	}
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-w.ops:
		case <-deadline:
			return errors.New("the workload made no progress for 30s")
		}
	}
	return nil
}

// halt stops the writers and returns what they failed with.
func (w *workload) halt() error {
	w.halted.Do(func() { close(w.stop) })
	w.wg.Wait()
	w.errsMu.Lock()
	defer w.errsMu.Unlock()
	return errors.Join(w.errs...)
}

func TestCatchUpMakesAFuzzyCopyExactUnderConcurrentWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, moving, staying := f.users(120)
	f.seed(t, all)
	// gone closes their account while the copy runs, after the copy has
	// taken its rows; cut loses one address the same way. No writer
	// touches either.
	gone, cut := moving[0], moving[1]
	busy := slices.Concat(moving[2:], staying)

	head, err := SourceHead(ctx, f.src)
	if err != nil {
		t.Fatal(err)
	}
	load := startWorkload(f, busy, 4)
	defer load.halt()
	c, err := NewCopier(Config{Source: f.src, Target: f.dst, Tables: f.tables, Filter: f.moves, Logger: quiet,
		ReadBatch: 25, WriteBatch: 10, RowsPerSecond: 20_000,
		OnProgress: func(ctx context.Context, p Progress) error {
			if slices.Equal(p.Done, []string{"users", "addresses"}) && p.Table == "" {
				return f.duringCopy(ctx, gone, cut)
			}
			return load.await(1) // writes land between any two batches
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(ctx, Progress{}); err != nil {
		t.Fatal(err)
	}
	// The fuzzy copy is wrong for the closed account at least.
	mismatches, err := Verify(ctx, f.src, f.dst, f.tables, Matching(f.moves))
	if err != nil {
		t.Fatal(err)
	}
	if !containsUser(mismatches, gone) || !containsUser(mismatches, cut) {
		t.Fatalf("before the catch-up Verify lists %v; want users %d and %d among them", mismatches, gone, cut)
	}

	// Catch up while the writers go on, then stop them (the cutover's
	// hold) and catch up to the end.
	cursor := head
	for round := 0; round < 3; round++ {
		if err := load.await(20); err != nil {
			t.Fatal(err)
		}
		cursor = catchUp(t, f, cursor)
	}
	if err := load.halt(); err != nil {
		t.Fatalf("workload: %v", err)
	}
	t.Logf("%d changes written during the move", load.done.Load())
	cursor = catchUp(t, f, cursor)
	if final, _ := SourceHead(ctx, f.src); cursor != final {
		t.Fatalf("caught up to %d, the outbox is at %d", cursor, final)
	}

	mismatches, err = Verify(ctx, f.src, f.dst, f.tables, Matching(f.moves))
	if err != nil || len(mismatches) != 0 {
		t.Fatalf("Verify after the catch-up: %v, %v; want no mismatch", mismatches, err)
	}
	sameRows(t, "target after the catch-up", dump(t, f.dst, f.tables, nil), dump(t, f.src, f.tables, f.moves))
	if rows := dump(t, f.dst, f.tables, func(u int64) bool { return u == gone }); len(rows) != 0 {
		t.Fatalf("the closed account still has rows on the target: %v", rows)
	}
}

// duringCopy closes gone's account and deletes an address of cut once the
// copy has taken their users and addresses rows (it checks it has).
func (f *fixture) duringCopy(ctx context.Context, gone, cut int64) error {
	var n int
	err := f.dst.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users WHERE user_id IN (?, ?)) + "+
		"(SELECT COUNT(*) FROM addresses WHERE user_id IN (?, ?))", gone, cut, gone, cut).Scan(&n)
	if err != nil || n != 6 {
		return fmt.Errorf("the target holds %d of the users' 6 users and addresses rows (%v)", n, err)
	}
	if err := f.deleteUser(ctx, gone); err != nil {
		return err
	}
	return f.write(ctx, cut, func(tx *exec.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM addresses WHERE user_id = ? AND id = ?", cut, cut*100)
		return err
	})
}

// catchUp recopies the moving users changed after cursor and returns the
// new cursor.
func catchUp(t *testing.T, f *fixture, cursor uint64) uint64 {
	t.Helper()
	ctx := context.Background()
	for {
		users, last, err := ChangedUsers(ctx, f.src, cursor, f.moves, 50)
		if err != nil {
			t.Fatal(err)
		}
		if err := Recopy(ctx, f.src, f.dst, f.tables, users); err != nil {
			t.Fatal(err)
		}
		if last == cursor {
			return cursor
		}
		cursor = last
	}
}

func containsUser(ms []Mismatch, u int64) bool {
	return slices.ContainsFunc(ms, func(m Mismatch) bool { return m.User == u })
}
