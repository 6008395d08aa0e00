package tunnel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/httpapi"
)

const testStreamPath = "/tunnel/v1/test-stream"

// TestRoutesOutliveTheRequestTimeout: a route streams for several request
// timeouts, sees its peer, never the identity headers, and never reaches
// the application handler.
func TestRoutesOutliveTheRequestTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	p := getPKI(t)
	var handled atomic.Int32
	app := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { handled.Add(1) })
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _ := PeerFrom(r.Context())
		_, hasDL := r.Context().Deadline()
		fmt.Fprintf(w, "peer %s deadline %v user %q\n", peer, hasDL, r.Header.Get(HeaderUserID))
		rc := http.NewResponseController(w)
		// Pace the lines over five request timeouts: the response must
		// arrive whole.
		end := time.Now().Add(5 * timeout)
		for i := 0; time.Now().Before(end); i++ {
			fmt.Fprintf(w, "line %d\n", i)
			if err := rc.Flush(); err != nil {
				t.Errorf("flush: %v", err)
				return
			}
			select {
			case <-r.Context().Done():
				t.Errorf("the stream's context ended: %v", r.Context().Err())
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		io.WriteString(w, "end\n")
	})
	ts := start(t, app, func(c *Config) {
		c.RequestTimeout = timeout
		c.Routes = map[string]http.Handler{testStreamPath: stream}
	})
	req, _ := http.NewRequest("GET", ts.url+testStreamPath, nil)
	req.Header.Set(HeaderUserID, "42")
	req.Header.Set(HeaderUserRole, "admin")
	began := time.Now()
	resp, body := do(t, client(t, p.edge), req)
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || lines[0] != `peer edge/eu-west/edge-1 deadline false user ""` || lines[len(lines)-1] != "end" {
		t.Fatalf("%s %d: %q", resp.Proto, resp.StatusCode, body)
	}
	if took := time.Since(began); took < 5*timeout {
		t.Fatalf("the stream took %v, less than it streams for", took)
	}
	if resp.Header.Get(HeaderRequestID) == "" {
		t.Error("no request id")
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("the application handler saw %d route requests", n)
	}
}

// TestShutdownEndsRouteStreams: a stream waiting on its context ends when
// Shutdown begins, so Shutdown returns without waiting for its deadline.
func TestShutdownEndsRouteStreams(t *testing.T) {
	p := getPKI(t)
	waiting := make(chan struct{})
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
		http.NewResponseController(w).Flush()
		close(waiting)
		<-r.Context().Done()
	})
	ts := start(t, http.NotFoundHandler(), func(c *Config) { c.Routes = map[string]http.Handler{testStreamPath: stream} })
	resp, err := client(t, p.edge).Get(ts.url + testStreamPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	<-waiting
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("Shutdown took %v", took)
	}
	io.Copy(io.Discard, resp.Body) // the stream ended
}

func TestRouteBodyLimit(t *testing.T) {
	p := getPKI(t)
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			httpapi.WriteError(w, httpapi.Errorf(http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, "%v", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ts := start(t, http.NotFoundHandler(), func(c *Config) {
		c.MaxBodyBytes = 16
		c.Routes = map[string]http.Handler{testStreamPath: route}
	})
	c := client(t, p.edge)
	for _, tc := range []struct {
		body  string
		want  int
		chunk bool // no Content-Length: the limit is found while reading
	}{
		{strings.Repeat("a", 16), 204, false},
		{strings.Repeat("a", 17), 413, false},
		{strings.Repeat("a", 17), 413, true},
	} {
		var body io.Reader = strings.NewReader(tc.body)
		if tc.chunk {
			body = io.MultiReader(body)
		}
		req, _ := http.NewRequest("POST", ts.url+testStreamPath, body)
		if resp, b := do(t, c, req); resp.StatusCode != tc.want {
			t.Errorf("%d bytes (chunked %v): %d %s, want %d", len(tc.body), tc.chunk, resp.StatusCode, b, tc.want)
		}
	}
}

func TestNewRefusesBadRoutes(t *testing.T) {
	p := getPKI(t)
	h := http.NotFoundHandler()
	for name, routes := range map[string]map[string]http.Handler{
		"outside the prefix": {"/api/v1/stream": h},
		"the prefix itself":  {"/tunnel/v1/": h},
		"the server's own":   {PathNodes: h},
		"nil handler":        {testStreamPath: nil},
	} {
		cfg := DefaultConfig()
		cfg.TLS, cfg.Handler, cfg.Routes = certs.ServerTLS(p.ca.Pool(), p.core), h, routes
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %v", name, routes)
		}
	}
}
