package tunnel

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// testPKI is a CA with a core certificate and an edge certificate, made
// once per binary, for the tests that run a core tunnel server without a
// cluster (startServer). Cluster tests take theirs from coretest's CA; to
// them this one is a stranger.
type testPKI struct {
	ca         *certs.CA
	core, edge *certs.Leaf
	edgeTLS    *tls.Config
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	pkiErr  error
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		if p.ca, pkiErr = certs.NewCA("edge tunnel test CA", 24*time.Hour); pkiErr != nil {
			return
		}
		if p.core, pkiErr = p.ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-x"}}); pkiErr != nil {
			return
		}
		if p.edge, pkiErr = p.ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"}}); pkiErr != nil {
			return
		}
		p.edgeTLS = certs.ClientTLS(p.ca.Pool(), p.edge)
		pki = p
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pki
}

// startServer runs a core tunnel server (the real one, with handler h in
// place of the application) on loopback until the test ends.
func startServer(t testing.TB, h http.Handler) string {
	t.Helper()
	p := getPKI(t)
	cfg := coretunnel.DefaultConfig()
	cfg.TLS, cfg.Handler, cfg.Logger = certs.ServerTLS(p.ca.Pool(), p.core), h, quiet
	srv, err := coretunnel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// newClient starts a client for seeds with short test timers, adjusted by
// edit, and closes it when the test ends.
func newClient(t testing.TB, tlsCfg *tls.Config, seeds []string, edit func(*Config)) *Client {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seeds, cfg.TLS, cfg.Logger = seeds, tlsCfg, quiet
	cfg.HealthInterval = 50 * time.Millisecond
	cfg.RefreshInterval = -1
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// node returns the client's node at addr.
func (c *Client) node(t testing.TB, addr string) *node {
	t.Helper()
	for _, n := range *c.set.Load() {
		if n.addr == addr {
			return n
		}
	}
	t.Fatalf("no node %s in %v", addr, c.Nodes())
	return nil
}

// status returns the status of the node at addr.
func (c *Client) statusOf(t testing.TB, addr string) NodeStatus {
	t.Helper()
	return c.node(t, addr).status()
}

// prefer makes every node but addr look busy, so that the next request's
// first attempt goes to addr; the returned func undoes it.
func (c *Client) prefer(t testing.TB, addr string) (undo func()) {
	t.Helper()
	const busy = 1 << 20
	var others []*node
	for _, n := range *c.set.Load() {
		if n.addr != addr {
			n.outstanding.Add(busy)
			others = append(others, n)
		}
	}
	c.node(t, addr) // it exists
	return func() {
		for _, n := range others {
			n.outstanding.Add(-busy)
		}
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Modes of a proxy.
const (
	pass        = iota // forward both ways
	dropReplies        // forward what the edge sends, drop what the core answers
	blackhole          // drop both ways
)

// proxy is a TCP relay in front of a core node, to lose bytes and to kill
// connections abruptly (RST) the way a crashed host or a cut link does.
type proxy struct {
	ln        net.Listener
	target    string
	mode      atomic.Int32
	swallowed atomic.Int64 // bytes from the edge dropped

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		edge, err := p.ln.Accept()
		if err != nil {
			return
		}
		core, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(edge, core) {
			edge.Close()
			if core != nil {
				core.Close()
			}
			continue
		}
		go p.pipe(core, edge, true)
		go p.pipe(edge, core, false)
	}
}

func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // killed
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

// pipe copies src to dst, dropping what the mode says; fromEdge: src is
// the edge's side.
func (p *proxy) pipe(dst, src net.Conn, fromEdge bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m := p.mode.Load()
			switch {
			case m == blackhole || m == dropReplies && !fromEdge:
				if fromEdge {
					p.swallowed.Add(int64(n))
				}
			default:
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// kill closes the listener and resets every connection.
func (p *proxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}
