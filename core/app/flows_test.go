package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// TestAddressBook: create, list, read, replace, delete; one default.
func TestAddressBook(t *testing.T) {
	e := start(t, 2)
	u := e.as(customer(e.c.UserOn("shard-1", 50)))
	first, second := u.address(), u.address() // both asked to be the default
	var list struct{ Addresses []Address }
	w := u.must(200, &list, "GET", "/api/v1/me/addresses", nil)
	if len(list.Addresses) != 2 || list.Addresses[0].IsDefault || !list.Addresses[1].IsDefault || w.Header().Get("Cache-Control") != "private" {
		t.Fatalf("addresses %+v", list.Addresses)
	}
	body := map[string]any{"label": "work", "recipient": "Ada", "phone": "555 0101", "line1": "2 Side St", "line2": "Floor 3",
		"city": "Springfield", "region": "", "postal_code": "", "country": "US", "is_default": true}
	var got Address
	w = u.must(200, &got, "PUT", "/api/v1/me/addresses/"+itoa(first.ID), body)
	if got.Label != "work" || got.Line2 != "Floor 3" || !got.IsDefault || !got.CreatedAt.Equal(first.CreatedAt) || w.Header().Get(headerVersion) == "" {
		t.Fatalf("replaced %+v", got)
	}
	u.must(200, &got, "GET", "/api/v1/me/addresses/"+itoa(second.ID), nil)
	if got.IsDefault {
		t.Fatal("two default addresses")
	}
	u.must(204, nil, "DELETE", "/api/v1/me/addresses/"+itoa(second.ID), nil)
	u.must(404, nil, "GET", "/api/v1/me/addresses/"+itoa(second.ID), nil)
	u.must(404, nil, "DELETE", "/api/v1/me/addresses/"+itoa(second.ID), nil)
	u.must(404, nil, "PUT", "/api/v1/me/addresses/"+itoa(second.ID), body)
	for range MaxAddresses - 1 {
		u.address()
	}
	if w := u.do("POST", "/api/v1/me/addresses", body); w.Code != 409 || errorCode(t, w) != codeTooManyAddresses {
		t.Fatalf("address %d: %d %s", MaxAddresses+1, w.Code, w.Body)
	}
}

// TestCartEdits: quantities replace, dishes come and go, the cart shows
// today's prices and flags dishes taken off sale.
func TestCartEdits(t *testing.T) {
	e := start(t, 2)
	cat := e.shopWithDishes(300, "eu", 3)
	u := e.as(customer(e.c.UserOn("shard-0", 70)))
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 1)
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 4)
	u.putCart(cat.Shop.ID, cat.Dishes[1].ID, 1)
	u.putCart(cat.Shop.ID, cat.Dishes[2].ID, 1)
	u.must(204, nil, "DELETE", "/api/v1/me/cart/items/"+itoa(cat.Dishes[2].ID), nil)
	d := cat.Dishes[1]
	e.as(merchant(300)).must(200, nil, "PUT", dishPath(d), map[string]any{"category_id": d.CategoryID, "name": "Renamed", "description": "", "price_cents": 5, "on_sale": false})
	var cart Cart
	w := u.must(200, &cart, "GET", "/api/v1/me/cart", nil)
	if len(cart.Items) != 2 || cart.Items[0].Quantity != 4 || cart.Items[1].Name != "Renamed" || cart.Items[1].Available || cart.TotalCents != 4000 {
		t.Fatalf("cart %+v %+v", cart.Items[0], cart.Items[1])
	}
	if w.Header().Get("Surrogate-Key") != keyUser(u.who.UserID, "cart") {
		t.Fatalf("headers %v", w.Header())
	}
	addr := u.address()
	if w := u.do("POST", "/api/v1/me/orders", map[string]any{"address_id": addr.ID}, headerIdemKey, "k"); w.Code != 409 || errorCode(t, w) != codeDishNotOnSale {
		t.Fatalf("ordering a dish taken off sale: %d %s", w.Code, w.Body)
	}
	u.must(204, nil, "DELETE", "/api/v1/me/cart", nil)
	u.must(204, nil, "DELETE", "/api/v1/me/cart", nil) // clearing an empty cart is fine
	var cleared Cart
	u.must(200, &cleared, "GET", "/api/v1/me/cart", nil)
	if len(cleared.Items) != 0 || cleared.ShopID != 0 {
		t.Fatalf("cleared cart %+v", cleared)
	}
}

