package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/core/metrics"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

const token = "test-admin-token-0123456789abcdef"

// ringOptions keep compiling a map cheap (the default 8192 points per
// weight build a ring of megabytes, which would slow the fuzz test to a
// crawl); no test here depends on where users land.
var ringOptions = ring.Options{VirtualNodes: 16}

// testCluster stands in for the node's gossip: it commits through a real
// control.Store (or, with no store, compare-and-sets in memory, for the
// fuzz test) and serves what it committed.
type testCluster struct {
	store *control.Store // nil: in memory

	mu      sync.Mutex
	topo    *shardmap.Topology
	members []admin.Member
}

func newTestCluster(t testing.TB, store *control.Store, m *shardmap.Map) *testCluster {
	t.Helper()
	var epoch uint64
	if m != nil {
		epoch = m.Epoch
	}
	c := &testCluster{store: store, members: []admin.Member{
		{Name: "core-b", Addr: "127.0.0.1:7947", Region: "cn-east", TunnelAddr: "127.0.0.1:8444", AdminAddr: "127.0.0.1:9091", State: "alive", Epoch: epoch},
		{Name: "core-a", Addr: "127.0.0.1:7946", Region: "cn-east", TunnelAddr: "127.0.0.1:8443", AdminAddr: "127.0.0.1:9090", State: "alive", Epoch: epoch},
		{Name: "core-c", Addr: "127.0.0.1:7948", Region: "cn-east", State: "dead"},
	}}
	if m != nil {
		topo, err := shardmap.Compile(m, ringOptions)
		if err != nil {
			t.Fatal(err)
		}
		c.topo = topo
	}
	return c
}

func (c *testCluster) Members() []admin.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members)
}

func (c *testCluster) Topology() *shardmap.Topology {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topo
}

func (c *testCluster) Commit(ctx context.Context, expect uint64, next *shardmap.Map) error {
	topo, err := shardmap.Compile(next, ringOptions)
	if err != nil {
		return fmt.Errorf("test cluster: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store != nil {
		err = c.store.CompareAndSwap(ctx, expect, next)
	} else if cur := c.topo.Map; cur.Epoch != expect {
		err = &control.EpochConflictError{Expected: expect, Current: cur.Epoch}
	} else {
		err = shardmap.ValidateSuccessor(cur, next)
	}
	if err != nil {
		return fmt.Errorf("test cluster: commit: %w", err)
	}
	c.topo = topo
	return nil
}

// Epoch and MemberStates make the cluster a metrics.Gossip.
func (c *testCluster) Epoch() uint64 {
	if t := c.Topology(); t != nil {
		return t.Epoch()
	}
	return 0
}

func (c *testCluster) MemberStates() map[string]int {
	states := map[string]int{"alive": 0, "dead": 0, "left": 0}
	for _, m := range c.Members() {
		states[m.State]++
	}
	return states
}

// fixture is an admin API over a migrated deployment on MariaDB.
type fixture struct {
	h       http.Handler
	deploy  *shardtest.Cluster
	store   *control.Store
	cluster *testCluster
}

func newFixture(t *testing.T, cfg admin.Config) *fixture {
	t.Helper()
	d := shardtest.Start(t, shardtest.Options{Shards: 2})
	store := control.NewStore(d.Exec.Global())
	stored, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{deploy: d, store: store, cluster: newTestCluster(t, store, stored)}
	m, err := metrics.New(metrics.Config{PoolStats: d.Exec.PoolStats, Gossip: f.cluster})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token = token
	cfg.Cluster = f.cluster
	cfg.Regions = control.NewRegionStore(d.Exec.Global())
	cfg.Metrics = m.Handler()
	cfg.Instrument = func(h http.Handler) http.Handler { return m.Middleware("admin", h) }
	cfg.Logger = quietLogger()
	a, err := admin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = a.Handler()
	return f
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// call sends one request to h, with the admin token unless headers set
// Authorization (to "" for none). headers are name, value pairs.
func call(h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	r.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		name, value := headers[i], headers[i+1]
		switch {
		case name == "Authorization" && value == "":
			r.Header.Del(name)
		case name == "Authorization":
			r.Header.Set(name, value)
		default:
			r.Header.Add(name, value)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// expectError checks that rec is the JSON error status/code and returns its
// message.
func expectError(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, code string) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != status || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: %d %s; want %d %s", what, rec.Code, rec.Body, status, code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	return e.Error.Message
}

func expectStatus(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("%s: %d %s; want %d", what, rec.Code, rec.Body, status)
	}
}

func expectETag(t *testing.T, what string, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	if got := rec.Header().Get("ETag"); got != want {
		t.Errorf("%s: ETag %s, want %s", what, got, want)
	}
}

func mapJSON(t testing.TB, m *shardmap.Map) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// successor adds a joining shard: a change every validator accepts.
func successor(m *shardmap.Map, id string) *shardmap.Map {
	next := m.Clone()
	next.Epoch = m.Epoch + 1
	next.Shards = append(next.Shards, shardmap.Shard{ID: id, Address: "127.0.0.1:4999", State: shardmap.Joining, Weight: 1})
	return next
}
