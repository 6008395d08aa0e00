package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/coretest"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/auth/authtest"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/origin"
	"github.com/cangqiong/cangqiong/edge/tunnel"
)

// coreEdge is an edge in front of a real core cluster, with users whose
// tokens it verifies.
type coreEdge struct {
	*testEdge
	iss *authtest.Issuer
}

// takeoutRoutes is the edge policy for the takeout API: a user's own reads
// cached per user for a minute (read-your-writes keeps them honest).
func takeoutRoutes() []Route {
	me := httpcache.DefaultPolicy()
	me.PerUser = true
	me.TTL = httpcache.Setting{Value: time.Minute}
	return []Route{{Pattern: "* /api/v1/me/**", Auth: AuthRequired, Policy: me}}
}

func edgeOverCore(t *testing.T, c *coretest.Cluster, id string, iss *authtest.Issuer) *coreEdge {
	t.Helper()
	tc, err := tunnel.New(tunnel.Config{Seeds: c.TunnelAddrs(), TLS: c.EdgeTLS(id), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	v, err := auth.New(iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	e := startEdge(t, origin.NewTunnel(tc), func(cfg *Config) {
		cfg.Tunnel, cfg.Auth, cfg.Routes, cfg.ID = true, v, takeoutRoutes(), id
	})
	return &coreEdge{testEdge: e, iss: iss}
}

// as sends a request as user id with role (id 0: anonymous) and decodes a
// JSON answer into out.
func (e *coreEdge) as(id int64, role identity.Role, method, path string, body any, out any, headers ...string) *response {
	e.t.Helper()
	if id != 0 {
		headers = append(headers, "Authorization", e.iss.Header(id, role, time.Hour))
	}
	var b string
	if body != nil {
		js, _ := json.Marshal(body)
		b = string(js)
		headers = append(headers, "Content-Type", "application/json")
	}
	r := e.do(method, path, b, headers...)
	if out != nil && r.StatusCode < 300 {
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			e.t.Fatalf("%s %s: %q: %v", method, path, r.body, err)
		}
	}
	return r
}

func must(t *testing.T, r *response, status int) *response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.body, status)
	}
	return r
}

