package tunnel

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/coretest"
)

// getShops is a public read every node answers from the global keyspace.
func getShops(t testing.TB, c *Client) error {
	resp, err := c.Do(context.Background(), request(nil, "GET", "/api/v1/shops", nil, nil))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET /api/v1/shops: %s", resp.Status)
	}
	return nil
}

func requestsByAddr(c *Client) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range c.Nodes() {
		out[s.Addr] = s.Requests
	}
	return out
}

func TestDiscoveryAndSpread(t *testing.T) {
	cl := coretest.Start(t, coretest.Options{Nodes: 3, Shards: 1})
	addrs := cl.TunnelAddrs()
	c := newClient(t, cl.EdgeTLS("edge-1"), addrs[:1], func(cfg *Config) { cfg.RefreshInterval = 100 * time.Millisecond })

	// One seed; the core names the others.
	eventually(t, 30*time.Second, "the client to learn and probe all three nodes", func() bool {
		st := c.Nodes()
		healthy := 0
		for _, s := range st {
			if s.Healthy && s.Breaker == "closed" && s.Conns > 0 && strings.HasPrefix(s.Name, "core-") && s.Region == "eu" {
				healthy++
			}
		}
		return len(st) == 3 && healthy == 3
	})

	// One at a time: ties, so round robin.
	before := requestsByAddr(c)
	for range 30 {
		if err := getShops(t, c); err != nil {
			t.Fatal(err)
		}
	}
	after := requestsByAddr(c)
	for _, a := range addrs {
		if got := after[a] - before[a]; got < 5 {
			t.Fatalf("sequential requests by node: %v → %v: %s got %d", before, after, a, got)
		}
	}

	// Concurrently: the least loaded node, so every node takes a share.
	before = after
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if getShops(t, c) != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	after = requestsByAddr(c)
	for _, a := range addrs {
		if got := after[a] - before[a]; failed.Load() != 0 || got < 160/3/3 {
			t.Fatalf("concurrent requests by node: %v → %v (%d failed)", before, after, failed.Load())
		}
	}

	// A node that leaves the cluster leaves the set.
	cl.Stop(2)
	eventually(t, 20*time.Second, "the stopped node to be dropped", func() bool {
		for _, s := range c.Nodes() {
			if s.Addr == addrs[2] {
				return false
			}
		}
		return len(c.Nodes()) == 2
	})
}

// TestKillMidLoad: reads keep succeeding while a node goes away under
// them, gracefully or not.
func TestKillMidLoad(t *testing.T) {
	for _, abrupt := range []bool{false, true} {
		t.Run(map[bool]string{false: "graceful shutdown", true: "connections reset"}[abrupt], func(t *testing.T) {
			cl := coretest.Start(t, coretest.Options{Nodes: 3, Shards: 1})
			seeds := cl.TunnelAddrs()
			var proxies []*proxy
			if abrupt {
				for i, a := range seeds {
					proxies = append(proxies, startProxy(t, a))
					seeds[i] = proxies[i].addr()
				}
			}
			c := newClient(t, cl.EdgeTLS("edge-1"), seeds, nil)

			var ok, failed atomic.Int64
			var firstErr atomic.Value
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if err := getShops(t, c); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						} else {
							ok.Add(1)
						}
					}
				})
			}
			eventually(t, 30*time.Second, "load on every node", func() bool {
				for _, s := range c.Nodes() {
					if s.Requests < 10 {
						return false
					}
				}
				return true
			})
			if abrupt {
				proxies[1].kill()
			} else {
				cl.Stop(1)
			}
			killedAt := ok.Load()
			eventually(t, 30*time.Second, "load to go on after the kill", func() bool {
				return ok.Load() > killedAt+200 && !c.statusOf(t, seeds[1]).Healthy
			})
			close(stop)
			wg.Wait()
			if n := failed.Load(); n != 0 {
				t.Fatalf("%d of %d reads failed; first: %v", n, n+ok.Load(), firstErr.Load())
			}
			t.Logf("%d reads, none failed; the killed node: %+v", ok.Load(), c.statusOf(t, seeds[1]))
		})
	}
}

