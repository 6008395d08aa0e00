package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEdgeRoutes(t *testing.T) {
	p := getPKI(t)
	var handled atomic.Int32
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handled.Add(1) })
	var notReady atomic.Bool
	cluster := []NodeInfo{{Name: "core-0", Region: "eu", TunnelAddr: "10.0.0.1:7443"}, {Name: "core-1", Region: "eu", TunnelAddr: "10.0.0.2:7443"}}
	hooked := start(t, app, func(c *Config) {
		c.Nodes = func() []NodeInfo { return cluster }
		c.Ready = func(context.Context) error {
			if notReady.Load() {
				return errors.New("no shard map served yet")
			}
			return nil
		}
	})
	bare := start(t, app, nil)

	tests := []struct {
		name       string
		ts         *testServer
		client     *http.Client
		method     string
		path       string
		notReady   bool
		wantStatus int
		wantBody   any // decoded into a value of the same type and compared
		wantCode   string
	}{
		{"nodes from the hook", hooked, client(t, p.edge), "GET", PathNodes, false, 200, NodesResponse{Nodes: cluster}, ""},
		{"nodes without a hook: this node as dialled", bare, client(t, p.edge), "GET", PathNodes, false, 200,
			NodesResponse{Nodes: []NodeInfo{{TunnelAddr: bare.addr}}}, ""},
		{"health ok", hooked, client(t, p.edge), "GET", PathHealth, false, 200, HealthResponse{Status: "ok"}, ""},
		{"health without a hook", bare, client(t, p.edge), "GET", PathHealth, false, 200, HealthResponse{Status: "ok"}, ""},
		{"not ready", hooked, client(t, p.edge), "GET", PathHealth, true, 503, nil, CodeNotReady},
		{"any peer may ask: a core node", hooked, client(t, p.peerCore), "GET", PathNodes, false, 200, NodesResponse{Nodes: cluster}, ""},
		{"any peer may ask: an admin", hooked, client(t, p.admin), "GET", PathHealth, false, 200, HealthResponse{Status: "ok"}, ""},
		{"GET only", hooked, client(t, p.edge), "POST", PathNodes, false, 405, nil, "method_not_allowed"},
		{"unknown tunnel route", hooked, client(t, p.edge), "GET", "/tunnel/v1/other", false, 404, nil, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.notReady {
				notReady.Store(true)
				waitReady(t, tc.ts, false) // past the cached answer
				defer func() {
					notReady.Store(false)
					waitReady(t, tc.ts, true)
				}()
			}
			req, _ := http.NewRequest(tc.method, tc.ts.url+tc.path, nil)
			// Identity headers are neither needed nor believed here.
			req.Header.Set(HeaderUserID, "not a number")
			req.Header.Set(HeaderUserRole, "nobody")
			resp, body := do(t, tc.client, req)
			if tc.wantCode != "" {
				checkError(t, resp, body, tc.wantStatus, tc.wantCode)
				return
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.wantStatus)
			}
			got := reflect.New(reflect.TypeOf(tc.wantBody))
			if err := json.Unmarshal(body, got.Interface()); err != nil {
				t.Fatalf("decoding %s: %v", body, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), tc.wantBody) {
				t.Fatalf("got %s, want %+v", body, tc.wantBody)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get(HeaderRequestID) == "" {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("the application handler saw %d of the tunnel's own requests", n)
	}
}

// waitReady polls the health route until it reports ready (or not): the
// server caches the hook's answer for a moment.
func waitReady(t *testing.T, ts *testServer, ready bool) {
	t.Helper()
	c := client(t, getPKI(t).edge)
	eventually(t, "the health route to follow the hook", func() bool {
		req, _ := http.NewRequest("GET", ts.url+PathHealth, nil)
		resp, _ := do(t, c, req)
		return (resp.StatusCode == 200) == ready
	})
}

func TestReadyIsCachedAndBounded(t *testing.T) {
	var calls atomic.Int32
	slow := func(ctx context.Context) error {
		calls.Add(1)
		<-ctx.Done() // a hook stuck on a dead shard: the timeout ends it
		return ctx.Err()
	}
	ready := cachedReady(slow, 20*time.Millisecond)
	start := time.Now()
	err := ready(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("first call: %v after %v", err, time.Since(start))
	}
	// A caller that gives up does not poison the answer the others get.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ready(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cached call: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the hook ran %d times within the cache period, want 1", n)
	}
	eventually(t, "the cache to expire", func() bool {
		ready(context.Background())
		return calls.Load() == 2
	})
	if cachedReady(nil, time.Second)(context.Background()) != nil {
		t.Fatal("a nil hook must mean ready")
	}
	if !strings.HasPrefix(PathNodes, edgeRoutePrefix) || !strings.HasPrefix(PathHealth, edgeRoutePrefix) {
		t.Fatal("the edge routes must share the prefix the server dispatches on")
	}
}
