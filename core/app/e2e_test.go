package app

import (
	"context"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// TestOrderLifecycle runs the product end to end for one user: a merchant
// sets up a shop, the catalog is read as an edge would cache it, the user
// fills a profile, an address and a cart, orders, pays, and the merchant
// takes the order to completed. Then it checks where the rows landed.
func TestOrderLifecycle(t *testing.T) {
	e := start(t, 3)
	const owner = 500
	cat := e.shopWithDishes(owner, "eu-west", 2)
	shopID := cat.Shop.ID
	checkCatalogReads(t, e, cat)

	user := e.c.UserOn("shard-2", 1000)
	u := e.as(customer(user))
	u.must(404, nil, "GET", "/api/v1/me", nil)
	u.must(200, nil, "PUT", "/api/v1/me", map[string]any{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0000"})
	var p Profile
	w := u.must(200, &p, "GET", "/api/v1/me", nil)
	if p.Name != "Ada" || p.Role != "customer" || w.Header().Get("Cache-Control") != "private" || w.Header().Get("Surrogate-Key") != keyUser(user, "profile") {
		t.Fatalf("profile %+v, headers %v", p, w.Header())
	}
	addr := u.address()
	u.putCart(shopID, cat.Dishes[0].ID, 2)
	u.putCart(shopID, cat.Dishes[1].ID, 1)
	var cart Cart
	u.must(200, &cart, "GET", "/api/v1/me/cart", nil)
	if cart.ShopID != shopID || len(cart.Items) != 2 || cart.TotalCents != 2*1000+2000 {
		t.Fatalf("cart %+v", cart)
	}

	w = u.must(201, nil, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr.ID}, headerIdemKey, "order-1")
	o := decodeOrder(t, w.Body.Bytes())
	checkVersion(t, w.Header().Get(headerVersion), "shard-2")
	if o.Status != StatusPendingPayment || o.TotalCents != 4000 || len(o.Items) != 2 || o.Delivery.Line1 != "1 Main St" ||
		w.Header().Get("Location") != "/api/v1/me/orders/"+o.Ref {
		t.Fatalf("created %+v, headers %v", o, w.Header())
	}
	u.must(200, &cart, "GET", "/api/v1/me/cart", nil)
	if len(cart.Items) != 0 {
		t.Fatalf("the order left the cart %+v", cart)
	}

	u.must(200, &o, "POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "pay-1")
	if o.Status != StatusPaid || len(o.Payments) != 1 || o.Payments[0].Kind != "charge" || o.Payments[0].AmountCents != 4000 {
		t.Fatalf("paid %+v", o)
	}
	m := e.as(merchant(owner))
	for _, next := range []Status{StatusAccepted, StatusDelivering, StatusCompleted} {
		w := m.must(200, &o, "POST", "/api/v1/orders/"+o.Ref+"/status", map[string]any{"status": next})
		checkVersion(t, w.Header().Get(headerVersion), "shard-2")
		if o.Status != next {
			t.Fatalf("status %s, want %s", o.Status, next)
		}
	}
	var listed OrderPage
	u.must(200, &listed, "GET", "/api/v1/me/orders", nil)
	if len(listed.Orders) != 1 || listed.Orders[0].Ref != o.Ref || listed.Orders[0].Status != StatusCompleted {
		t.Fatalf("listed %+v", listed)
	}
	checkPlacement(t, e, user, o)
}

// checkCatalogReads reads the shop list, the shop and its menu as an edge
// would: public, with the configured lifetimes and the surrogate keys.
func checkCatalogReads(t *testing.T, e *env, cat *catalog) {
	t.Helper()
	anon := e.as(nil)
	id := itoa(cat.Shop.ID)
	const cc = "public, s-maxage=60, stale-while-revalidate=30, stale-if-error=600"
	for _, c := range []struct{ path, keys string }{
		{"/api/v1/shops", "shops"},
		{"/api/v1/shops?region=eu-west", "shops shops:region:eu-west"},
		{"/api/v1/shops/" + id, "shop:" + id},
		{"/api/v1/shops/" + id + "/menu", "shop:" + id + " menu:" + id},
	} {
		w := anon.must(200, nil, "GET", c.path, nil)
		if got := w.Header().Get("Cache-Control"); got != cc {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, got, cc)
		}
		if got := w.Header().Get("Surrogate-Key"); got != c.keys {
			t.Errorf("%s: Surrogate-Key %q, want %q", c.path, got, c.keys)
		}
		if strings.Contains(w.Body.String(), "owner_user_id") {
			t.Errorf("%s: the public catalog shows the owner: %s", c.path, w.Body)
		}
	}
	var menu Menu
	anon.must(200, &menu, "GET", "/api/v1/shops/"+id+"/menu", nil)
	if !menu.Shop.IsOpen || len(menu.Categories) != 1 || len(menu.Categories[0].Dishes) != len(cat.Dishes) {
		t.Fatalf("menu %+v", menu)
	}
	var page ShopPage
	anon.must(200, &page, "GET", "/api/v1/shops?region=elsewhere", nil)
	if len(page.Shops) != 0 {
		t.Fatalf("region filter: %+v", page)
	}
}

func checkVersion(t *testing.T, token, shard string) {
	t.Helper()
	v, err := outbox.ParseVersion(token)
	if err != nil || v.Shard != shard || v.Seq == 0 {
		t.Fatalf("Cq-Version %q (%v), want a version on %s", token, err, shard)
	}
}

// checkPlacement: the order's rows and the user's outbox rows are on the
// shard the ring names for the user and on no other.
func checkPlacement(t *testing.T, e *env, user int64, o Order) {
	t.Helper()
	ctx := context.Background()
	home := e.c.Topology.Owner(user)
	want := map[string]int{"orders": 1, "order_items": 2, "payments": 1, "idempotency_keys": 2, "cq_changes": 0}
	for _, shard := range e.c.Topology.AllShards() {
		db := e.c.Direct(t, shard)
		for table, n := range want {
			var got int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", user).Scan(&got); err != nil {
				t.Fatal(err)
			}
			switch {
			case shard != home && got != 0:
				t.Errorf("%s holds %d %s rows of user %d; they belong on %s", shard, got, table, user, home)
			case shard == home && table != "cq_changes" && got != n:
				t.Errorf("%s holds %d %s rows of user %d, want %d", shard, got, table, user, n)
			}
		}
	}
	checkOutboxKeys(t, e, home, user, o)
}

// checkOutboxKeys: every write of the user left an outbox row with the
// surrogate keys of what it changed.
func checkOutboxKeys(t *testing.T, e *env, shard string, user int64, o Order) {
	t.Helper()
	rows, err := e.c.Direct(t, shard).Query("SELECT surrogate_keys FROM cq_changes WHERE user_id = ? ORDER BY seq", user)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
	}
	ref, shop := OrderRef{UserID: user, OrderID: o.ID}, itoa(o.ShopID)
	orderKeys := "order:" + ref.String() + " user:" + itoa(user) + ":orders shop:" + shop + ":orders"
	want := []string{
		"user:" + itoa(user) + ":profile",
		"user:" + itoa(user) + ":addresses",
		"user:" + itoa(user) + ":cart",
		"user:" + itoa(user) + ":cart",
		orderKeys + " user:" + itoa(user) + ":cart",
		orderKeys, orderKeys, orderKeys, orderKeys, // paid, accepted, delivering, completed
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("outbox keys of user %d on %s:\n%s\nwant:\n%s", user, shard, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var global int
	if err := e.c.Direct(t, exec.GlobalTarget).QueryRow("SELECT COUNT(*) FROM cq_global_changes WHERE surrogate_keys LIKE ?", "%menu:"+shop+"%").Scan(&global); err != nil || global < 4 {
		t.Fatalf("global outbox holds %d changes of shop %s (%v), want the shop, category, dishes and opening", global, shop, err)
	}
}
