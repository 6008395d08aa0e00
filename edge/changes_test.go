package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/coretest"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/edge/auth/authtest"
	"github.com/cangqiong/cangqiong/edge/changes"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/ryw"
	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/valyala/fasthttp"
)

// streamCore is a changes.Core of one node whose subscriptions the test
// writes to.
type streamCore struct {
	mu     sync.Mutex
	nodes  []string
	opened chan *streamSub
}

type streamSub struct {
	from stream.Cursors
	ctx  context.Context
	w    *io.PipeWriter
}

func newStreamCore() *streamCore {
	return &streamCore{nodes: []string{"core-0:7443"}, opened: make(chan *streamSub, 64)}
}

func (c *streamCore) Nodes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.nodes...)
}

func (c *streamCore) setNodes(nodes ...string) {
	c.mu.Lock()
	c.nodes = nodes
	c.mu.Unlock()
}

func (c *streamCore) Subscribe(ctx context.Context, _ string, sub changes.Subscription) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	c.opened <- &streamSub{from: sub.From, ctx: ctx, w: pw}
	return pr, nil
}

func (c *streamCore) Ack(context.Context, stream.Ack) error { return nil }

func (c *streamCore) next(t *testing.T) *streamSub {
	t.Helper()
	select {
	case s := <-c.opened:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the edge opened no subscription")
		return nil
	}
}

func (s *streamSub) send(t *testing.T, frames ...stream.Frame) {
	t.Helper()
	var b []byte
	for i := range frames {
		var err error
		if b, err = stream.AppendFrame(b, &frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Write(b); err != nil {
		t.Fatal(err)
	}
}

func chg(ks string, seq uint64, keys ...string) stream.Frame {
	return stream.Frame{Type: stream.TypeChange, Keyspace: ks, Seq: seq, Keys: keys}
}

// versionedOrigin answers every path with a public entry whose surrogate
// key is the path's last segment and whose version is version[path]
// (default "shard-0.10").
func versionedOrigin(t *testing.T) (*testOrigin, *sync.Map) {
	var versions sync.Map
	var n atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		v := "shard-0.10"
		if x, ok := versions.Load(r.URL.Path); ok {
			v = x.(string)
		}
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Surrogate-Key", r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:])
		w.Header().Set("Cq-Version", v)
		fmt.Fprintf(w, "%s #%d", r.URL.Path, n.Add(1))
	})
	return o, &versions
}

// withChanges subscribes the edge to core.
func withChanges(core changes.Core, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Changes = &ChangesConfig{Core: core}
		for _, f := range more {
			f(c)
		}
	}
}

func TestChangesPurgeTheEdge(t *testing.T) {
	o, _ := versionedOrigin(t)
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core))
	sub := core.next(t)
	for _, p := range []string{"/shops/menu:12", "/shops/shop:12"} {
		e.get(p)
		if r := e.get(p); r.xcache() != "HIT-L1" {
			t.Fatalf("%s: %s, want HIT-L1", p, r.xcache())
		}
	}
	sub.send(t, chg("shard-0", 11, "menu:12", "other"))
	eventually(t, "the change to purge menu:12", func() bool { return !e.holds("/shops/menu:12", 0) })
	if !e.holds("/shops/shop:12", 0) {
		t.Fatal("the change purged an entry it does not name")
	}
	if r := e.get("/shops/menu:12"); r.xcache() != "MISS" || r.body != "/shops/menu:12 #3" {
		t.Fatalf("after the purge: %s %q, want a fresh MISS", r.xcache(), r.body)
	}
	m := e.adminCall("GET", "/metrics", "")
	for _, want := range []string{`cangqiong_edge_changes_applied_total{edge="edge-1",region="test"} 1`, `cangqiong_edge_changes_subscriptions{edge="edge-1",region="test"} 1`,
		`cangqiong_edge_changes_cursor{edge="edge-1",keyspace="shard-0",region="test"} 11`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAResetFlushesTheKeyspace(t *testing.T) {
	o, versions := versionedOrigin(t)
	versions.Store("/catalog/shop:1", "global.5")
	logs := &logBuffer{}
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) }))
	sub := core.next(t)
	paths := []string{"/users/user:9:cart", "/users/user:9:orders", "/catalog/shop:1"}
	for _, p := range paths {
		e.get(p)
	}
	sub.send(t, chg("shard-0", 3, "unrelated"), stream.Frame{Type: stream.TypeReset, Keyspace: "shard-0", Oldest: 100})
	eventually(t, "the flush of shard-0", func() bool { return !e.holds(paths[0], 0) && !e.holds(paths[1], 0) })
	if !e.holds(paths[2], 0) {
		t.Fatal("a reset of shard-0 flushed a global entry")
	}
	eventually(t, "the cursor to move to oldest-1", func() bool { return e.s.changes.Applied("shard-0") == 99 })
	if !strings.Contains(logs.String(), "fell behind the change stream's retention") || !strings.Contains(logs.String(), "flushed a keyspace's entries") {
		t.Fatalf("the reset is not logged:\n%s", logs)
	}
	if m := e.adminCall("GET", "/metrics", ""); !strings.Contains(m, `cangqiong_edge_changes_resets_total{edge="edge-1",keyspace="shard-0",region="test"} 1`) {
		t.Fatalf("the reset is not counted:\n%s", grep(m, "changes"))
	}
}

