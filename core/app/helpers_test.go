package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// env is a migrated deployment with an App over it.
type env struct {
	t   testing.TB
	c   *shardtest.Cluster
	app *App
}

func start(t testing.TB, shards int) *env {
	t.Helper()
	c := shardtest.Start(t, shardtest.Options{Shards: shards})
	return &env{t: t, c: c, app: newApp(t, c.Exec, 1)}
}

// newApp is one core node's App over ex.
func newApp(t testing.TB, ex *exec.Executor, node uint16) *App {
	t.Helper()
	gen, err := ids.New(node)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Exec, cfg.IDs = ex, gen
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Identities used across the tests.
func customer(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Customer}
}
func merchant(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Merchant}
}
func adminUser() *identity.Identity { return &identity.Identity{UserID: 1, Role: identity.Admin} }

// withIdentity stands in for the tunnel server: it puts the verified user
// (if any) in the request's context.
func withIdentity(h http.Handler, who *identity.Identity) http.Handler {
	if who == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(identity.With(r.Context(), *who)))
	})
}

// client sends requests to an App's handler as one user (nil: nobody).
type client struct {
	t   testing.TB
	h   http.Handler
	who *identity.Identity
}

func (e *env) as(who *identity.Identity) *client { return clientOf(e.t, e.app, who) }

func clientOf(t testing.TB, a *App, who *identity.Identity) *client {
	return &client{t: t, h: withIdentity(a.Handler(), who), who: who}
}

// do sends a request. body is nil (none), a string (sent as is) or a
// value sent as JSON; headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	r := httptest.NewRequest(method, path, rd)
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	return w
}

// must sends a request, fails the test unless it is answered with status,
// and decodes the body into out (if not nil).
func (c *client) must(status int, out any, method, path string, body any, headers ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	w := c.do(method, path, body, headers...)
	if w.Code != status {
		c.t.Fatalf("%s %s: %d %s; want %d", method, path, w.Code, strings.TrimSpace(w.Body.String()), status)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, w.Body, err)
		}
	}
	return w
}

// apiError is the API's error body.
type apiError struct {
	Error struct{ Code, Message string }
}

func errorCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error: %d %q (%v)", w.Code, w.Body, err)
	}
	return e.Error.Code
}

// catalog is a shop made through the API: owned by merchant, open, with
// one category and dishes priced 1000, 2000, … cents.
type catalog struct {
	Shop   Shop
	Cat    Category
	Dishes []Dish
}

func (e *env) shopWithDishes(owner int64, region string, n int) *catalog {
	e.t.Helper()
	var cat catalog
	e.as(adminUser()).must(201, &cat.Shop, "POST", "/api/v1/shops", map[string]any{"owner_user_id": owner, "name": "Shop of " + itoa(owner), "region": region})
	m := e.as(merchant(owner))
	base := "/api/v1/shops/" + itoa(cat.Shop.ID)
	m.must(201, &cat.Cat, "POST", base+"/categories", map[string]any{"name": "Mains", "position": 1})
	for i := range n {
		var d Dish
		m.must(201, &d, "POST", base+"/dishes", map[string]any{"category_id": cat.Cat.ID, "name": fmt.Sprintf("Dish %d", i),
			"description": "tasty", "price_cents": 1000 * (i + 1), "on_sale": true})
		cat.Dishes = append(cat.Dishes, d)
	}
	m.must(200, &cat.Shop, "POST", base+"/open", nil)
	return &cat
}

// addressFor makes an address for the client's user.
func (c *client) address() Address {
	c.t.Helper()
	var ad Address
	c.must(201, &ad, "POST", "/api/v1/me/addresses", map[string]any{"label": "home", "recipient": "Ada", "phone": "+1 555 0100",
		"line1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US", "is_default": true})
	return ad
}

// putCart sets a cart line.
func (c *client) putCart(shop, dish int64, qty int) {
	c.t.Helper()
	c.must(200, nil, "PUT", "/api/v1/me/cart/items/"+itoa(dish), map[string]any{"shop_id": shop, "quantity": qty})
}

// order places an order from the cart with a fresh key.
func (c *client) order(addr int64, key string) Order {
	c.t.Helper()
	var o Order
	c.must(201, &o, "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, headerIdemKey, key)
	return o
}

// snapshot is every table's row count and checksum on every keyspace: two
// equal snapshots mean nothing was written in between.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	targets := append([]string{exec.GlobalTarget}, e.c.Topology.AllShards()...)
	for _, target := range targets {
		kind := schema.Shard
		if target == exec.GlobalTarget {
			kind = schema.Global
		}
		db := e.c.Direct(e.t, target)
		for _, table := range schema.Tables(kind) {
			var n int
			var name string
			var sum *int64
			if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
				e.t.Fatal(err)
			}
			if err := db.QueryRow("CHECKSUM TABLE "+table).Scan(&name, &sum); err != nil {
				e.t.Fatal(err)
			}
			out[target+"/"+table] = fmt.Sprintf("%d rows, checksum %v", n, *sum)
		}
	}
	return out
}

// diff lists what differs between two snapshots.
func diff(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, before[k], v))
		}
	}
	return out
}

// decodeOrder reads an Order body.
func decodeOrder(t testing.TB, b []byte) Order {
	t.Helper()
	var o Order
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("decode order %q: %v", b, err)
	}
	return o
}
