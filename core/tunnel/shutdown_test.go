package tunnel

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestShutdown: Shutdown stops accepting at once, lets the request in
// flight finish, then returns; Serve returns nil; Shutdown again is fine.
func TestShutdown(t *testing.T) {
	p := getPKI(t)
	started, release := make(chan struct{}), make(chan struct{})
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}), nil)
	c := client(t, p.edge)

	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := c.Get(ts.url + "/")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-started

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shutdown <- ts.Shutdown(ctx)
	}()
	eventually(t, "the listener to close", func() bool {
		conn, err := net.DialTimeout("tcp", ts.addr, time.Second)
		if err == nil {
			conn.Close()
			return false
		}
		return true
	})
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	if resp, err := client(t, p.edge).Get(ts.url + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("a new client got a response during Shutdown")
	}

	close(release)
	if r := <-inflight; r.err != nil || r.body != "finished" {
		t.Fatalf("the request in flight got %q, %v", r.body, r.err)
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-ts.serveErr; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	ts.serveErr <- nil // for the cleanup's stop, which shuts down a second time
	if err := ts.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

// TestShutdownWaitsForLateHandlers: a handler that outlived its request
// (the client already has its 504) still holds Shutdown up.
func TestShutdownWaitsForLateHandlers(t *testing.T) {
	p := getPKI(t)
	release, returned := make(chan struct{}), make(chan struct{})
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		close(returned)
	}), func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
	resp, err := client(t, p.edge).Get(ts.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %s, want 504", resp.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a handler running = %v, want the context's error", err)
	}
	close(release)
	<-returned
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown again once the handler returned: %v", err)
	}
}

// TestServeAfterShutdown: a server shut down before it served refuses to
// serve and closes the listener it was given.
func TestServeAfterShutdown(t *testing.T) {
	ts := start(t, http.NotFoundHandler(), nil)
	ts.stop(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Serve(ln); err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the listener is still open: %v", err)
	}
}