func TestDuplicateChangesAreHarmless(t *testing.T) {
	o, _ := versionedOrigin(t)
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core))
	sub := core.next(t)
	e.get("/a/menu:1")
	sub.send(t, chg("global", 5, "menu:1"))
	eventually(t, "the purge", func() bool { return !e.holds("/a/menu:1", 0) })
	e.get("/a/menu:1") // cached again, after the change
	sub.send(t, chg("global", 5, "menu:1"), chg("global", 4, "menu:1"), chg("global", 6, "elsewhere"))
	eventually(t, "global.6", func() bool { return e.s.changes.Applied("global") == 6 })
	if !e.holds("/a/menu:1", 0) {
		t.Fatal("a repeated change purged again")
	}
	if st := e.s.changes.Stats(); st.Duplicates != 2 || st.Applied != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestADisconnectedEdgeResumesFromItsCursor(t *testing.T) {
	o, _ := versionedOrigin(t)
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core))
	sub := core.next(t)
	sub.send(t, chg("shard-0", 20, "x"))
	eventually(t, "shard-0.20", func() bool { return e.s.changes.Applied("shard-0") == 20 })

	core.setNodes() // the core is unreachable: no node is alive
	eventually(t, "the subscription to end", func() bool { return sub.ctx.Err() != nil })
	for _, p := range []string{"/p/k21", "/p/k22"} {
		e.get(p) // cached while the edge hears nothing
	}
	core.setNodes("core-0:7443")
	again := core.next(t)
	if again.from["shard-0"] != 20 {
		t.Fatalf("resumed from %v, want shard-0 at 20", again.from)
	}
	again.send(t, chg("shard-0", 21, "k21"), chg("shard-0", 22, "k22"))
	eventually(t, "the changes made while disconnected to purge", func() bool { return !e.holds("/p/k21", 0) && !e.holds("/p/k22", 0) })
	if st := e.s.changes.Stats(); st.Gaps != 0 || st.Resets != 0 || st.Applied != 3 {
		t.Fatalf("stats %+v: no gap, nothing flushed", st)
	}
}

func TestReadYourWritesFromTheChangeStream(t *testing.T) {
	o, versions := versionedOrigin(t)
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core))
	sub := core.next(t)
	const path = "/me/cart:9"
	e.get(path) // stored at shard-0.10
	token := func(v string) []string { return []string{"Cq-Version", v} }

	if r := e.get(path, token("shard-0.12")...); r.xcache() != "MISS" {
		t.Fatalf("a shard-0.10 entry answered a reader of shard-0.12: %s", r.xcache())
	}
	// The stream applies 11 and 12, which concern other data: the entry
	// survived them, so it is current as of 12.
	sub.send(t, chg("shard-0", 11, "cart:7"), chg("shard-0", 12, "orders:9"))
	eventually(t, "shard-0.12", func() bool { return e.s.changes.Applied("shard-0") == 12 })
	if r := e.get(path, token("shard-0.12")...); r.xcache() != "HIT-L1" {
		t.Fatalf("an entry that survived the purges up to 12 did not answer a reader of 12: %s", r.xcache())
	}
	if r := e.get(path, token("shard-0.13")...); r.xcache() != "MISS" {
		t.Fatalf("a reader of 13 got an entry known only up to 12: %s", r.xcache())
	}
	if r := e.get(path, token("global.99")...); r.xcache() != "HIT-L1" {
		t.Fatalf("a token of another keyspace: %s", r.xcache())
	}
	// 13 is the user's write to the cart: its purge removes the entry.
	versions.Store(path, "shard-0.13")
	sub.send(t, chg("shard-0", 13, "cart:9"))
	eventually(t, "the cart's purge", func() bool { return !e.holds(path, 0) })
	if r := e.get(path, token("shard-0.13")...); r.xcache() != "MISS" || !strings.Contains(r.body, path) {
		t.Fatalf("after the write's purge: %s %q", r.xcache(), r.body)
	}
}

