package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/replication/relay"
	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // polling, with a deadline
	}
}

// pki is a CA and the client side of mTLS for any peer.
type pki struct {
	t  testing.TB
	ca *certs.CA
}

func newPKI(t testing.TB) *pki {
	ca, err := certs.NewCA("relay test CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &pki{t: t, ca: ca}
}

func (p *pki) leaf(peer certs.Peer) *certs.Leaf {
	p.t.Helper()
	l, err := p.ca.Issue(certs.IssueRequest{Peer: peer})
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// client is an HTTP/2 client presenting peer's certificate.
func (p *pki) client(peer certs.Peer) *http.Client {
	return httpClient(p.t, certs.ClientTLS(p.ca.Pool(), p.leaf(peer)))
}

func httpClient(t testing.TB, cfg *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// node is one relay behind its own tunnel server, as a core node has it.
type node struct {
	name  string
	relay *relay.Relay
	addr  string
	srv   *tunnel.Server
}

// startNode starts a relay named name over the deployment, with its tunnel
// on loopback; edit adjusts the relay's config, tunnelEdit the tunnel's.
func startNode(t testing.TB, p *pki, data *shardtest.Cluster, name string, members func() []string, edit func(*relay.Config), tunnelEdit func(*tunnel.Config)) *node {
	t.Helper()
	cfg := relay.DefaultConfig()
	cfg.Node, cfg.Exec, cfg.Members, cfg.Logger = name, data.Exec, members, quiet
	if edit != nil {
		edit(&cfg)
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := tunnel.DefaultConfig()
	tc.TLS = certs.ServerTLS(p.ca.Pool(), p.leaf(certs.Peer{Kind: certs.Core, Region: "eu", ID: name}))
	tc.Handler, tc.Routes, tc.Logger = http.NotFoundHandler(), r.Routes(), quiet
	if tunnelEdit != nil {
		tunnelEdit(&tc)
	}
	srv, err := tunnel.New(tc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		srv.Shutdown(ctx)
	})
	return &node{name: name, relay: r, addr: ln.Addr().String(), srv: srv}
}

// write commits one change on the keyspace of user (0: the global
// keyspace) through the executor and the outbox, and returns its version.
func write(t testing.TB, e *exec.Executor, user int64, keys ...string) outbox.Version {
	t.Helper()
	ctx := context.Background()
	tx, err := e.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if user == 0 {
		_, err = tx.Exec(ctx, "UPDATE shops SET updated_at = ? WHERE id = 0", time.Now().UTC())
	} else {
		_, err = tx.Exec(ctx, "UPDATE users SET updated_at = ? WHERE user_id = ?", time.Now().UTC(), user)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		keys = []string{"user:" + strconv.FormatInt(user, 10)}
	}
	v, err := outbox.Append(ctx, tx, outbox.Change{UserID: user, SurrogateKeys: keys, Payload: map[string]any{"kind": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return v
}

// received is a frame as an edge got it.
type received struct {
	stream.Frame
	at   time.Time
	node string
	conn int // the subscription (connection) it came on
}

// edge is a test edge: it keeps one subscription to each core node it is
// given, resumes each from its cursors after any end, and records every
// frame. Applying a change is recording it, so duplicates are harmless.
type edge struct {
	t              testing.TB
	region, id     string
	client         *http.Client
	ctx            context.Context
	cancel         context.CancelFunc
	wg             sync.WaitGroup
	mu             sync.Mutex
	cursors        stream.Cursors
	frames         []received
	conns          int
	following      map[string]bool
	disconnections int
}

func newEdge(t testing.TB, client *http.Client, region, id string) *edge {
	ctx, cancel := context.WithCancel(context.Background())
	e := &edge{t: t, region: region, id: id, client: client, ctx: ctx, cancel: cancel, cursors: stream.Cursors{}, following: map[string]bool{}}
	t.Cleanup(e.stop)
	return e
}

func (e *edge) stop() {
	e.cancel()
	e.wg.Wait()
}

// follow keeps a subscription to the node at addr until the edge stops.
func (e *edge) follow(addr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.following[addr] {
		return
	}
	e.following[addr] = true
	e.wg.Go(func() {
		for e.ctx.Err() == nil {
			e.subscribeOnce(addr)
			select { // pace reconnections to a node that is gone
			case <-e.ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

func (e *edge) url(addr string) string {
	e.mu.Lock()
	from := e.cursors.String()
	e.mu.Unlock()
	return fmt.Sprintf("https://%s%s?region=%s&edge=%s&from=%s", addr, stream.PathSubscribe, e.region, e.id, from)
}

// subscribeOnce reads one subscription to its end.
func (e *edge) subscribeOnce(addr string) {
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.url(addr), nil)
	resp, err := e.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return
	}
	e.mu.Lock()
	e.conns++
	conn := e.conns
	e.mu.Unlock()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, stream.MaxFrameBytes), stream.MaxFrameBytes)
	for sc.Scan() {
		f, err := stream.ParseFrame(sc.Bytes())
		if err != nil {
			e.t.Errorf("bad frame %q from %s: %v", sc.Bytes(), addr, err)
			return
		}
		e.apply(received{Frame: f, at: time.Now(), node: addr, conn: conn})
	}
	e.mu.Lock()
	e.disconnections++
	e.mu.Unlock()
}

func (e *edge) apply(r received) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.frames = append(e.frames, r)
	switch r.Type {
	case stream.TypeChange:
		e.cursors[r.Keyspace] = max(e.cursors[r.Keyspace], r.Seq)
	case stream.TypeReset:
		e.cursors[r.Keyspace] = r.Oldest - 1
	}
}

func (e *edge) cursor(ks string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cursors[ks]
}

// waitFor polls until the edge applied keyspace ks up to seq.
func (e *edge) waitFor(ks string, seq uint64, timeout time.Duration) {
	e.t.Helper()
	eventually(e.t, timeout, fmt.Sprintf("%s.%d at edge %s", ks, seq, e.id), func() bool { return e.cursor(ks) >= seq })
}

func (e *edge) received() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.frames)
}

// snapshot returns the frames received so far and the cursors they led
// to, taken together: frames keep arriving while the edge runs, so a
// cursor read after the frames may count changes the frames lack.
func (e *edge) snapshot() ([]received, stream.Cursors) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.frames), maps.Clone(e.cursors)
}

// checkOrderAndCoverage checks that within each subscription every
// keyspace's changes came in increasing sequence order, and that the
// edge got every change of ks from first to last at least once.
func checkOrderAndCoverage(t testing.TB, frames []received, ks string, first, last uint64) {
	t.Helper()
	prev := map[int]uint64{}
	got := map[uint64]bool{}
	for _, f := range frames {
		if f.Keyspace != ks {
			continue
		}
		switch f.Type {
		case stream.TypeReset:
			prev[f.conn] = f.Oldest - 1
		case stream.TypeChange:
			if f.Seq <= prev[f.conn] {
				t.Fatalf("%s: connection %d sent %d after %d", ks, f.conn, f.Seq, prev[f.conn])
			}
			prev[f.conn] = f.Seq
			got[f.Seq] = true
		}
	}
	for s := first; s <= last; s++ {
		if !got[s] {
			t.Fatalf("%s: change %d never arrived (got %d changes of %d..%d)", ks, s, len(got), first, last)
		}
	}
}

// post sends body as JSON and returns the status and body.
func post(t testing.TB, c *http.Client, url string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
