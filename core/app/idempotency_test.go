package app

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/schema"
)

// TestIdempotentRetry: a retried order creation or payment returns the
// first answer byte for byte and creates nothing new.
func TestIdempotentRetry(t *testing.T) {
	e := start(t, 2)
	cat := e.shopWithDishes(600, "eu", 1)
	user := e.c.UserOn("shard-1", 10)
	u := e.as(customer(user))
	addr := u.address()
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 1)

	body := map[string]any{"address_id": addr.ID}
	first := u.must(201, nil, "POST", "/api/v1/me/orders", body, headerIdemKey, "k-1")
	o := decodeOrder(t, first.Body.Bytes())
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 3) // the retry must not order this cart
	again := u.must(201, nil, "POST", "/api/v1/me/orders", body, headerIdemKey, "k-1")
	if !bytes.Equal(first.Body.Bytes(), again.Body.Bytes()) || first.Header().Get(headerVersion) != again.Header().Get(headerVersion) ||
		again.Header().Get("Location") != first.Header().Get("Location") || again.Header().Get(headerIdemReplay) != "true" {
		t.Fatalf("retry answered\n%s %v\nfirst\n%s %v", again.Body, again.Header(), first.Body, first.Header())
	}
	if w := u.do("POST", "/api/v1/me/orders", map[string]any{"address_id": addr.ID + 1}, headerIdemKey, "k-1"); w.Code != 422 || errorCode(t, w) != codeIdemReused {
		t.Fatalf("key reused with another body: %d %s", w.Code, w.Body)
	}

	pay := u.must(200, nil, "POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "p-1")
	payAgain := u.must(200, nil, "POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "p-1")
	if !bytes.Equal(pay.Body.Bytes(), payAgain.Body.Bytes()) || pay.Header().Get(headerVersion) != payAgain.Header().Get(headerVersion) {
		t.Fatalf("pay retry answered %s, first %s", payAgain.Body, pay.Body)
	}
	if w := u.do("POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "k-1"); w.Code != 422 {
		t.Fatalf("an order key reused to pay: %d %s", w.Code, w.Body)
	}
	if w := u.do("POST", "/api/v1/me/orders/"+o.Ref+"/pay", nil, headerIdemKey, "p-2"); w.Code != 409 || errorCode(t, w) != codeIllegalTransition {
		t.Fatalf("paying a paid order with a new key: %d %s", w.Code, w.Body)
	}
	db := e.c.Direct(t, "shard-1")
	for table, want := range map[string]int{"orders": 1, "payments": 1, "cart_items": 1} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", user).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
		}
	}
}

// TestIdempotentConcurrentNodes: 50 requests with one key at once, spread
// over three core nodes (three Apps, each with its own executor and pools
// over the same shards), make exactly one order and get 50 equal answers.
func TestIdempotentConcurrentNodes(t *testing.T) {
	e := start(t, 2)
	cat := e.shopWithDishes(700, "eu", 2)
	user := e.c.UserOn("shard-0", 20)
	u := e.as(customer(user))
	addr := u.address()
	u.putCart(cat.Shop.ID, cat.Dishes[0].ID, 2)
	u.putCart(cat.Shop.ID, cat.Dishes[1].ID, 1)

	nodes := []*client{clientOf(t, e.app, customer(user))}
	for node := uint16(2); node <= 3; node++ {
		ex, err := exec.New(exec.Config{Topology: e.c.Topology, VSchema: schema.VSchema()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ex.Close() })
		nodes = append(nodes, clientOf(t, newApp(t, ex, node), customer(user)))
	}
	const n = 50
	answers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := nodes[i%len(nodes)].do("POST", "/api/v1/me/orders", map[string]any{"address_id": addr.ID}, headerIdemKey, "same-key")
			answers[i] = fmt.Sprintf("%d %s %s", w.Code, w.Header().Get(headerVersion), w.Body)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a != answers[0] || a[:3] != "201" {
			t.Fatalf("answer %d:\n%s\nanswer 0:\n%s", i, a, answers[0])
		}
	}
	var orders, items, keys int
	db := e.c.Direct(t, "shard-0")
	db.QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ?", user).Scan(&orders)
	db.QueryRow("SELECT COUNT(*) FROM order_items WHERE user_id = ?", user).Scan(&items)
	db.QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ?", user).Scan(&keys)
	if orders != 1 || items != 2 || keys != 1 {
		t.Fatalf("%d orders, %d items, %d keys; want 1, 2, 1", orders, items, keys)
	}
}
