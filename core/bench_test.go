package core

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
)

// BenchmarkCreateOrderViaCore places one order from a two-dish cart over
// the whole path an edge takes: an HTTP/2 mTLS client → the tunnel → the
// takeout app → router and executor → MariaDB, a new Idempotency-Key each
// time. Compare it with core/app's BenchmarkCreateOrderDirectSQL (the same
// statements straight on the shard) using bench/create-order.sh.
func BenchmarkCreateOrderViaCore(b *testing.B) {
	c := startCluster(b, 1, 2)
	w := setUpShopForBench(b, c)
	u := c.data.UserOn("shard-0", 1000)
	who := customer(u)
	var ad app.Address
	must(b, c.call(0, who, "POST", "/api/v1/me/addresses", map[string]any{"label": "home", "recipient": "B", "phone": "+1 555 0100", "line1": "1 St", "city": "C", "country": "US"}, nil, &ad), 201)
	shard := c.data.Direct(b, c.data.Topology.Owner(u))
	body := map[string]any{"address_id": ad.ID}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		at := time.Now().UTC()
		if _, err := shard.Exec("INSERT INTO cart_items (user_id, dish_id, shop_id, quantity, created_at, updated_at) VALUES (?, ?, ?, 2, ?, ?), (?, ?, ?, 1, ?, ?)",
			u, w.dish.ID, w.shop.ID, at, at, u, w.dish2.ID, w.shop.ID, at, at); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		must(b, c.call(0, who, "POST", "/api/v1/me/orders", body, map[string]string{"Idempotency-Key": "bench-" + strconv.Itoa(i)}, nil), 201)
	}
}

// setUpShopForBench is setUpShop on a one-node cluster.
func setUpShopForBench(b *testing.B, c *testCluster) *world {
	w := &world{owner: 900}
	m := merchant(w.owner)
	must(b, c.call(0, adminID, "POST", "/api/v1/shops", map[string]any{"owner_user_id": w.owner, "name": "Bench", "region": "eu"}, nil, &w.shop), 201)
	var cat app.Category
	must(b, c.call(0, m, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", w.shop.ID), map[string]any{"name": "Mains", "position": 1}, nil, &cat), 201)
	for j, d := range []*app.Dish{&w.dish, &w.dish2} {
		must(b, c.call(0, m, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", w.shop.ID), map[string]any{"category_id": cat.ID, "name": fmt.Sprint("Dish ", j), "price_cents": 1250 + j, "on_sale": true}, nil, d), 201)
	}
	must(b, c.call(0, m, "POST", fmt.Sprintf("/api/v1/shops/%d/open", w.shop.ID), nil, nil, nil), 200)
	return w
}
