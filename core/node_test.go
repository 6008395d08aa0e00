package core

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

var (
	adminID = &identity.Identity{UserID: 1, Role: identity.Admin}
)

func customer(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Customer}
}
func merchant(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Merchant}
}

// world is a shop with a menu, set up through the cluster.
type world struct {
	owner       int64
	shop, other app.Shop
	dish, dish2 app.Dish
	foreign     app.Dish // a dish of the other shop
}

// setUpShop has an admin create two shops and their merchant fill and open
// them, each step on another node.
func setUpShop(t *testing.T, c *testCluster) *world {
	w := &world{owner: 900}
	m := merchant(w.owner)
	for i, s := range []*app.Shop{&w.shop, &w.other} {
		must(t, c.call(i%3, adminID, "POST", "/api/v1/shops", map[string]any{"owner_user_id": w.owner, "name": fmt.Sprint("Shop ", i), "region": "eu"}, nil, s), 201)
		var cat app.Category
		must(t, c.call((i+1)%3, m, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", s.ID), map[string]any{"name": "Mains", "position": 1}, nil, &cat), 201)
		dishes := []*app.Dish{&w.dish, &w.dish2}
		if i == 1 {
			dishes = []*app.Dish{&w.foreign}
		}
		for j, d := range dishes {
			body := map[string]any{"category_id": cat.ID, "name": fmt.Sprint("Dish ", j), "price_cents": 1250 + j, "on_sale": true}
			must(t, c.call((i+j+2)%3, m, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", s.ID), body, nil, d), 201)
		}
	}
	must(t, c.call(1, m, "POST", fmt.Sprintf("/api/v1/shops/%d/open", w.shop.ID), nil, nil, nil), 200)
	return w
}

// shopPath is a path under the shop.
func (w *world) shopPath(f string, args ...any) string {
	return fmt.Sprintf("/api/v1/shops/%d", w.shop.ID) + fmt.Sprintf(f, args...)
}

// readyUser gives a user a profile, an address and one dish in the cart,
// and returns the address id.
func readyUser(t *testing.T, c *testCluster, w *world, u int64) int64 {
	who := customer(u)
	must(t, c.call(0, who, "PUT", "/api/v1/me", map[string]any{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 1234"}, nil, nil), 200)
	var ad app.Address
	must(t, c.call(1, who, "POST", "/api/v1/me/addresses", map[string]any{"label": "home", "recipient": "Ada", "phone": "+44 20 1234", "line1": "1 Main St", "city": "London", "country": "GB"}, nil, &ad), 201)
	must(t, c.call(2, who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", w.dish.ID), map[string]any{"shop_id": w.shop.ID, "quantity": 2}, nil, nil), 200)
	return ad.ID
}

func TestClusterServesTheTakeoutAPI(t *testing.T) {
	c := startCluster(t, 3, 2)
	w := setUpShop(t, c)

	// Catalog reads are public and cacheable.
	resp := c.call(2, nil, "GET", w.shopPath("/menu"), nil, nil, nil)
	must(t, resp, 200)
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, s-maxage=") || !strings.Contains(resp.Header.Get("Surrogate-Key"), fmt.Sprint("menu:", w.shop.ID)) {
		t.Fatalf("menu: Cache-Control %q, Surrogate-Key %q", cc, resp.Header.Get("Surrogate-Key"))
	}

	// A user orders, pays; the merchant accepts, delivers, completes —
	// every step on another node.
	u := c.data.UserOn("shard-1", 5000)
	who := customer(u)
	addr := readyUser(t, c, w, u)
	var order app.Order
	resp = c.call(0, who, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{"Idempotency-Key": "order-1"}, &order)
	must(t, resp, 201)
	if v := resp.Header.Get("Cq-Version"); !strings.HasPrefix(v, "shard-1.") {
		t.Fatalf("Cq-Version %q, want the user's shard-1", v)
	}
	must(t, c.call(1, who, "POST", "/api/v1/me/orders/"+order.Ref+"/pay", nil, map[string]string{"Idempotency-Key": "pay-1"}, nil), 200)
	m := merchant(w.owner)
	for i, status := range []string{"accepted", "delivering", "completed"} {
		must(t, c.call(i, m, "POST", "/api/v1/orders/"+order.Ref+"/status", map[string]any{"status": status}, nil, nil), 200)
	}
	var got app.Order
	must(t, c.call(2, who, "GET", "/api/v1/me/orders/"+order.Ref, nil, nil, &got), 200)
	if got.Status != "completed" || got.TotalCents != 2*1250 || len(got.Payments) != 1 {
		t.Fatalf("order after the flow: %+v", got)
	}

	// The rows are on the shard the ring names, and only there.
	for _, id := range c.data.Topology.RingShards() {
		var n int
		if err := c.data.Direct(t, id).QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ? AND id = ?", u, order.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[id == c.data.Topology.Owner(u)]; n != want {
			t.Fatalf("%s holds %d copies of the order, want %d", id, n, want)
		}
	}
}

func TestClusterRefusesBadInputAndWritesNothing(t *testing.T) {
	c := startCluster(t, 3, 2)
	w := setUpShop(t, c)
	u := c.data.UserOn("shard-0", 7000)
	who := customer(u)
	addr := readyUser(t, c, w, u)
	var order app.Order
	must(t, c.call(0, who, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{"Idempotency-Key": "k1"}, &order), 201)
	must(t, c.call(0, who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", w.dish.ID), map[string]any{"shop_id": w.shop.ID, "quantity": 1}, nil, nil), 200)
	closed := w.other // never opened
	stranger := customer(c.data.UserOn("shard-1", 8000))
	cart := fmt.Sprintf("/api/v1/me/cart/items/%d", w.dish.ID)
	idem := map[string]string{"Idempotency-Key": "k2"}

	before := c.rowCounts(t)
	for _, tc := range []struct {
		name   string
		who    *identity.Identity
		method string
		path   string
		body   any
		hdr    map[string]string
		status int
		code   string
	}{
		{"malformed JSON", who, "PUT", cart, `{"shop_id": 1, "quantity": `, nil, 400, "malformed_json"},
		{"unknown field", who, "PUT", cart, `{"shop_id": 1, "quantity": 1, "price": 0}`, nil, 400, "unknown_field"},
		{"wrong type", who, "PUT", cart, `{"shop_id": "one", "quantity": 1}`, nil, 400, "wrong_type"},
		{"zero quantity", who, "PUT", cart, map[string]any{"shop_id": w.shop.ID, "quantity": 0}, nil, 400, "invalid_field"},
		{"negative quantity", who, "PUT", cart, map[string]any{"shop_id": w.shop.ID, "quantity": -3}, nil, 400, "invalid_field"},
		{"unknown dish", who, "PUT", "/api/v1/me/cart/items/999999999", map[string]any{"shop_id": w.shop.ID, "quantity": 1}, nil, 404, "unknown_dish"},
		{"dish of another shop", who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", w.foreign.ID), map[string]any{"shop_id": w.shop.ID, "quantity": 1}, nil, 422, "dish_not_in_shop"},
		{"closed shop", customer(u + 1), "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", w.foreign.ID), map[string]any{"shop_id": closed.ID, "quantity": 1}, nil, 0, ""},
		{"huge body", who, "PUT", cart, `{"shop_id": 1, "quantity": 1, "x": "` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, "body_too_large"},
		{"missing idempotency key", who, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, nil, 400, "idempotency_key_required"},
		{"reused idempotency key", who, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr + 1}, map[string]string{"Idempotency-Key": "k1"}, 422, "idempotency_key_reused"},
		{"another user's order", stranger, "GET", "/api/v1/me/orders/" + order.Ref, nil, nil, 404, "unknown_order"},
		{"another user's order, paid", stranger, "POST", "/api/v1/me/orders/" + order.Ref + "/pay", nil, idem, 404, "unknown_order"},
		{"illegal transition", merchant(w.owner), "POST", "/api/v1/orders/" + order.Ref + "/status", map[string]any{"status": "completed"}, nil, 409, "illegal_transition"},
		{"no identity", nil, "GET", "/api/v1/me/cart", nil, nil, 401, "unauthenticated"},
		{"merchant of another shop", merchant(w.owner + 1), "POST", w.shopPath("/close"), nil, nil, 403, "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == 0 { // the closed shop: the cart takes the dish, the order is refused
				return
			}
			resp := c.call(len(tc.name)%3, tc.who, tc.method, tc.path, tc.body, tc.hdr, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if code := errorCode(resp); code != tc.code {
				t.Fatalf("code %q, want %q", code, tc.code)
			}
		})
	}
	if after := c.rowCounts(t); !equalCounts(before, after) {
		t.Fatalf("refused requests wrote rows:\nbefore %v\nafter  %v", before, after)
	}

	// A closed shop: its dish can sit in a cart, but no order is placed.
	buyer := customer(c.data.UserOn("shard-1", 9000))
	baddr := readyUserAt(t, c, buyer, closed.ID, w.foreign.ID)
	before = c.rowCounts(t)
	resp := c.call(2, buyer, "POST", "/api/v1/me/orders", map[string]any{"address_id": baddr}, map[string]string{"Idempotency-Key": "closed"}, nil)
	if resp.StatusCode != 409 || errorCode(resp) != "shop_closed" {
		t.Fatalf("order from a closed shop: %d %s", resp.StatusCode, errorCode(resp))
	}
	if after := c.rowCounts(t); !equalCounts(before, after) {
		t.Fatalf("a refused order wrote rows:\nbefore %v\nafter  %v", before, after)
	}
}

func readyUserAt(t *testing.T, c *testCluster, who *identity.Identity, shop, dish int64) int64 {
	must(t, c.call(0, who, "PUT", "/api/v1/me", map[string]any{"name": "Bo", "email": "bo@example.com", "phone": "+1 555 0100"}, nil, nil), 200)
	var ad app.Address
	must(t, c.call(1, who, "POST", "/api/v1/me/addresses", map[string]any{"label": "home", "recipient": "Bo", "phone": "+1 555 0100", "line1": "2 Side St", "city": "Austin", "country": "US"}, nil, &ad), 201)
	must(t, c.call(2, who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), map[string]any{"shop_id": shop, "quantity": 1}, nil, nil), 200)
	return ad.ID
}

// rowCounts counts the rows of every table on every shard and the global
// keyspace.
func (c *testCluster) rowCounts(t *testing.T) map[string]int {
	counts := map[string]int{}
	targets := append(c.data.Topology.AllShards(), exec.GlobalTarget)
	for _, id := range targets {
		db := c.data.Direct(t, id)
		rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			rows.Scan(&name)
			tables = append(tables, name)
		}
		rows.Close()
		for _, table := range tables {
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			counts[id+"."+table] = n
		}
	}
	return counts
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestConcurrentRetriesOnEveryNodeMakeOneOrder(t *testing.T) {
	c := startCluster(t, 3, 2)
	w := setUpShop(t, c)
	u := c.data.UserOn("shard-0", 11000)
	who := customer(u)
	addr := readyUser(t, c, w, u)
	const retries = 50
	answers := make([]string, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Go(func() {
			var o app.Order
			resp := c.call(i%3, who, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{"Idempotency-Key": "same"}, &o)
			answers[i] = fmt.Sprintf("%d %s", resp.StatusCode, o.Ref)
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a != answers[0] || !strings.HasPrefix(a, "201 ") {
			t.Fatalf("retry %d answered %q, retry 0 %q", i, a, answers[0])
		}
	}
	var n int
	if err := c.data.Direct(t, c.data.Topology.Owner(u)).QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ?", u).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d orders (%v) from %d concurrent retries, want 1", n, err, retries)
	}
}

func TestTunnelTrustsOnlyEdges(t *testing.T) {
	c := startCluster(t, 1, 1)
	// A core's certificate is valid for the tunnel, but its identity
	// headers are not believed.
	asCore := c.client(certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-9"})
	resp := c.callWith(asCore, 0, customer(42), "GET", "/api/v1/me/cart", nil, nil, nil)
	if resp.StatusCode != 401 {
		t.Fatalf("identity headers from a core certificate: %d, want 401", resp.StatusCode)
	}
	must(t, c.call(0, customer(42), "GET", "/api/v1/me/cart", nil, nil, nil), 200)
	// No certificate, or another CA's: refused at the handshake.
	other, _ := certs.NewCA("other", time.Hour)
	leaf, _ := other.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "e"}})
	for name, cfg := range map[string]*tls.Config{
		"no certificate": {RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS13},
		"another CA": {RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS13, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert := leaf.TLSCertificate()
			return &cert, nil
		}},
	} {
		conn, err := tls.Dial("tcp", c.nodes[0].TunnelAddr(), cfg)
		if err == nil {
			err = conn.Handshake()
			if err == nil { // TLS 1.3 reports the client's failure on first read
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = conn.Read(make([]byte, 1))
			}
			conn.Close()
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: the handshake was not refused (%v)", name, err)
		}
	}
}

func TestEpochSpreadsAndAdminShowsMembers(t *testing.T) {
	c := startCluster(t, 3, 2)
	eventually(t, 10*time.Second, "3 members alive everywhere", func() bool {
		_, body := c.admin(2, "GET", "/admin/v1/members", nil, nil)
		return strings.Count(string(body), `"alive"`) == 3
	})
	resp, body := c.admin(0, "GET", "/admin/v1/shardmap", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"1"` {
		t.Fatalf("GET shardmap: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
	m, err := shardmap.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	m.Epoch = 2
	m.Shards[0].Weight = 2
	next, _ := json.Marshal(m)
	if resp, body = c.admin(1, "PUT", "/admin/v1/shardmap", next, map[string]string{"If-Match": "1"}); resp.StatusCode != 200 {
		t.Fatalf("PUT shardmap: %d %s", resp.StatusCode, body)
	}
	if resp, _ = c.admin(2, "PUT", "/admin/v1/shardmap", next, map[string]string{"If-Match": "1"}); resp.StatusCode != 412 {
		t.Fatalf("a stale If-Match: %d, want 412", resp.StatusCode)
	}
	eventually(t, 5*time.Second, "every node serves epoch 2", func() bool {
		for _, n := range c.nodes {
			if n.Epoch() != 2 || n.Executor().Topology().Epoch() != 2 {
				return false
			}
		}
		return true
	})
	resp, body = c.admin(0, "GET", "/metrics", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "cangqiong_gossip_epoch 2") || !strings.Contains(string(body), `cangqiong_db_pool_open_connections{shard="shard-0"}`) {
		t.Fatalf("/metrics lacks the gossip epoch or pool gauges: %d", resp.StatusCode)
	}
	if resp, _ = c.admin(0, "GET", "/readyz", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("/readyz %d", resp.StatusCode)
	}
}

func TestNodeStartFailsCleanlyAndShutdownIsIdempotent(t *testing.T) {
	c := startCluster(t, 1, 1)
	cfg := c.config(1)
	cfg.AdminListen = c.nodes[0].AdminAddr() // taken
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "admin listener") {
		t.Fatalf("start on a taken port: %v", err)
	}
	bad := c.config(2)
	bad.GossipKey = []byte("short")
	if _, err := New(bad); !errors.Is(err, ErrConfig) {
		t.Fatalf("short gossip key: %v, want ErrConfig", err)
	}
	node := c.nodes[0]
	for range 2 {
		if err := node.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := http.Get("http://" + node.AdminAddr() + "/healthz"); err == nil {
		t.Fatal("the admin API still answers after Shutdown")
	}
}
