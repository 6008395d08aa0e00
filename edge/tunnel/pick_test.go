package tunnel

import (
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fakeClient is a client with nodes that are never dialled, for the
// balancing and config rules.
func fakeClient(t *testing.T, addrs ...string) (*Client, []*node) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seeds = addrs
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{{}}}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nodes := make([]*node, len(addrs))
	for i, a := range addrs {
		nodes[i] = c.newNode(a)
		nodes[i].healthy.Store(true)
	}
	c.set.Store(&nodes)
	return c, nodes
}

func TestPickLeastOutstanding(t *testing.T) {
	c, n := fakeClient(t, "a:1", "b:1", "c:1")
	n[0].outstanding.Store(5)
	n[1].outstanding.Store(2)
	n[2].outstanding.Store(7)
	for range 10 {
		if got := c.pick(nil); got != n[1] {
			t.Fatalf("picked %s, want the least loaded b:1", got.addr)
		}
	}
}

func TestPickTiesRoundRobin(t *testing.T) {
	c, n := fakeClient(t, "a:1", "b:1", "c:1")
	seen := map[*node]int{}
	for range 30 {
		seen[c.pick(nil)]++
	}
	for _, x := range n {
		if seen[x] != 10 {
			t.Fatalf("ties went %v, want 10 to each", seen)
		}
	}
}

func TestPickSkipsAndFallsBack(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(n []*node)
		tried   []int
		want    []int // acceptable picks; nil: none
		wantNil bool
	}{
		{"unhealthy skipped", func(n []*node) { n[0].healthy.Store(false) }, nil, []int{1, 2}, false},
		{"open breaker skipped", func(n []*node) { n[1].closed.Store(false) }, nil, []int{0, 2}, false},
		{"tried nodes avoided", nil, []int{0, 1}, []int{2}, false},
		{"retry never on the node that just failed while another is usable", func(n []*node) { n[2].healthy.Store(false); n[2].closed.Store(false) }, []int{0, 1}, []int{0}, false},
		{"the only node may be retried", func(n []*node) {
			n[1].closed.Store(false)
			n[2].closed.Store(false)
		}, []int{0}, []int{0}, false},
		{"no healthy node: any closed breaker", func(n []*node) {
			for _, x := range n {
				x.healthy.Store(false)
			}
			n[0].closed.Store(false)
		}, nil, []int{1, 2}, false},
		{"healthy before untried-but-unhealthy", func(n []*node) { n[2].healthy.Store(false) }, []int{0}, []int{1}, false},
		{"every breaker open", func(n []*node) {
			for _, x := range n {
				x.closed.Store(false)
			}
		}, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, n := fakeClient(t, "a:1", "b:1", "c:1")
			if tc.setup != nil {
				tc.setup(n)
			}
			var tried []*node
			for _, i := range tc.tried {
				tried = append(tried, n[i])
			}
			for range 6 {
				got := c.pick(tried)
				if tc.wantNil {
					if got != nil {
						t.Fatalf("picked %s, want none", got.addr)
					}
					continue
				}
				ok := false
				for _, i := range tc.want {
					ok = ok || got == n[i]
				}
				if !ok {
					t.Fatalf("picked %v, want one of %v", got, tc.want)
				}
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	good := func() Config {
		c := DefaultConfig()
		c.Seeds = []string{"127.0.0.1:7443"}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{{}}}
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"zero values take the defaults", func(c *Config) { *c = Config{Seeds: c.Seeds, TLS: c.TLS} }, true},
		{"refresh disabled", func(c *Config) { c.RefreshInterval = -1 }, true},
		{"no seeds", func(c *Config) { c.Seeds = nil }, false},
		{"seed without port", func(c *Config) { c.Seeds = []string{"core-0"} }, false},
		{"no TLS", func(c *Config) { c.TLS = nil }, false},
		{"no client certificate", func(c *Config) { c.TLS = &tls.Config{} }, false},
		{"no verification", func(c *Config) { c.TLS.InsecureSkipVerify = true }, false},
		{"TLS 1.1", func(c *Config) { c.TLS.MaxVersion = tls.VersionTLS11 }, false},
		{"one node", func(c *Config) { c.MaxNodes = 1 }, false},
		{"negative", func(c *Config) { c.HealthTimeout = -time.Second }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			got, err := cfg.check()
			if (err == nil) != tc.ok {
				t.Fatalf("check: %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("%v does not wrap ErrConfig", err)
				}
				return
			}
			d := DefaultConfig()
			if got.ConnsPerNode != d.ConnsPerNode || got.MaxAttempts != d.MaxAttempts || got.HealthInterval != d.HealthInterval ||
				got.Breaker != d.Breaker || got.Logger == nil || fmt.Sprint(got.TLS.NextProtos) != "[h2]" {
				t.Fatalf("defaults not filled: %+v", got)
			}
		})
	}
}
