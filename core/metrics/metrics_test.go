package metrics_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cangqiong/cangqiong/core/metrics"
	"github.com/cangqiong/cangqiong/core/metrics/metricstest"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// scrape fetches h as Prometheus does and returns every sample by its
// series (metricstest.Samples).
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return metricstest.Samples(t, rec.Body)
}

func newMetrics(t *testing.T, cfg metrics.Config) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMiddleware(t *testing.T) {
	m := newMetrics(t, metrics.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.PathValue("id"))) })
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // interim; the answer is the 503
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the middleware: %v", err)
		}
	})
	mux.HandleFunc("/silent", func(http.ResponseWriter, *http.Request) {})
	h := m.Middleware("api", mux)

	for _, req := range []struct{ method, path string }{
		{"GET", "/items/1"}, {"GET", "/items/2"}, {"GET", "/items/3"}, // one route, three paths
		{"POST", "/items"},
		{"GET", "/down"},
		{"GET", "/stream"},
		{"GET", "/silent"},
		{"GET", "/nowhere/1"}, {"GET", "/nowhere/2"}, // unmatched: one series
		{"BREW", "/down"}, // unknown method: "other"
		{"DELETE", "/items/1"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	got := scrape(t, m.Handler())
	for series, want := range map[string]float64{
		`cangqiong_http_requests_total{method="GET",route="GET /items/{id}",server="api",status_class="2xx"}`: 3,
		`cangqiong_http_requests_total{method="POST",route="POST /items",server="api",status_class="2xx"}`:    1,
		`cangqiong_http_requests_total{method="GET",route="/down",server="api",status_class="5xx"}`:           1,
		`cangqiong_http_requests_total{method="other",route="/down",server="api",status_class="5xx"}`:         1,
		`cangqiong_http_requests_total{method="GET",route="/stream",server="api",status_class="2xx"}`:         1,
		`cangqiong_http_requests_total{method="GET",route="/silent",server="api",status_class="2xx"}`:         1,
		`cangqiong_http_requests_total{method="GET",route="unmatched",server="api",status_class="4xx"}`:       2,
		// The mux answers a known path with the wrong method itself (405).
		`cangqiong_http_requests_total{method="DELETE",route="unmatched",server="api",status_class="4xx"}`: 1,
		`cangqiong_http_request_duration_seconds_count{route="GET /items/{id}",server="api"}`:              3,
		`cangqiong_http_request_duration_seconds_bucket{route="unmatched",server="api",le="+Inf"}`:         3,
		`cangqiong_http_requests_in_flight{server="api"}`:                                                  0,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	for series := range got {
		if strings.Contains(series, "/items/1") || strings.Contains(series, "/nowhere") {
			t.Errorf("a raw path leaked into a label: %s", series)
		}
	}
	for _, family := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := got[family]; !ok {
			t.Errorf("%s missing: the Go and process collectors are not registered", family)
		}
	}
}

func TestMiddlewareRecordsPanics(t *testing.T) {
	m := newMetrics(t, metrics.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := m.Middleware("api", mux)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic to continue", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	}()
	got := scrape(t, m.Handler())
	if v := got[`cangqiong_http_requests_total{method="GET",route="/boom",server="api",status_class="5xx"}`]; v != 1 {
		t.Errorf("panicking request counted %v times as 5xx, want 1", v)
	}
	if v := got[`cangqiong_http_requests_in_flight{server="api"}`]; v != 0 {
		t.Errorf("in flight after a panic = %v, want 0", v)
	}
}

func TestMiddlewareInFlight(t *testing.T) {
	m := newMetrics(t, metrics.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	h := m.Middleware("api", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
	}
	<-entered
	<-entered
	if v := scrape(t, m.Handler())[`cangqiong_http_requests_in_flight{server="api"}`]; v != 2 {
		t.Errorf("in flight = %v, want 2", v)
	}
	close(release)
	wg.Wait()
}

// Several nodes in one process each expose only their own series, and the
// global default registry stays untouched.
func TestRegistriesAreSeparate(t *testing.T) {
	a, b := newMetrics(t, metrics.Config{}), newMetrics(t, metrics.Config{Namespace: "other"})
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	a.Middleware("node-a", noop).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	b.Middleware("node-b", noop).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	sa, sb := scrape(t, a.Handler()), scrape(t, b.Handler())
	if _, ok := sa[`cangqiong_http_requests_total{method="GET",route="unmatched",server="node-a",status_class="2xx"}`]; !ok {
		t.Error("node a's request is missing from its registry")
	}
	if _, ok := sb[`other_http_requests_total{method="GET",route="unmatched",server="node-b",status_class="2xx"}`]; !ok {
		t.Error("node b's request is missing from its registry (namespace other)")
	}
	for series := range sa {
		if strings.Contains(series, "node-b") {
			t.Errorf("node a exposes node b's %s", series)
		}
	}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "cangqiong_") {
			t.Errorf("%s registered in the default registry", f.GetName())
		}
	}
}

type fakeGossip struct {
	mu     sync.Mutex
	epoch  uint64
	states map[string]int
}

func (g *fakeGossip) Epoch() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.epoch
}

