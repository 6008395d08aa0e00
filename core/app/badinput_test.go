package app

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// badInputWorld is the state the bad-input cases run against.
type badInputWorld struct {
	e              *env
	shopA, shopB   *catalog
	shopC          *catalog // closed after user2 filled a cart from it
	offSale        Dish     // a dish of shopA that is not on sale
	u, u2, u3      *client  // u: cart of shopA; u2: cart of closed shopC; u3: empty cart
	addr, addr2    Address
	addr3          Address
	pending, done  Order // u's orders: pending payment, and completed
	other          Order // u2's order
	ownerA, ownerB int64
}

func newBadInputWorld(t *testing.T) *badInputWorld {
	e := start(t, 3)
	w := &badInputWorld{e: e, ownerA: 800, ownerB: 801}
	w.shopA = e.shopWithDishes(w.ownerA, "eu", 3)
	w.shopB = e.shopWithDishes(w.ownerB, "eu", 1)
	w.shopC = e.shopWithDishes(w.ownerA, "us", 1)
	mA := e.as(merchant(w.ownerA))
	d := w.shopA.Dishes[2]
	mA.must(200, &w.offSale, "PUT", dishPath(d), map[string]any{"category_id": d.CategoryID, "name": d.Name, "description": d.Description, "price_cents": d.PriceCents, "on_sale": false})

	w.u = e.as(customer(e.c.UserOn("shard-0", 100)))
	w.u2 = e.as(customer(e.c.UserOn("shard-1", 100)))
	w.u3 = e.as(customer(e.c.UserOn("shard-2", 100)))
	w.addr, w.addr3 = w.u.address(), w.u3.address()
	w.addr2 = w.u2.address()

	w.u.putCart(w.shopA.Shop.ID, w.shopA.Dishes[0].ID, 1)
	w.done = w.u.order(w.addr.ID, "setup-done")
	w.u.must(200, nil, "POST", "/api/v1/me/orders/"+w.done.Ref+"/pay", nil, headerIdemKey, "setup-pay")
	for _, s := range []string{"accepted", "delivering", "completed"} {
		mA.must(200, nil, "POST", "/api/v1/orders/"+w.done.Ref+"/status", map[string]any{"status": s})
	}
	w.u.putCart(w.shopA.Shop.ID, w.shopA.Dishes[1].ID, 1)
	w.pending = w.u.order(w.addr.ID, "setup-key")
	w.u.putCart(w.shopA.Shop.ID, w.shopA.Dishes[0].ID, 2)

	w.u2.putCart(w.shopC.Shop.ID, w.shopC.Dishes[0].ID, 1)
	w.other = w.u2.order(w.addr2.ID, "u2-order")
	w.u2.putCart(w.shopC.Shop.ID, w.shopC.Dishes[0].ID, 1)
	mA.must(200, nil, "POST", "/api/v1/shops/"+itoa(w.shopC.Shop.ID)+"/close", nil)
	return w
}

func dishPath(d Dish) string {
	return "/api/v1/shops/" + itoa(d.ShopID) + "/dishes/" + itoa(d.ID)
}

// TestBadInputWritesNothing: every rejected request is answered with its
// status and code as a no-store JSON error without a version, and leaves
// every table of every keyspace as it was.
func TestBadInputWritesNothing(t *testing.T) {
	w := newBadInputWorld(t)
	before := w.e.snapshot()
	for _, c := range badInputCases(w) {
		t.Run(c.name, func(t *testing.T) {
			rec := c.do()
			if rec.Code != c.status {
				t.Fatalf("%d %s; want %d %s", rec.Code, strings.TrimSpace(rec.Body.String()), c.status, c.code)
			}
			if code := errorCode(t, rec); code != c.code {
				t.Fatalf("code %q (%s), want %q", code, rec.Body, c.code)
			}
			if h := rec.Header(); h.Get("Cache-Control") != "no-store" || h.Get(headerVersion) != "" || h.Get("Surrogate-Key") != "" {
				t.Fatalf("error headers %v", h)
			}
			if d := diff(before, w.e.snapshot()); len(d) > 0 {
				t.Fatalf("a rejected request wrote:\n%s", strings.Join(d, "\n"))
			}
		})
	}
	// The control: the snapshot does see an accepted write.
	w.u.putCart(w.shopA.Shop.ID, w.shopA.Dishes[0].ID, 5)
	if len(diff(before, w.e.snapshot())) == 0 {
		t.Fatal("the snapshot did not notice a write")
	}
}

type badCase struct {
	name   string
	status int
	code   string
	do     func() *httptest.ResponseRecorder
}