func TestAppliedNeedsTheKeyspaceKey(t *testing.T) {
	o, _ := versionedOrigin(t)
	core := newStreamCore()
	e := edgeFor(t, o, withChanges(core))
	core.next(t).send(t, chg("shard-0", 50, "x"))
	eventually(t, "shard-0.50", func() bool { return e.s.changes.Applied("shard-0") == 50 })
	mk := func(keys string) *httpcache.Entry {
		var h fasthttp.ResponseHeader
		h.Set("Cache-Control", "max-age=60")
		h.Set("Cq-Version", "shard-0.10")
		h.Set("Surrogate-Key", keys)
		x := &httpcache.Exchange{Method: []byte("GET"), Host: []byte(testHost), Path: []byte("/x"), Status: 200, Response: &h, ResponseTime: time.Now()}
		d := httpcache.Decide(x, nil)
		ent, err := httpcache.NewEntry(x, &d, []byte("b"), &httpcache.StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ent
	}
	if got := e.s.appliedFor(mk("a"), "shard-0"); got != 50 {
		t.Fatalf("appliedFor an entry with its keyspace key: %d, want 50", got)
	}
	if got := e.s.appliedFor(mk("a"), "shard-1"); got != 0 {
		t.Fatalf("appliedFor another keyspace: %d", got)
	}
}

func TestChangesNeedATunnelOrigin(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, err := LoadConfig(context.Background(), write("http.json", `{"region":"eu","id":"edge-1","origin":{"http":"http://127.0.0.1:1"},"changes":{}}`), func(string) string { return "" })
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "tunnel") {
		t.Fatalf("changes over an HTTP origin: %v", err)
	}

	ca, err := certs.NewCA("file test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu", ID: "edge-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Save(dir, false); err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Save(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		block string
		ok    bool
		ack   time.Duration
	}{{`{}`, true, 0}, {`{"ack_interval":"250ms"}`, true, 250 * time.Millisecond}, {`{"ack_interval":"soon"}`, false, 0}, {`{"surprise":1}`, false, 0}} {
		p := write("tunnel.json", `{"region":"eu","id":"edge-1","origin":{"tunnel":{"seeds":["127.0.0.1:1"],"certs_dir":"."}},"changes":`+tc.block+`}`)
		l, err := LoadConfig(ctx, p, func(string) string { return "" })
		if (err == nil) != tc.ok {
			t.Fatalf("%s: %v", tc.block, err)
		}
		if err != nil {
			continue
		}
		if _, ok := l.Changes.Core.(*changes.Tunnel); !ok || l.Changes.AckInterval != tc.ack {
			t.Fatalf("%s: %+v", tc.block, l.Changes)
		}
		l.Close()
	}
}

// logBuffer collects logs, safe for concurrent writers.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// grep keeps the lines of s containing sub.
func grep(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// switchedCore hides the core nodes while off: the edge's subscriptions
// end, as when the core is unreachable.
type switchedCore struct {
	changes.Core
	off atomic.Bool
}

func (s *switchedCore) Nodes() []string {
	if s.off.Load() {
		return nil
	}
	return s.Core.Nodes()
}

// TestAnEdgeCutOffFromTheCoreCatchesUp: over a real core, an edge that
// hears nothing while the catalog changes twice resumes from its cursor,
// gets both changes (no gap, nothing flushed) and drops the stale menu.
func TestAnEdgeCutOffFromTheCoreCatchesUp(t *testing.T) {
	c := coretest.Start(t, coretest.Options{Nodes: 1})
	sw := &switchedCore{}
	e := subscribedEdgeVia(t, c, "eu", "edge-1", authtest.NewIssuer(t), "", func(core changes.Core) changes.Core {
		sw.Core = core
		return sw
	})
	writer := coreClient(t, c, "eu", "writer")
	shop, category, dish := shopWithCategory(t, e)
	menu := fmt.Sprintf("/api/v1/shops/%d/menu", shop)
	price := func(cents int) string {
		return coreWrite(t, writer, 77, identity.Merchant, "PUT", fmt.Sprintf("/api/v1/shops/%d/dishes/%d", shop, dish),
			map[string]any{"category_id": category, "name": "Ramen", "price_cents": cents, "on_sale": true})
	}
	first, err := ryw.ParseToken([]byte(price(1300)))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edge to apply the first price change", func() bool { return e.s.changes.Applied("global") >= first.Seq })
	if r := must(t, e.get(menu), 200); !strings.Contains(r.body, "1300") || !e.holds(menu, 0) {
		t.Fatalf("menu after the first change: %s %q", r.xcache(), r.body)
	}
	cursor := e.s.changes.Applied("global")

	sw.off.Store(true)
	eventually(t, "the subscriptions to end", func() bool { return e.s.changes.Stats().Subscriptions == 0 })
	price(1400)
	last, _ := ryw.ParseToken([]byte(price(1500)))
	if !e.holds(menu, 0) || e.s.changes.Applied("global") != cursor {
		t.Fatal("the edge heard of changes while cut off; the test proves nothing")
	}

	sw.off.Store(false)
	eventually(t, "the edge to catch up", func() bool { return e.s.changes.Applied("global") >= last.Seq })
	if e.holds(menu, 0) {
		t.Fatal("the stale menu outlived the changes the edge caught up with")
	}
	if r := must(t, e.get(menu), 200); !strings.Contains(r.body, "1500") {
		t.Fatalf("menu after catching up: %q", r.body)
	}
	if st := e.s.changes.Stats(); st.Gaps != 0 || st.Resets != 0 || st.Reconnects == 0 || st.Applied < 3 {
		t.Fatalf("stats %+v: want the changes applied in order, nothing flushed", st)
	}
}
