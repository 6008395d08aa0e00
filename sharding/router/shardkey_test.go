package router

import (
	"math"
	"reflect"
	"testing"
)

// TestScatterShardKey checks which scatters record the result column of
// their shard key: only those whose rows the executor can check.
func TestScatterShardKey(t *testing.T) {
	r := testRouter(t)
	for _, c := range []struct {
		sql  string
		want *KeyColumn
	}{
		{"SELECT user_id, id FROM orders WHERE shop_id = ? ORDER BY id LIMIT ?", &KeyColumn{Index: 0, Column: "user_id"}},
		{"SELECT id, (o.user_id) AS u FROM orders o", &KeyColumn{Index: 1, Column: "u"}},
		{"SELECT * FROM orders", &KeyColumn{Index: -1, Column: "user_id"}},
		{"SELECT id, p.user_id FROM orders o JOIN payments p ON p.user_id = o.user_id", &KeyColumn{Index: 1, Column: "user_id"}},
		{"SELECT o.id, user_id FROM orders o JOIN payments p USING (user_id)", &KeyColumn{Index: 1, Column: "user_id"}},
		{"SELECT id FROM orders", nil},
		{"SELECT id, user_id + 1 FROM orders", nil},
		{"SELECT *, id AS user_id FROM orders", nil},
		{"SELECT COUNT(*) FROM orders", nil},
		{"SELECT id, user_id FROM orders WHERE user_id IN (1, 2)", nil}, // a split IN: each shard gets only its keys
	} {
		p, err := r.Plan(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var got *KeyColumn
		if p.Merge != nil {
			got = p.Merge.ShardKey
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: shard key %+v, want %+v", c.sql, got, c.want)
		}
	}
}

// TestShardSQLWidensTheLimit: a scatter that checks ownership can ask a
// shard again for more rows; the other arguments keep their order.
func TestShardSQLWidensTheLimit(t *testing.T) {
	r := testRouter(t)
	for _, c := range []struct {
		sql      string
		args     []any
		rows     int64 // ShardRows
		widened  string
		wideArgs []any
	}{
		{"SELECT user_id, id FROM orders WHERE shop_id = ? ORDER BY id LIMIT ?", []any{12, 21}, 21,
			"SELECT `user_id`,`id` FROM `orders` WHERE `shop_id`=? ORDER BY `id` LIMIT 84", []any{12}},
		{"SELECT user_id, id FROM orders WHERE shop_id = ? ORDER BY id LIMIT ?, ?", []any{12, 5, 10}, 15,
			"SELECT `user_id`,`id` FROM `orders` WHERE `shop_id`=? ORDER BY `id` LIMIT 84", []any{12}},
		{"SELECT user_id, id FROM orders WHERE status = ? LIMIT 3", []any{"paid"}, 3,
			"SELECT `user_id`,`id` FROM `orders` WHERE `status`=? LIMIT 84", []any{"paid"}},
	} {
		route, err := r.Route(modTopology{}, c.sql, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if route.ShardRows() != c.rows {
			t.Errorf("%s: ShardRows %d, want %d", c.sql, route.ShardRows(), c.rows)
		}
		sql, args, ok := route.ShardSQL(84)
		if !ok || sql != c.widened || !reflect.DeepEqual(args, c.wideArgs) {
			t.Errorf("%s: ShardSQL(84) = %q %v %v, want %q %v", c.sql, sql, args, ok, c.widened, c.wideArgs)
		}
	}
	for _, q := range []string{"SELECT id FROM orders LIMIT 3", "SELECT user_id FROM orders WHERE user_id = 3"} {
		route, err := r.Route(modTopology{}, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := route.ShardSQL(84); ok {
			t.Errorf("%s: ShardSQL should refuse a route without a shard key and LIMIT on every shard", q)
		}
	}
	route, _ := r.Route(modTopology{}, "SELECT user_id FROM orders", nil)
	if route.ShardRows() != math.MaxInt64 {
		t.Errorf("no LIMIT: ShardRows %d", route.ShardRows())
	}
}