// TestCancel: an unpaid order is cancelled without payments, a paid one
// with a refund of the charge; a cancelled order stays cancelled.
func TestCancel(t *testing.T) {
	e := start(t, 2)
	cat := e.shopWithDishes(400, "eu", 1)
	u := e.as(customer(e.c.UserOn("shard-1", 80)))
	addr := u.address()
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 3)
	unpaid := u.order(addr.ID, "a")
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 2)
	paid := u.order(addr.ID, "b")
	u.must(200, nil, "POST", "/api/v1/me/orders/"+paid.Ref+"/pay", nil, headerIdemKey, "pay-b")

	var o Order
	u.must(200, &o, "POST", "/api/v1/me/orders/"+unpaid.Ref+"/cancel", nil)
	if o.Status != StatusCancelled || len(o.Payments) != 0 {
		t.Fatalf("cancelled unpaid %+v", o)
	}
	u.must(200, &o, "POST", "/api/v1/me/orders/"+paid.Ref+"/cancel", nil)
	if o.Status != StatusCancelled || len(o.Payments) != 2 || o.Payments[1].Kind != "refund" || o.Payments[1].AmountCents != 2000 {
		t.Fatalf("cancelled paid %+v", o.Payments)
	}
	u.must(409, nil, "POST", "/api/v1/me/orders/"+paid.Ref+"/cancel", nil)
	var got Order
	e.as(merchant(400)).must(200, &got, "GET", "/api/v1/orders/"+paid.Ref, nil)
	if got.Status != StatusCancelled || len(got.Items) != 1 {
		t.Fatalf("merchant's view %+v", got)
	}
	e.as(merchant(401)).must(404, nil, "GET", "/api/v1/orders/"+paid.Ref, nil)
}

// TestCatalogEdits: dishes are edited and deleted, shops open and close,
// and the public catalog follows; the shop list pages by id.
func TestCatalogEdits(t *testing.T) {
	e := start(t, 1)
	cat := e.shopWithDishes(100, "ap-south", 2)
	m := e.as(merchant(100))
	m.must(204, nil, "DELETE", dishPath(cat.Dishes[0]), nil)
	m.must(404, nil, "DELETE", dishPath(cat.Dishes[0]), nil)
	var menu Menu
	e.as(nil).must(200, &menu, "GET", "/api/v1/shops/"+itoa(cat.Shop.ID)+"/menu", nil)
	if len(menu.Categories) != 1 || len(menu.Categories[0].Dishes) != 1 || menu.Categories[0].Dishes[0].ID != cat.Dishes[1].ID {
		t.Fatalf("menu %+v", menu)
	}
	var s ManagedShop
	w := m.must(200, &s, "POST", "/api/v1/shops/"+itoa(cat.Shop.ID)+"/close", nil)
	if s.IsOpen || s.OwnerUserID != 100 {
		t.Fatalf("closed %+v", s)
	}
	checkVersion(t, w.Header().Get(headerVersion), "global")
	for range 4 {
		e.shopWithDishes(101, "ap-south", 0)
	}
	seen := map[int64]bool{}
	next := ""
	for pages := 1; ; pages++ {
		var page ShopPage
		e.as(nil).must(200, &page, "GET", "/api/v1/shops?region=ap-south&limit=2&cursor="+next, nil)
		for _, s := range page.Shops {
			if seen[s.ID] {
				t.Fatalf("shop %d listed twice", s.ID)
			}
			seen[s.ID] = true
		}
		if next = page.NextCursor; next == "" {
			if len(seen) != 5 || pages != 3 {
				t.Fatalf("%d shops over %d pages", len(seen), pages)
			}
			return
		}
	}
}

// TestStatusGuard: a move from a status the order no longer has changes
// nothing and is refused with the status it has now, as when two moves
// race.
func TestStatusGuard(t *testing.T) {
	e := start(t, 1)
	cat := e.shopWithDishes(10, "eu", 1)
	u := e.as(customer(20))
	addr := u.address()
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 1)
	o := u.order(addr.ID, "k")
	u.must(200, nil, "POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "p")
	ref, _ := ParseOrderRef(o.Ref)
	ctx := t.Context()
	tx, _ := e.app.exec.Begin(ctx, nil)
	defer tx.Rollback()
	err := setStatus(ctx, tx, ref, StatusPendingPayment, StatusPaid) // what a loser of a race read
	var api *httpapi.Error
	if !errors.As(err, &api) || api.Code != codeIllegalTransition || !strings.Contains(api.Message, "is paid") {
		t.Fatalf("stale move: %v", err)
	}
}

// TestShardDownIsUnavailable: when a user's shard does not answer, the
// API says 503 unavailable (worth a retry), and other shards serve on.
func TestShardDownIsUnavailable(t *testing.T) {
	e := start(t, 2)
	down, up := e.as(customer(e.c.UserOn("shard-1", 1))), e.as(customer(e.c.UserOn("shard-0", 1)))
	if err := e.c.Servers["shard-1"].Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := down.do("GET", "/api/v1/me/cart", nil)
	if w.Code != 503 || errorCode(t, w) != codeUnavailable || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("cart on a stopped shard: %d %s", w.Code, w.Body)
	}
	up.must(200, nil, "GET", "/api/v1/me/cart", nil)
}