func (g *fakeGossip) MemberStates() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, v := range g.states {
		out[k] = v
	}
	return out
}

func TestGossipGauges(t *testing.T) {
	g := &fakeGossip{epoch: 7, states: map[string]int{"alive": 3, "suspect": 0, "dead": 1}}
	m := newMetrics(t, metrics.Config{Gossip: g})
	want := map[string]float64{
		`cangqiong_gossip_epoch`:                    7,
		`cangqiong_gossip_members{state="alive"}`:   3,
		`cangqiong_gossip_members{state="suspect"}`: 0,
		`cangqiong_gossip_members{state="dead"}`:    1,
	}
	check := func() {
		t.Helper()
		got := scrape(t, m.Handler())
		for series, v := range want {
			if got[series] != v {
				t.Errorf("%s = %v, want %v", series, got[series], v)
			}
		}
	}
	check()

	// Read at scrape time: a change shows on the next scrape.
	g.mu.Lock()
	g.epoch, g.states["alive"], g.states["dead"] = 8, 4, 0
	g.mu.Unlock()
	want[`cangqiong_gossip_epoch`], want[`cangqiong_gossip_members{state="alive"}`], want[`cangqiong_gossip_members{state="dead"}`] = 8, 4, 0
	check()
}

func TestPoolGaugesFromExecutor(t *testing.T) {
	c := shardtest.Start(t, shardtest.Options{Shards: 2})
	ctx := context.Background()
	m := newMetrics(t, metrics.Config{PoolStats: c.Exec.PoolStats})

	// Hold one connection of shard-1's pool: it must show as in use.
	db, err := c.Exec.Shard("shard-1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, m.Handler())
	for _, shard := range []string{"global", "shard-0", "shard-1"} {
		for _, name := range []string{
			"max_open_connections", "open_connections", "in_use_connections", "idle_connections",
			"wait_count_total", "wait_duration_seconds_total",
		} {
			series := `cangqiong_db_pool_` + name + `{shard="` + shard + `"}`
			if _, ok := got[series]; !ok {
				t.Errorf("%s missing", series)
			}
		}
	}
	if v := got[`cangqiong_db_pool_in_use_connections{shard="shard-1"}`]; v != 1 {
		t.Errorf("shard-1 in use = %v while a connection is held, want 1", v)
	}
	if v := got[`cangqiong_db_pool_open_connections{shard="shard-1"}`]; v < 1 {
		t.Errorf("shard-1 open = %v, want at least 1", v)
	}

	conn.Close()
	if v := scrape(t, m.Handler())[`cangqiong_db_pool_in_use_connections{shard="shard-1"}`]; v != 0 {
		t.Errorf("shard-1 in use = %v after release, want 0", v)
	}
	want := float64(c.Exec.PoolStats()["shard-1"].MaxOpenConnections)
	if v := got[`cangqiong_db_pool_max_open_connections{shard="shard-1"}`]; v != want {
		t.Errorf("shard-1 max open = %v, want %v", v, want)
	}
}

// The pool gauges follow whatever map the function returns at scrape time,
// so pools opened or closed by a topology change appear and disappear.
func TestPoolGaugesFollowTopology(t *testing.T) {
	var mu sync.Mutex
	stats := map[string]sql.DBStats{"global": {OpenConnections: 1}, "shard-0": {InUse: 2, WaitCount: 5, WaitDuration: 1500 * time.Millisecond}}
	m := newMetrics(t, metrics.Config{PoolStats: func() map[string]sql.DBStats {
		mu.Lock()
		defer mu.Unlock()
		return stats
	}})
	got := scrape(t, m.Handler())
	if got[`cangqiong_db_pool_in_use_connections{shard="shard-0"}`] != 2 ||
		got[`cangqiong_db_pool_wait_count_total{shard="shard-0"}`] != 5 ||
		got[`cangqiong_db_pool_wait_duration_seconds_total{shard="shard-0"}`] != 1.5 {
		t.Errorf("shard-0 series wrong: %v", got)
	}
	mu.Lock()
	stats = map[string]sql.DBStats{"global": {}, "shard-9": {}}
	mu.Unlock()
	got = scrape(t, m.Handler())
	if _, ok := got[`cangqiong_db_pool_open_connections{shard="shard-0"}`]; ok {
		t.Error("a closed pool is still reported")
	}
	if _, ok := got[`cangqiong_db_pool_open_connections{shard="shard-9"}`]; !ok {
		t.Error("a new pool is not reported")
	}
}