func badInputCases(w *badInputWorld) []badCase {
	a, b := w.shopA, w.shopB
	aID, bID := itoa(a.Shop.ID), itoa(b.Shop.ID)
	item := func(d Dish) string { return "/api/v1/me/cart/items/" + itoa(d.ID) }
	anon, mA, cust := w.e.as(nil), w.e.as(merchant(w.ownerA)), w.u
	huge := `{"name":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `","email":"a@b.co"}`
	return []badCase{
		{"malformed JSON", 400, "malformed_json", func() *httptest.ResponseRecorder { return cust.do("PUT", "/api/v1/me", `{"name":`) }},
		{"unknown field", 400, "unknown_field", func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), `{"shop_id":`+aID+`,"quantity":1,"note":"x"}`)
		}},
		{"wrong type", 400, "wrong_type", func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), `{"shop_id":"`+aID+`","quantity":1}`)
		}},
		{"two JSON values", 400, "malformed_json", func() *httptest.ResponseRecorder { return cust.do("PUT", "/api/v1/me", `{} {}`) }},
		{"not JSON", 415, "unsupported_media_type", func() *httptest.ResponseRecorder {
			return cust.do("PUT", "/api/v1/me", `name=x`, "Content-Type", "application/x-www-form-urlencoded")
		}},
		{"zero quantity", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), map[string]any{"shop_id": a.Shop.ID, "quantity": 0})
		}},
		{"negative quantity", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), map[string]any{"shop_id": a.Shop.ID, "quantity": -2})
		}},
		{"quantity too large", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), map[string]any{"shop_id": a.Shop.ID, "quantity": MaxQuantity + 1})
		}},
		{"negative shop id", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(a.Dishes[1]), map[string]any{"shop_id": -1, "quantity": 1})
		}},
		{"unknown dish", 404, codeUnknownDish, func() *httptest.ResponseRecorder {
			return cust.do("PUT", "/api/v1/me/cart/items/999999", map[string]any{"shop_id": a.Shop.ID, "quantity": 1})
		}},
		{"dish of another shop", 422, codeDishNotInShop, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(b.Dishes[0]), map[string]any{"shop_id": a.Shop.ID, "quantity": 1})
		}},
		{"dish not on sale", 409, codeDishNotOnSale, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(w.offSale), map[string]any{"shop_id": a.Shop.ID, "quantity": 1})
		}},
		{"cart holds another shop", 409, codeCartShopConflict, func() *httptest.ResponseRecorder {
			return cust.do("PUT", item(b.Dishes[0]), map[string]any{"shop_id": b.Shop.ID, "quantity": 1})
		}},
		{"dish not in cart", 404, codeNotInCart, func() *httptest.ResponseRecorder { return cust.do("DELETE", item(a.Dishes[2]), nil) }},
		{"closed shop", 409, codeShopClosed, func() *httptest.ResponseRecorder {
			return w.u2.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr2.ID}, headerIdemKey, "closed-1")
		}},
		{"empty cart", 409, codeCartEmpty, func() *httptest.ResponseRecorder {
			return w.u3.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr3.ID}, headerIdemKey, "empty-1")
		}},
		{"unknown address", 422, codeUnknownAddress, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr3.ID}, headerIdemKey, "addr-1")
		}},
		{"huge body", 413, "body_too_large", func() *httptest.ResponseRecorder { return cust.do("PUT", "/api/v1/me", huge) }},
		{"missing idempotency key", 400, codeIdemRequired, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr.ID})
		}},
		{"malformed idempotency key", 400, codeBadIdemKey, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr.ID}, headerIdemKey, "two words")
		}},
		{"idempotency key too long", 400, codeBadIdemKey, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr.ID}, headerIdemKey, strings.Repeat("k", 129))
		}},
		{"pay without idempotency key", 400, codeIdemRequired, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders/"+w.pending.Ref+"/pay", nil)
		}},
		{"key reused with another body", 422, codeIdemReused, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders", map[string]any{"address_id": w.addr.ID + 1}, headerIdemKey, "setup-key")
		}},
		{"another user's order", 404, codeUnknownOrder, func() *httptest.ResponseRecorder { return cust.do("GET", "/api/v1/me/orders/"+w.other.Ref, nil) }},
		{"pay another user's order", 404, codeUnknownOrder, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders/"+w.other.Ref+"/pay", nil, headerIdemKey, "steal-1")
		}},
		{"cancel another user's order", 404, codeUnknownOrder, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders/"+w.other.Ref+"/cancel", nil)
		}},
		{"order that does not exist", 404, codeUnknownOrder, func() *httptest.ResponseRecorder {
			return cust.do("GET", "/api/v1/me/orders/"+OrderRef{UserID: w.u.who.UserID, OrderID: 12345}.String(), nil)
		}},
		{"cancel a completed order", 409, codeIllegalTransition, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/orders/"+w.done.Ref+"/cancel", nil)
		}},
		{"complete an unpaid order", 409, codeIllegalTransition, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/orders/"+w.pending.Ref+"/status", map[string]any{"status": "completed"})
		}},
		{"status the merchant may not set", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/orders/"+w.pending.Ref+"/status", map[string]any{"status": "paid"})
		}},
		{"merchant moves another shop's order", 404, codeUnknownOrder, func() *httptest.ResponseRecorder {
			return w.e.as(merchant(w.ownerB)).do("POST", "/api/v1/orders/"+w.pending.Ref+"/status", map[string]any{"status": "accepted"})
		}},
		{"merchant opens another merchant's shop", 403, codeForbidden, func() *httptest.ResponseRecorder { return mA.do("POST", "/api/v1/shops/"+bID+"/close", nil) }},
		{"merchant adds a dish to another merchant's shop", 403, codeForbidden, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/shops/"+bID+"/dishes", map[string]any{"category_id": b.Cat.ID, "name": "x", "price_cents": 1, "on_sale": true})
		}},
		{"merchant lists another merchant's orders", 403, codeForbidden, func() *httptest.ResponseRecorder { return mA.do("GET", "/api/v1/shops/"+bID+"/orders", nil) }},
		{"dish of another shop under my shop", 404, codeUnknownDish, func() *httptest.ResponseRecorder {
			return mA.do("DELETE", "/api/v1/shops/"+aID+"/dishes/"+itoa(b.Dishes[0].ID), nil)
		}},
		{"category of another shop", 422, codeCategoryNotInShop, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/shops/"+aID+"/dishes", map[string]any{"category_id": b.Cat.ID, "name": "x", "price_cents": 1, "on_sale": true})
		}},
		{"dish without a price", 400, codeMissingField, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/shops/"+aID+"/dishes", map[string]any{"category_id": a.Cat.ID, "name": "x", "on_sale": true})
		}},
		{"customer opens a shop", 403, codeForbidden, func() *httptest.ResponseRecorder { return cust.do("POST", "/api/v1/shops/"+aID+"/open", nil) }},
		{"merchant creates a shop", 403, codeForbidden, func() *httptest.ResponseRecorder {
			return mA.do("POST", "/api/v1/shops", map[string]any{"owner_user_id": w.ownerA, "name": "x", "region": "eu"})
		}},
		{"no identity: profile", 401, codeUnauthenticated, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/me", nil) }},
		{"no identity: order", 401, codeUnauthenticated, func() *httptest.ResponseRecorder {
			return anon.do("POST", "/api/v1/me/orders", map[string]any{"address_id": 1}, headerIdemKey, "k")
		}},
		{"no identity: merchant", 401, codeUnauthenticated, func() *httptest.ResponseRecorder { return anon.do("POST", "/api/v1/shops/"+aID+"/open", nil) }},
		{"bad cursor", 400, codeBadCursor, func() *httptest.ResponseRecorder { return cust.do("GET", "/api/v1/me/orders?cursor=not-a-cursor", nil) }},
		{"bad shop cursor", 400, codeBadCursor, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/shops?cursor=MDE", nil) }},
		{"bad limit", 400, codeBadLimit, func() *httptest.ResponseRecorder { return cust.do("GET", "/api/v1/me/orders?limit=101", nil) }},
		{"bad region", 400, codeBadRegion, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/shops?region=EU%20West", nil) }},
		{"bad order ref", 400, codeBadOrderRef, func() *httptest.ResponseRecorder { return cust.do("GET", "/api/v1/me/orders/abc", nil) }},
		{"order ref with leading zero", 400, codeBadOrderRef, func() *httptest.ResponseRecorder { return cust.do("POST", "/api/v1/me/orders/01-5/cancel", nil) }},
		{"bad shop id", 400, codeBadID, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/shops/-3/menu", nil) }},
		{"unknown shop", 404, codeUnknownShop, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/shops/424242", nil) }},
		{"bad address field", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("POST", "/api/v1/me/addresses", map[string]any{"label": "x", "recipient": "y", "phone": "123", "line1": "z", "city": "c", "country": "usa"})
		}},
		{"bad email", 400, codeInvalidField, func() *httptest.ResponseRecorder {
			return cust.do("PUT", "/api/v1/me", map[string]any{"name": "A", "email": "nope"})
		}},
		{"unknown route", 404, codeNotFound, func() *httptest.ResponseRecorder { return anon.do("GET", "/api/v1/nothing", nil) }},
		{"wrong method", 405, codeMethodNotAllowed, func() *httptest.ResponseRecorder { return cust.do("PATCH", "/api/v1/me", nil) }},
	}
}