// TestIdempotentOrderInFlightDuringKill: a node takes an order, commits
// it, and dies before its answer reaches the edge; the edge repeats the
// order, with its Idempotency-Key, on the other node, and there is one
// order.
func TestIdempotentOrderInFlightDuringKill(t *testing.T) {
	cl := coretest.Start(t, coretest.Options{Nodes: 2, Shards: 2})
	a, b := startProxy(t, cl.Node(0).TunnelAddr()), startProxy(t, cl.Node(1).TunnelAddr())
	c := newClient(t, cl.EdgeTLS("edge-1"), []string{a.addr(), b.addr()}, func(cfg *Config) { cfg.HealthInterval = time.Hour })
	shop, dish := setUpShop(t, c)
	u := cl.Data.UserOn("shard-1", 5000)
	addr := readyUser(t, c, u, shop, dish)

	undo := c.prefer(t, a.addr())
	a.mode.Store(dropReplies)
	type result struct {
		order idRef
		resp  *http.Response
		err   error
	}
	done := make(chan result, 1)
	req := request(customer(u), "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{HeaderIdempotencyKey: "order-in-flight"})
	go func() {
		var r result
		r.resp, r.err = c.Do(context.Background(), req)
		if r.err == nil {
			defer r.resp.Body.Close()
			data, _ := io.ReadAll(r.resp.Body)
			r.err = json.Unmarshal(data, &r.order)
		}
		done <- r
	}()
	eventually(t, 20*time.Second, "the first node to commit the order", func() bool { return rows(t, cl, "orders", u) == 1 })
	a.kill() // its answer is lost with it
	r := <-done
	undo()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.resp.StatusCode != 201 || r.order.Ref == "" {
		t.Fatalf("the repeated order: %d %+v", r.resp.StatusCode, r.order)
	}
	if n := rows(t, cl, "orders", u); n != 1 {
		t.Fatalf("%d orders, want exactly 1", n)
	}
	var got idRef
	call(t, c, request(customer(u), "GET", "/api/v1/me/orders/"+r.order.Ref, nil, nil), 200, &got)
	if got.ID != r.order.ID {
		t.Fatalf("the answer names order %d, the shard holds %d", r.order.ID, got.ID)
	}
	if st := c.statusOf(t, a.addr()); st.Failures == 0 {
		t.Fatalf("the killed node shows no failure: %+v", st)
	}
}

// TestWriteWithoutKey: a write without an Idempotency-Key is never
// repeated once sent, but one that could not be sent goes elsewhere.
func TestWriteWithoutKey(t *testing.T) {
	cl := coretest.Start(t, coretest.Options{Nodes: 2, Shards: 1})
	a, b := startProxy(t, cl.Node(0).TunnelAddr()), startProxy(t, cl.Node(1).TunnelAddr())
	c := newClient(t, cl.EdgeTLS("edge-1"), []string{a.addr(), b.addr()}, func(cfg *Config) {
		cfg.HealthInterval = time.Hour // the test says when a node is dead
		cfg.KeepAlive = time.Hour      // and no PING but the write's goes into the black hole
	})
	u := cl.Data.UserOn("shard-0", 7000)
	readyUser(t, c, u, 0, 0)
	newAddress := func() *http.Request { return request(customer(u), "POST", "/api/v1/me/addresses", addressBody, nil) }

	t.Run("lost after sending: 502, not repeated", func(t *testing.T) {
		bBefore := c.statusOf(t, b.addr()).Requests
		undo := c.prefer(t, a.addr())
		defer undo()
		a.mode.Store(blackhole)
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Do(context.Background(), newAddress())
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		eventually(t, 10*time.Second, "the write to leave the edge", func() bool { return a.swallowed.Load() > 0 })
		a.kill()
		err := <-errc
		var ue *UnavailableError
		if !errors.As(err, &ue) || ue.Status != http.StatusBadGateway || !ue.Sent || ue.Attempts != 1 || ue.RetryAfter <= 0 {
			t.Fatalf("%v (%+v), want a 502 UnavailableError after one attempt", err, ue)
		}
		if got := c.statusOf(t, b.addr()).Requests; got != bBefore {
			t.Fatalf("the other node got %d requests meanwhile", got-bBefore)
		}
		if n := rows(t, cl, "addresses", u); n != 0 {
			t.Fatalf("%d addresses, want 0", n)
		}
	})

	t.Run("refused before sending: sent to the other node once", func(t *testing.T) {
		undo := c.prefer(t, a.addr()) // a is dead, but no probe has said so
		defer undo()
		failures := c.statusOf(t, a.addr()).Failures
		call(t, c, newAddress(), 201, nil)
		if n := rows(t, cl, "addresses", u); n != 1 {
			t.Fatalf("%d addresses, want 1", n)
		}
		if st := c.statusOf(t, a.addr()); st.Failures != failures+1 || !strings.Contains(st.LastError, "refused") {
			t.Fatalf("the dead node: %+v", st)
		}
	})

	t.Run("no node left: 503", func(t *testing.T) {
		b.kill()
		eventually(t, 10*time.Second, "the edge to see its connections reset", func() bool { return c.statusOf(t, b.addr()).Conns == 0 })
		_, err := c.Do(context.Background(), newAddress())
		var ue *UnavailableError
		if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable || ue.Sent || ue.RetryAfter != DefaultRetryAfter {
			t.Fatalf("%v (%+v), want a 503 UnavailableError", err, ue)
		}
		if n := rows(t, cl, "addresses", u); n != 1 {
			t.Fatalf("%d addresses, want 1", n)
		}
	})
}

func TestBreakerOpensAndCloses(t *testing.T) {
	cl := coretest.Start(t, coretest.Options{Nodes: 2, Shards: 1})
	addrs := cl.TunnelAddrs()
	c := newClient(t, cl.EdgeTLS("edge-1"), addrs, func(cfg *Config) {
		cfg.Breaker = BreakerConfig{Failures: 3, OpenFor: 300 * time.Millisecond}
	})
	dead := addrs[0]

	cl.Stop(0)
	eventually(t, 10*time.Second, "the breaker to open", func() bool {
		st := c.statusOf(t, dead)
		return st.Breaker == "open" && !st.Healthy
	})
	sent := c.statusOf(t, dead).Requests
	for range 20 {
		if err := getShops(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.statusOf(t, dead).Requests; got != sent {
		t.Fatalf("%d requests went to a node whose breaker is open", got-sent)
	}

	cl.AddNode(dead) // back on the same address
	eventually(t, 20*time.Second, "the breaker to close again", func() bool {
		st := c.statusOf(t, dead)
		return st.Breaker == "closed" && st.Healthy && st.LastError == ""
	})
	for range 20 {
		if err := getShops(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.statusOf(t, dead).Requests; got == sent {
		t.Fatal("the node is back but gets no requests")
	}
}

func TestTLSRefusalIsReportedClearly(t *testing.T) {
	cl := coretest.Start(t, coretest.Options{Nodes: 1, Shards: 1})
	addr := cl.Node(0).TunnelAddr()
	stranger := getPKI(t) // the test PKI: a CA the cluster never heard of
	wrongRoot := cl.EdgeTLS("edge-1")
	wrongRoot.RootCAs = stranger.ca.Pool()
	tests := []struct {
		name string
		tls  *tls.Config
		want string
	}{
		{"the edge trusts another CA", wrongRoot, "certificate signed by unknown authority"},
		{"the edge's certificate is from another CA", certs.ClientTLS(cl.CA.Pool(), stranger.edge), "remote error: tls:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.tls, []string{addr}, nil)
			st := c.statusOf(t, addr)
			if st.Healthy || !strings.Contains(st.LastError, ErrHandshake.Error()) || !strings.Contains(st.LastError, tc.want) {
				t.Fatalf("status %+v, want a handshake failure naming %q", st, tc.want)
			}
			_, err := c.Do(context.Background(), request(nil, "GET", "/api/v1/shops", nil, nil))
			var ue *UnavailableError
			if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable || !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want a 503 UnavailableError wrapping ErrHandshake", err)
			}
			t.Log(err)
		})
	}
}
