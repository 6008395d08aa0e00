package edge

import (
	"strconv"

	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/prometheus/client_golang/prometheus"
)

// cacheResult is what the cache did for a request, for metrics.
type cacheResult uint8

const (
	resultNone cacheResult = iota // refused before the cache (limits, auth)
	resultHitL1
	resultHitL2
	resultStaleL1
	resultStaleL2
	resultMiss
	resultRevalidated
	resultBypass
	nResults
)

var resultNames = [nResults]string{"none", "HIT-L1", "HIT-L2", "STALE-L1", "STALE-L2", "MISS", "REVALIDATED", "BYPASS"}

func resultOf(x httpcache.XCache) cacheResult {
	for i, n := range resultNames {
		if n == string(x) {
			return cacheResult(i)
		}
	}
	return resultNone
}

// metrics are the edge's Prometheus series, in a registry of its own.
// Counters on the request path are resolved once, so counting does not
// allocate.
type metrics struct {
	reg         *prometheus.Registry
	requests    [6][nResults]prometheus.Counter // [status class][result]
	upstream    prometheus.Histogram
	staleServes prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	labels := prometheus.Labels{"region": s.cfg.Region, "edge": s.cfg.ID}
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cangqiong_edge_requests_total", Help: "Requests by status class and what the cache did.", ConstLabels: labels}, []string{"status_class", "cache"})
	for class := 1; class <= 5; class++ {
		for r := range nResults {
			m.requests[class][r] = reqs.WithLabelValues(strconv.Itoa(class)+"xx", resultNames[r])
		}
	}
	m.upstream = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cangqiong_edge_upstream_duration_seconds", Help: "Time the origin took to answer.", ConstLabels: labels, Buckets: prometheus.DefBuckets})
	m.staleServes = prometheus.NewCounter(prometheus.CounterOpts{Name: "cangqiong_edge_stale_if_error_total", Help: "Stale entries served because the origin failed.", ConstLabels: labels})
	m.reg.MustRegister(reqs, m.upstream, m.staleServes, &storeCollector{s: s, labels: labels},
		// prometheus/collectors would drag database/sql into the edge (its
		// DBStats collector); the older constructors here do not.
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{})) //nolint:staticcheck

	return m
}

// observe counts a request. (There is no per-request latency histogram:
// hits take microseconds and reading the clock again costs a noticeable
// share of them; the upstream histogram times what is slow.)
func (m *metrics) observe(status int, r cacheResult) {
	class := status / 100
	if class < 1 || class > 5 {
		class = 5
	}
	m.requests[class][r].Inc()
}

// storeCollector reads the caches' and the origin's state at scrape time.
type storeCollector struct {
	s      *Server
	labels prometheus.Labels
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.store.Stats()
	g := c.s.group.Stats()
	counter := func(name, help string, v uint64, kv ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc(name, help, kv), prometheus.CounterValue, float64(v), values(kv)...)
	}
	gauge := func(name, help string, v float64, kv ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc(name, help, kv), prometheus.GaugeValue, v, values(kv)...)
	}
	counter("cangqiong_edge_cache_lookups_total", "Cache lookups by level and outcome.", st.L1Hits, "level", "L1", "outcome", "hit")
	counter("cangqiong_edge_cache_lookups_total", "Cache lookups by level and outcome.", st.L1Misses, "level", "L1", "outcome", "miss")
	counter("cangqiong_edge_cache_lookups_total", "Cache lookups by level and outcome.", st.L2Hits, "level", "L2", "outcome", "hit")
	counter("cangqiong_edge_cache_lookups_total", "Cache lookups by level and outcome.", st.L2Misses+st.L2Stale, "level", "L2", "outcome", "miss")
	gauge("cangqiong_edge_l1_entries", "Entries in L1.", float64(st.L1Entries))
	gauge("cangqiong_edge_l1_bytes", "Bytes held by L1.", float64(st.L1Bytes))
	gauge("cangqiong_edge_l1_max_bytes", "L1's bound.", float64(st.L1MaxBytes))
	counter("cangqiong_edge_l2_errors_total", "Redis calls that failed or timed out.", st.L2Errors)
	counter("cangqiong_edge_l2_rejected_total", "Redis calls not made: breaker open.", st.L2Rejected)
	gauge("cangqiong_edge_l2_breaker_open", "1 while the Redis breaker is open or half-open.", b2f(st.Breaker != "closed"))
	counter("cangqiong_edge_purges_total", "Purges made here and received from the region.", st.Purges+st.PurgesReceived)
	counter("cangqiong_edge_coalesced_waits_total", "Requests that waited for another request's upstream fetch.", g.Waits)
	gauge("cangqiong_edge_coalesced_waiting", "Requests waiting for an upstream fetch now.", float64(g.Waiting))
	c.s.collectChanges(counter, gauge)
	if ns, ok := c.s.cfg.Origin.(interface{ Nodes() []tunnel.NodeStatus }); ok {
		for _, n := range ns.Nodes() {
			gauge("cangqiong_edge_tunnel_connections", "Tunnel connections by core node.", float64(n.Conns), "node", n.Addr)
			gauge("cangqiong_edge_tunnel_healthy", "1 when the core node is healthy.", b2f(n.Healthy), "node", n.Addr)
		}
	}
}

func (c *storeCollector) desc(name, help string, kv []string) *prometheus.Desc {
	var names []string
	for i := 0; i < len(kv); i += 2 {
		names = append(names, kv[i])
	}
	return prometheus.NewDesc(name, help, names, c.labels)
}

func values(kv []string) []string {
	var out []string
	for i := 1; i < len(kv); i += 2 {
		out = append(out, kv[i])
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
