package move

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

func TestTablesReadsTheMovedTablesOfTheSchema(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 1})
	db := c.Direct(t, "shard-0")
	tables, err := Tables(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name)
	}
	want := []string{"users", "addresses", "cart_items", "idempotency_keys", "order_items", "orders", "payments"}
	if !slices.Equal(names, want) {
		t.Fatalf("tables %v, want %v", names, want)
	}
	// Every shard table the migrations create is moved but the outbox,
	// its counter and the migrations' record.
	for _, name := range schema.Tables(schema.Shard) {
		if slices.Contains(names, name) == notMoved(name) {
			t.Errorf("table %s: moved is %v", name, !notMoved(name))
		}
	}
	keys := map[string][]string{
		"users": {"user_id"}, "addresses": {"user_id", "id"}, "cart_items": {"user_id", "dish_id"},
		"idempotency_keys": {"user_id", "idem_key"}, "order_items": {"user_id", "order_id", "id"},
		"orders": {"user_id", "id"}, "payments": {"user_id", "id"},
	}
	for _, tb := range tables {
		if !slices.Equal(tb.Key, keys[tb.Name]) {
			t.Errorf("%s: key %v, want %v", tb.Name, tb.Key, keys[tb.Name])
		}
	}
	idem := tables[slices.IndexFunc(tables, func(tb Table) bool { return tb.Name == "idempotency_keys" })]
	wantCols := []string{"user_id", "idem_key", "request_hash", "response_status", "response_body", "created_at"}
	if !slices.Equal(idem.Columns, wantCols) {
		t.Errorf("idempotency_keys columns %v, want %v (table order)", idem.Columns, wantCols)
	}
}

func TestTablesFollowNewMigrationsAndRefuseUnmovableTables(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 1})
	db := c.Direct(t, "shard-0")
	ctx := context.Background()
	cases := []struct {
		name   string
		create string
		want   error // nil: Tables succeeds
		moved  bool  // the new table or view is listed
	}{
		{"a new per-user table", "CREATE TABLE loyalty (user_id BIGINT NOT NULL, shop_id BIGINT NOT NULL, points INT NOT NULL, PRIMARY KEY (user_id, shop_id))", nil, true},
		{"a key that does not lead with user_id", "CREATE TABLE reviews (id BIGINT NOT NULL, user_id BIGINT NOT NULL, PRIMARY KEY (id), KEY (user_id))", ErrUnmovable, false},
		{"no primary key", "CREATE TABLE notes (user_id BIGINT NOT NULL, body TEXT, KEY (user_id))", ErrUnmovable, false},
		{"a view is not a table", "CREATE VIEW user_names AS SELECT user_id, name FROM users", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.ExecContext(ctx, tc.create); err != nil {
				t.Fatal(err)
			}
			tables, err := Tables(ctx, db)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Tables: %v, want %v", err, tc.want)
			}
			if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS loyalty, reviews, notes"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "DROP VIEW IF EXISTS user_names"); err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				return
			}
			if got := len(tables) == 8; got != tc.moved {
				t.Fatalf("%d tables %v: want the new one listed: %v", len(tables), tables, tc.moved)
			}
			if tc.moved && !slices.ContainsFunc(tables, func(tb Table) bool {
				return tb.Name == "loyalty" && slices.Equal(tb.Key, []string{"user_id", "shop_id"}) && len(tb.Columns) == 3
			}) {
				t.Fatalf("tables %v: want loyalty with its key and columns", tables)
			}
		})
	}
}
