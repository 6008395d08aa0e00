package move

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// countingDB records the DELETEs run through it and can fail the n-th.
type countingDB struct {
	*sql.DB
	batch   int64
	deletes atomic.Int64
	failAt  int64 // 0: never
	over    atomic.Int64
}

var errInjected = errors.New("injected failure")

func (c *countingDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if !strings.HasPrefix(q, "DELETE") {
		return c.DB.ExecContext(ctx, q, args...)
	}
	if n := c.deletes.Add(1); n == c.failAt {
		return nil, errInjected
	}
	res, err := c.DB.ExecContext(ctx, q, args...)
	if err == nil {
		if n, _ := res.RowsAffected(); n > c.batch {
			c.over.Add(1)
		}
	}
	return res, err
}

func TestDeleteUsersRemovesExactlyTheMovedUsersInBatches(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	all, moving, stayers := f.users(60)
	f.seed(t, all)
	staying := func(u int64) bool { return !f.moves(u) }
	kept := dump(t, f.src, f.tables, staying)
	moved := len(dump(t, f.src, f.tables, f.moves))

	// Cut off after 20 statements, then resumed by running again.
	db := &countingDB{DB: f.src, batch: 4, failAt: 20}
	n1, err := DeleteUsers(ctx, db, f.tables, Matching(f.moves), 4)
	if !errors.Is(err, errInjected) {
		t.Fatalf("DeleteUsers: %v, want the injected failure", err)
	}
	n2, err := DeleteUsers(ctx, db, f.tables, Matching(f.moves), 4)
	if err != nil {
		t.Fatal(err)
	}
	if n1+n2 != int64(moved) {
		t.Fatalf("deleted %d + %d rows, want %d", n1, n2, moved)
	}
	if db.over.Load() != 0 {
		t.Fatalf("%d statements deleted more than a batch of 4", db.over.Load())
	}
	if min := int64(moved / 4); db.deletes.Load() < min {
		t.Fatalf("%d statements for %d rows in batches of 4", db.deletes.Load(), moved)
	}
	sameRows(t, "source after the deletion", dump(t, f.src, f.tables, nil), kept)
	if n, err := DeleteUsers(ctx, db, f.tables, Matching(f.moves), 4); err != nil || n != 0 {
		t.Fatalf("a third run deleted %d rows (%v), want none", n, err)
	}

	// A list deletes those users alone; nobody at all is refused.
	if n, err := DeleteUsers(ctx, f.src, f.tables, List(moving[0], stayers[0]), 0); err != nil || n != 15 {
		t.Fatalf("deleting a list: %d rows, %v; want the 15 of user %d", n, err, stayers[0])
	}
	sameRows(t, "source after deleting a list", dump(t, f.src, f.tables, nil),
		dump(t, f.src, f.tables, func(u int64) bool { return u != stayers[0] }))
	if left := len(dump(t, f.src, f.tables, nil)); left != len(kept)-15 {
		t.Fatalf("%d rows left, want %d", left, len(kept)-15)
	}
	if n, err := DeleteUsers(ctx, f.src, f.tables, Users{}, 0); !errors.Is(err, ErrNoUsers) || n != 0 {
		t.Fatalf("deleting nobody: %d, %v; want ErrNoUsers", n, err)
	}
}

func TestAnEmptyListSelectsNobody(t *testing.T) {
	n, err := DeleteUsers(context.Background(), nopDB{}, []Table{{Name: "users", Columns: []string{"user_id"}, Key: []string{"user_id"}}}, List(), 0)
	if err != nil || n != 0 {
		t.Fatalf("deleting an empty list: %d, %v", n, err)
	}
}
