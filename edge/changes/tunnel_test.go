package changes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// fakeRelay is the relay's side of the wire on an HTTP/2 mTLS server,
// which the edge's real tunnel client reaches. The test sets the frames.
type fakeRelay struct {
	mu      sync.Mutex
	queries []string // of the subscriptions
	acks    []stream.Ack
	frames  string
	status  int // of subscriptions; 0: 200
}

func (f *fakeRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/tunnel/v1/health":
		w.Write([]byte(`{}`))
	case stream.PathSubscribe:
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.RawQuery)
		frames, status := f.frames, f.status
		f.mu.Unlock()
		if status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"error":{"code":"unknown_region","message":"no region mars"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Write([]byte(frames))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	case stream.PathAck:
		var a stream.Ack
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad ack", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.acks = append(f.acks, a)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// relayTunnel serves relay on HTTP/2 with mTLS and returns a started
// tunnel client for it.
func relayTunnel(t *testing.T, relay http.Handler) (*tunnel.Client, string) {
	t.Helper()
	ca, err := certs.NewCA("changes test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	core, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-0"}})
	if err != nil {
		t.Fatal(err)
	}
	edge, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(relay)
	srv.EnableHTTP2 = true
	srv.TLS = certs.ServerTLS(ca.Pool(), core)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	cfg := tunnel.DefaultConfig()
	cfg.Seeds, cfg.TLS, cfg.Logger, cfg.RefreshInterval = []string{addr}, certs.ClientTLS(ca.Pool(), edge), quiet, -1
	c, err := tunnel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c, addr
}

func TestOverTheTunnel(t *testing.T) {
	relay := &fakeRelay{frames: ndjson(t, head("global", 2, 1), change("global", 1), change("global", 2, "shop:12", "menu:12"))}
	c, addr := relayTunnel(t, relay)
	core := NewTunnel(c)
	if got := core.Nodes(); len(got) != 1 || got[0] != addr {
		t.Fatalf("Nodes = %v, want [%s]", got, addr)
	}
	rec := &recorder{}
	s := newSubscriber(t, core, rec, nil)
	eventually(t, "global.2", func() bool { return s.Applied("global") == 2 })
	if got := rec.got(); len(got) != 2 || got[1] != "apply global.2 shop:12 menu:12" {
		t.Fatalf("applied %q", got)
	}
	eventually(t, "an acknowledgement", func() bool {
		relay.mu.Lock()
		defer relay.mu.Unlock()
		return len(relay.acks) > 0 && relay.acks[len(relay.acks)-1].Cursors["global"] == 2
	})
	relay.mu.Lock()
	a, q := relay.acks[0], relay.queries[0]
	relay.mu.Unlock()
	if a.Region != "eu" || a.Edge != "edge-1" || q != "edge=edge-1&from=&region=eu" {
		t.Fatalf("ack %+v, query %q", a, q)
	}

	// A subscription opened now says where it stands.
	sub, err := core.Subscribe(context.Background(), addr, Subscription{Region: "eu", Edge: "edge-1", From: s.Cursors()})
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	relay.mu.Lock()
	q = relay.queries[len(relay.queries)-1]
	relay.mu.Unlock()
	if q != "edge=edge-1&from=global.2&region=eu" {
		t.Fatalf("query %q", q)
	}
}

func TestTunnelRefusals(t *testing.T) {
	relay := &fakeRelay{status: http.StatusNotFound}
	c, addr := relayTunnel(t, relay)
	core := NewTunnel(c)
	_, err := core.Subscribe(context.Background(), addr, Subscription{Region: "mars", Edge: "edge-1"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || se.Code != "unknown_region" || se.Node != addr {
		t.Fatalf("Subscribe: %v, want a StatusError with the core's code", err)
	}
	if _, err := core.Subscribe(context.Background(), "127.0.0.1:1", Subscription{Region: "eu", Edge: "edge-1"}); !errors.Is(err, tunnel.ErrUnknownNode) {
		t.Fatalf("Subscribe to a stranger: %v", err)
	}
	c.Close()
	if err := core.Ack(context.Background(), stream.Ack{Region: "eu", Edge: "edge-1", Cursors: stream.Cursors{"global": 1}}); !errors.Is(err, tunnel.ErrClosed) {
		t.Fatalf("Ack on a closed tunnel: %v", err)
	}
}
