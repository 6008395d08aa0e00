package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/router"
	"github.com/cangqiong/cangqiong/sharding/schema"
)

// TestShopOrdersAcrossShards: a merchant's listing of one shop's orders
// gathers them from every shard, newest first, and pages through them
// without duplicates or gaps; the pages together are exactly what the
// shards hold for the shop.
func TestShopOrdersAcrossShards(t *testing.T) {
	e := start(t, 3)
	const owner = 900
	cat := e.shopWithDishes(owner, "eu", 1)
	other := e.shopWithDishes(owner+1, "eu", 1)
	for i, shard := range []string{"shard-0", "shard-1", "shard-2", "shard-0", "shard-1"} {
		u := e.as(customer(e.c.UserOn(shard, int64(2000+100*i))))
		addr := u.address()
		for j := range 3 {
			u.putCart(cat.Shop.ID, cat.Dishes[0].ID, j+1)
			u.order(addr.ID, "o-"+itoa(int64(j)))
		}
		u.putCart(other.Shop.ID, other.Dishes[0].ID, 1) // another shop's orders stay out
		u.order(addr.ID, "other")
	}
	tieOrdersOnEveryShard(t, e, cat.Shop.ID)

	got := pageThrough(t, e.as(merchant(owner)), cat.Shop.ID, 4)
	want := shardsHold(t, e, cat.Shop.ID)
	if len(got) != len(want) || len(want) != 5*3+3 {
		t.Fatalf("listed %d orders, the shards hold %d (want 18)", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("position %d: listed %s, want %s\nlisted %v\nwant   %v", i, got[i], want[i], got, want)
		}
	}
	var admin OrderPage
	e.as(adminUser()).must(200, &admin, "GET", "/api/v1/shops/"+itoa(cat.Shop.ID)+"/orders?limit=100", nil)
	if len(admin.Orders) != len(want) || admin.NextCursor != "" {
		t.Fatalf("admin listing: %d orders, cursor %q", len(admin.Orders), admin.NextCursor)
	}
}

// tieOrdersOnEveryShard writes one order per shard straight to the shard,
// all with the same created_at, so that only the id orders them.
func tieOrdersOnEveryShard(t *testing.T, e *env, shop int64) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Microsecond)
	for i, shard := range e.c.Topology.AllShards() {
		user := e.c.UserOn(shard, 9000)
		_, err := e.c.Direct(t, shard).Exec(insertOrderSQL, user, e.app.ids.Next(), shop, "paid", 100+i, at, at,
			1, "R", "1", "L1", "", "C", "", "", "US")
		if err != nil {
			t.Fatal(err)
		}
	}
}

// pageThrough lists every page and returns the refs in listed order,
// checking the order and that no ref repeats.
func pageThrough(t *testing.T, m *client, shop int64, limit int) []string {
	t.Helper()
	var refs []string
	var last *OrderSummary
	cursor := ""
	for pages := 0; ; pages++ {
		var page OrderPage
		m.must(200, &page, "GET", "/api/v1/shops/"+itoa(shop)+"/orders?limit="+itoa(int64(limit))+"&cursor="+cursor, nil)
		for _, o := range page.Orders {
			if last != nil && !newer(last, o) {
				t.Fatalf("page %d: %s (%v) listed after %s (%v)", pages, o.Ref, o.CreatedAt, last.Ref, last.CreatedAt)
			}
			if slices.Contains(refs, o.Ref) || o.ShopID != shop {
				t.Fatalf("page %d: %s repeated or of shop %d", pages, o.Ref, o.ShopID)
			}
			refs, last = append(refs, o.Ref), o
		}
		if page.NextCursor == "" {
			if pages < 2 {
				t.Fatalf("only %d pages", pages+1)
			}
			return refs
		}
		if len(page.Orders) != limit {
			t.Fatalf("page %d holds %d orders and has a next page", pages, len(page.Orders))
		}
		cursor = page.NextCursor
	}
}

// newer reports whether a comes before b in a newest-first listing.
func newer(a, b *OrderSummary) bool {
	return a.CreatedAt.After(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID > b.ID
}

// shardsHold reads the shop's orders from each shard directly and sorts
// their union newest first.
func shardsHold(t *testing.T, e *env, shop int64) []string {
	t.Helper()
	var all []*OrderSummary
	for _, shard := range e.c.Topology.AllShards() {
		rows, err := e.c.Direct(t, shard).QueryContext(context.Background(), "SELECT "+summaryCols+" FROM orders WHERE shop_id = ?", shop)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			o, err := scanSummary(rows)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, o)
		}
		rows.Close()
	}
	slices.SortFunc(all, func(a, b *OrderSummary) int {
		if newer(a, b) {
			return -1
		}
		return 1
	})
	refs := make([]string, len(all))
	for i, o := range all {
		refs[i] = o.Ref
	}
	return refs
}

// TestShopOrdersSkipCopiesAReshardLeftBehind: during a reshard's grace
// period the old shard still holds copies of the moved users' orders. The
// listing selects user_id, so the executor drops every row a shard does
// not own, and each order is listed once.
func TestShopOrdersSkipCopiesAReshardLeftBehind(t *testing.T) {
	for _, q := range []string{listShopOrdersSQL, listShopOrdersAfterSQL} {
		if p, err := router.New(schema.VSchema(), router.Options{}); err != nil {
			t.Fatal(err)
		} else if plan, err := p.Plan(q); err != nil || plan.Merge == nil || plan.Merge.ShardKey == nil {
			t.Fatalf("%s: the scatter does not select the shard key (%v): %v", q, err, plan)
		}
	}
	e := start(t, 3)
	const owner = 901
	cat := e.shopWithDishes(owner, "eu", 1)
	for i, shard := range []string{"shard-0", "shard-1", "shard-2"} {
		u := e.as(customer(e.c.UserOn(shard, int64(3000+100*i))))
		addr := u.address()
		for j := range 3 {
			u.putCart(cat.Shop.ID, cat.Dishes[0].ID, j+1)
			u.order(addr.ID, "o-"+itoa(int64(j)))
		}
	}
	want := shardsHold(t, e, cat.Shop.ID)
	shards := e.c.Topology.RingShards()
	held := make([][][]any, len(shards))
	for i, shard := range shards {
		held[i] = shopOrderRows(t, e, cat.Shop.ID, shard)
	}
	for i, rows := range held { // each shard's orders onto the next shard
		for _, vals := range rows {
			if _, err := e.c.Direct(t, shards[(i+1)%len(shards)]).Exec(insertOrderSQL, vals...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := pageThrough(t, e.as(merchant(owner)), cat.Shop.ID, 2); !slices.Equal(got, want) {
		t.Fatalf("with copies on the next shard listed\n%v\nwant\n%v", got, want)
	}
}

// shopOrderRows reads the shop's orders on one shard as insertOrderSQL's
// arguments.
func shopOrderRows(t *testing.T, e *env, shop int64, shard string) [][]any {
	t.Helper()
	rows, err := e.c.Direct(t, shard).QueryContext(context.Background(), "SELECT "+orderCols+" FROM orders WHERE shop_id = ?", shop)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		t.Fatalf("%s holds %d orders of shop %d (%v)", shard, len(out), shop, err)
	}
	return out
}