// shopWithDish opens a shop with one dish through the edge.
func shopWithDish(t *testing.T, e *coreEdge) (shop, dish int64) {
	var s, c, d struct{ ID int64 }
	must(t, e.as(1, identity.Admin, "POST", "/api/v1/shops", map[string]any{"owner_user_id": 77, "name": "Noodles", "region": "eu"}, &s), 201)
	must(t, e.as(77, identity.Merchant, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", s.ID), map[string]any{"name": "Mains", "position": 1}, &c), 201)
	must(t, e.as(77, identity.Merchant, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", s.ID), map[string]any{"category_id": c.ID, "name": "Ramen", "price_cents": 1200, "on_sale": true}, &d), 201)
	must(t, e.as(77, identity.Merchant, "POST", fmt.Sprintf("/api/v1/shops/%d/open", s.ID), nil, nil), 200)
	return s.ID, d.ID
}

func TestStaleIfErrorWithTheCoreDown(t *testing.T) {
	c := coretest.Start(t, coretest.Options{Nodes: 1})
	e := edgeOverCore(t, c, "edge-1", authtest.NewIssuer(t))
	shop, _ := shopWithDish(t, e)
	path := fmt.Sprintf("/api/v1/shops/%d/menu", shop)
	first := must(t, e.get(path), 200)
	if first.xcache() != "MISS" || !strings.Contains(first.body, "Ramen") {
		t.Fatalf("first menu read: %s %q", first.xcache(), first.body)
	}
	c.Stop(0)
	e.clock.Advance(5 * time.Minute) // past s-maxage and stale-while-revalidate, within stale-if-error
	r := must(t, e.get(path), 200)
	if r.xcache() != "STALE-L1" || r.body != first.body {
		t.Fatalf("menu with the core down: %s %q, want the stale copy", r.xcache(), r.body)
	}
	if r := e.get("/api/v1/shops/999"); r.StatusCode < 500 || !strings.Contains(r.body, `"code"`) {
		t.Fatalf("an uncached read with the core down: %d %q, want a JSON 5xx", r.StatusCode, r.body)
	}
}

func TestIdempotentWritesSurviveACoreNodeGoingAway(t *testing.T) {
	c := coretest.Start(t, coretest.Options{Nodes: 2})
	e := edgeOverCore(t, c, "edge-1", authtest.NewIssuer(t))
	shop, dish := shopWithDish(t, e)
	var (
		mu      sync.Mutex
		acked   = map[int64]int64{} // order id → user
		failed  atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		counter atomic.Int64
	)
	for w := range 6 {
		user := c.Data.UserOn(fmt.Sprintf("shard-%d", w%2), int64(30000+w*1000))
		wg.Go(func() {
			var ad struct{ ID int64 }
			must(t, e.as(user, identity.Customer, "POST", "/api/v1/me/addresses", map[string]any{"label": "home", "recipient": "R", "phone": "+1 555 0100", "line1": "1 St", "city": "C", "country": "US"}, &ad), 201)
			for i := 0; !stop.Load(); i++ {
				if r := e.as(user, identity.Customer, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), map[string]any{"shop_id": shop, "quantity": 1}, nil); r.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				var o struct{ ID int64 }
				r := e.as(user, identity.Customer, "POST", "/api/v1/me/orders", map[string]any{"address_id": ad.ID}, &o, "Idempotency-Key", fmt.Sprintf("u%d-%d", user, i))
				if r.StatusCode != 201 {
					failed.Add(1)
					continue
				}
				counter.Add(1)
				mu.Lock()
				acked[o.ID] = user
				mu.Unlock()
			}
		})
	}
	eventually(t, "orders to flow", func() bool { return counter.Load() >= 20 })
	c.Stop(0) // graceful: what it is serving finishes, then the edge must use core-1
	at := counter.Load()
	eventually(t, "orders to flow through the other node", func() bool { return counter.Load() >= at+30 })
	stop.Store(true)
	wg.Wait()
	for id, user := range acked {
		n := 0
		for _, shard := range c.Data.Topology.RingShards() {
			var k int
			if err := c.Data.Direct(t, shard).QueryRow("SELECT COUNT(*) FROM orders WHERE user_id = ? AND id = ?", user, id).Scan(&k); err != nil {
				t.Fatal(err)
			}
			n += k
		}
		if n != 1 {
			t.Fatalf("acknowledged order %d of user %d is on the shards %d times", id, user, n)
		}
	}
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed while a core node went away (%d orders acknowledged)", failed.Load(), len(acked))
	}
}

func TestReadYourWritesAcrossEdges(t *testing.T) {
	c := coretest.Start(t, coretest.Options{Nodes: 1})
	iss := authtest.NewIssuer(t)
	a := edgeOverCore(t, c, "edge-a", iss)
	b := edgeOverCore(t, c, "edge-b", iss)
	shop, dish := shopWithDish(t, a)
	u := int64(4242)
	for _, e := range []*coreEdge{a, b} { // both edges cache the user's empty cart
		must(t, e.as(u, identity.Customer, "GET", "/api/v1/me/cart", nil, nil), 200)
		if r := e.as(u, identity.Customer, "GET", "/api/v1/me/cart", nil, nil); r.xcache() != "HIT-L1" {
			t.Fatalf("the cart is not cached per user: %s", r.xcache())
		}
	}
	w := must(t, a.as(u, identity.Customer, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), map[string]any{"shop_id": shop, "quantity": 2}, nil), 200)
	cookie := w.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "cq_v=") || w.Header.Get("Cq-Version") == "" {
		t.Fatalf("the write did not hand back its version: Set-Cookie %q, Cq-Version %q", cookie, w.Header.Get("Cq-Version"))
	}
	// The edge that took the write remembers it for the user…
	if r := a.as(u, identity.Customer, "GET", "/api/v1/me/cart", nil, nil); !strings.Contains(r.body, `"quantity":2`) {
		t.Fatalf("edge A served a cart older than the user's write: %s %q", r.xcache(), r.body)
	}
	// …and another edge honours the token the client carries.
	tok := strings.SplitN(strings.TrimPrefix(cookie, "cq_v="), ";", 2)[0]
	r := b.as(u, identity.Customer, "GET", "/api/v1/me/cart", nil, nil, "Cookie", "cq_v="+tok)
	if !strings.Contains(r.body, `"quantity":2`) {
		t.Fatalf("edge B served a cart older than the user's write: %s %q", r.xcache(), r.body)
	}
	if r := b.as(u, identity.Customer, "GET", "/api/v1/me/cart", nil, nil, "Cookie", "cq_v="+tok); r.xcache() != "HIT-L1" || !strings.Contains(r.body, `"quantity":2`) {
		t.Fatalf("edge B does not cache the fresh cart: %s", r.xcache())
	}
}
