package move

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

func TestChecksumSeesOneColumnOfOneRow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, moving, _ := f.users(30)
	f.seed(t, all)
	u, other := moving[0], moving[1]
	cases := []struct {
		name   string
		change string // run on the target, args (user)
	}{
		{"a string", "UPDATE users SET name = CONCAT(name, '!') WHERE user_id = ?"},
		{"a boolean", "UPDATE addresses SET is_default = NOT is_default WHERE user_id = ? ORDER BY id LIMIT 1"},
		{"a microsecond", "UPDATE orders SET updated_at = updated_at + INTERVAL 1 MICROSECOND WHERE user_id = ? ORDER BY id LIMIT 1"},
		{"an integer", "UPDATE order_items SET quantity = quantity + 1 WHERE user_id = ? ORDER BY order_id, id LIMIT 1"},
		{"NULL to a value", "UPDATE idempotency_keys SET response_status = 0 WHERE user_id = ? AND response_status IS NULL"},
		{"a value to NULL", "UPDATE idempotency_keys SET response_body = NULL WHERE user_id = ? AND response_body IS NOT NULL"},
		{"a binary column", "UPDATE idempotency_keys SET request_hash = REVERSE(request_hash) WHERE user_id = ? ORDER BY idem_key LIMIT 1"},
		{"a row missing", "DELETE FROM payments WHERE user_id = ? ORDER BY id LIMIT 1"},
		{"a row too many", "INSERT INTO cart_items (user_id, dish_id, shop_id, quantity, created_at, updated_at) SELECT user_id, 99, shop_id, quantity, created_at, updated_at FROM cart_items WHERE user_id = ? AND dish_id = 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Recopy(ctx, f.src, f.dst, f.tables, []int64{u, other}); err != nil {
				t.Fatal(err)
			}
			want := checksum(t, f, f.src, u)
			if got := checksum(t, f, f.dst, u); got != want {
				t.Fatalf("after Recopy the target's checksum %x differs from the source's %x", got, want)
			}
			res, err := f.dst.ExecContext(ctx, tc.change, u)
			if n, _ := res.RowsAffected(); err != nil || n != 1 {
				t.Fatalf("%s: %d rows, %v; want one", tc.change, n, err)
			}
			if got := checksum(t, f, f.dst, u); got == want {
				t.Fatalf("the checksum did not change")
			}
			ms, err := Verify(ctx, f.src, f.dst, f.tables, List(other, u))
			if err != nil || len(ms) != 1 || ms[0].User != u {
				t.Fatalf("Verify: %v, %v; want user %d alone", ms, err, u)
			}
			ms, err = Verify(ctx, f.src, f.dst, f.tables, Matching(func(id int64) bool { return id == u || id == other }))
			if err != nil || len(ms) != 1 || ms[0].User != u {
				t.Fatalf("Verify by filter: %v, %v; want user %d alone", ms, err, u)
			}
		})
	}
}

func checksum(t *testing.T, f *fixture, db DB, u int64) [32]byte {
	t.Helper()
	sum, err := Checksum(context.Background(), db, f.tables, u)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestVerifyFindsUsersMissingOnEitherSide(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, moving, _ := f.users(30)
	f.seed(t, all)
	f.copyAll(t, Config{})
	if ms, err := Verify(ctx, f.src, f.dst, f.tables, Matching(f.moves)); err != nil || len(ms) != 0 {
		t.Fatalf("after the copy: %v, %v", ms, err)
	}
	// One user left only on the source, one only on the target.
	onlySource, onlyTarget := moving[0], moving[1]
	if _, err := DeleteUsers(ctx, f.dst, f.tables, List(onlySource), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := DeleteUsers(ctx, f.src, f.tables, List(onlyTarget), 0); err != nil {
		t.Fatal(err)
	}
	ms, err := Verify(ctx, f.src, f.dst, f.tables, Matching(f.moves))
	if err != nil || len(ms) != 2 || ms[0].User != min(onlySource, onlyTarget) || ms[1].User != max(onlySource, onlyTarget) {
		t.Fatalf("Verify: %v, %v; want users %d and %d", ms, err, onlySource, onlyTarget)
	}
	for _, m := range ms {
		if (m.SourceRows == 0) == (m.TargetRows == 0) || m.SourceRows+m.TargetRows != 15 {
			t.Errorf("%v: want 15 rows on one side only", m)
		}
	}
	if _, err := Verify(ctx, f.src, f.dst, f.tables, Users{}); !errors.Is(err, ErrNoUsers) {
		t.Errorf("Verify of nobody: %v, want ErrNoUsers", err)
	}
}

func TestRowHashingIsUnambiguous(t *testing.T) {
	tb := &Table{Name: "t", Columns: []string{"a", "b"}, Key: []string{"a"}}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	rows := [][][]any{
		{{[]byte("ab"), []byte("c")}},
		{{[]byte("a"), []byte("bc")}},
		{{[]byte(""), nil}},
		{{nil, []byte("")}},
		{{int64(1), int64(2)}},
		{{uint64(1), int64(2)}},
		{{int64(1), []byte{0, 0, 0, 0, 0, 0, 0, 2}}},
		{{ts, int64(0)}},
		{{ts.Add(time.Microsecond), int64(0)}},
		{{int64(1), int64(2)}, {int64(3), int64(4)}},
		{{int64(1), int64(2)}, {int64(3), int64(5)}},
	}
	seen := map[[32]byte]int{}
	for i, rs := range rows {
		h := &rowHasher{h: sha256.New()}
		h.table(tb)
		for _, r := range rs {
			if err := h.row(r); err != nil {
				t.Fatal(err)
			}
		}
		sum := [32]byte(h.h.Sum(nil))
		if j, dup := seen[sum]; dup {
			t.Errorf("rows %d and %d hash alike: %v, %v", j, i, rows[j], rs)
		}
		seen[sum] = i
	}
	h := &rowHasher{h: sha256.New()}
	if err := h.row([]any{struct{}{}}); err == nil {
		t.Error("an unknown type was hashed")
	}
}
