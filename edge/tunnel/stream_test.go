package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

// The helpers of this file are its own (prefixed stream), so that it does
// not depend on the package's other test helpers.

// streamCore runs a real core tunnel server with handler h on loopback
// and returns its address and a client's TLS config for it.
func streamCore(t *testing.T, h http.Handler) (addr string, conf func() *Config) {
	t.Helper()
	ca, err := certs.NewCA("stream test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	core, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-s"}})
	if err != nil {
		t.Fatal(err)
	}
	edge, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-s"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := coretunnel.DefaultConfig()
	cfg.TLS, cfg.Handler, cfg.Logger = certs.ServerTLS(ca.Pool(), core), h, quiet
	cfg.RequestTimeout = time.Minute // the server's own bound is not under test
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
	addr = ln.Addr().String()
	return addr, func() *Config {
		c := DefaultConfig()
		c.Seeds, c.TLS, c.Logger = []string{addr}, certs.ClientTLS(ca.Pool(), edge), quiet
		c.HealthInterval, c.RefreshInterval = 50*time.Millisecond, -1
		return &c
	}
}

func streamClient(t *testing.T, cfg *Config) *Client {
	t.Helper()
	c, err := New(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// ticker writes n lines, one every d, flushing each.
func ticker(n int, d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		for i := range n {
			fmt.Fprintf(w, "line %d\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
}

func TestStreamOutlivesTheRequestTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	addr, conf := streamCore(t, ticker(8, timeout/2)) // 8 lines over 4 timeouts
	cfg := conf()
	cfg.RequestTimeout = timeout
	c := streamClient(t, cfg)

	req, _ := http.NewRequest(http.MethodGet, "/stream", nil)
	resp, err := c.Stream(context.Background(), addr, req)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines++
	}
	resp.Body.Close()
	if sc.Err() != nil || lines != 8 {
		t.Fatalf("Stream read %d lines, err %v; want all 8, past the request timeout", lines, sc.Err())
	}
	if req.Header.Get(coretunnel.HeaderRequestID) == "" {
		t.Error("Stream sent no request id")
	}

	// The same request through Do is cut by the request timeout.
	req, _ = http.NewRequest(http.MethodGet, "/stream", nil)
	resp, err = c.Do(context.Background(), req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("Do carried a request past its timeout; the test proves nothing")
	}
}

func TestStreamEndsWithItsContext(t *testing.T) {
	var served, ended atomic.Bool
	addr, conf := streamCore(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Store(true)
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		ended.Store(true)
	}))
	c := streamClient(t, conf())
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequest(http.MethodGet, "/stream", nil)
	resp, err := c.Stream(ctx, addr, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !served.Load() {
		t.Fatalf("status %d", resp.StatusCode)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		readErr <- err
	}()
	cancel()
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the body ended cleanly after its context was canceled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the body's Read outlived its context")
	}
	waitFor(t, "the core's handler to see the stream end", ended.Load)
	resp.Body.Close()
	waitFor(t, "the stream to leave its connection", func() bool { return activeStreams(c, addr) == 0 })
}

func TestStreamIsInterruptedByClose(t *testing.T) {
	addr, conf := streamCore(t, ticker(1000, time.Second))
	c := streamClient(t, conf())
	req, _ := http.NewRequest(http.MethodGet, "/stream", nil)
	resp, err := c.Stream(context.Background(), addr, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := io.Copy(io.Discard, br); err == nil {
		t.Fatal("the stream ended cleanly when the client closed")
	}
	if _, err := c.Stream(context.Background(), addr, req); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stream after Close: %v, want ErrClosed", err)
	}
}

func TestStreamRefusesAnUnknownNode(t *testing.T) {
	_, conf := streamCore(t, ticker(1, 0))
	c := streamClient(t, conf())
	req, _ := http.NewRequest(http.MethodGet, "/stream", nil)
	if _, err := c.Stream(context.Background(), "127.0.0.1:1", req); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("Stream to a stranger: %v, want ErrUnknownNode", err)
	}
}

func TestStreamDoesNotCountAsOutstanding(t *testing.T) {
	addr, conf := streamCore(t, ticker(1000, time.Second))
	c := streamClient(t, conf())
	req, _ := http.NewRequest(http.MethodGet, "/stream", nil)
	resp, err := c.Stream(context.Background(), addr, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n := c.Nodes()[0].Outstanding; n != 0 {
		t.Fatalf("a stream counts as %d outstanding requests; Do's balancing would shun the node", n)
	}
	// (Health probes come and go on the connections too.)
	waitFor(t, "the stream to count on its connection", func() bool { return activeStreams(c, addr) == 1 })
	resp.Body.Close()
	waitFor(t, "the closed stream to leave its connection", func() bool { return activeStreams(c, addr) == 0 })
}

// activeStreams sums the node's connections' stream counts.
func activeStreams(c *Client, addr string) int64 {
	c.mu.Lock()
	n := c.byAddr[addr]
	c.mu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	var sum int64
	for _, cn := range n.conns {
		sum += cn.active.Load()
	}
	return sum
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
