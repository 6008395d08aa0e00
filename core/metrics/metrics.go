// Package metrics is a core node's Prometheus instrumentation: HTTP
// requests and their latency by route, the connection pools of the shards,
// the gossip state, and the Go runtime and process.
//
// Each Metrics has its own registry, never the global default one, so
// several nodes started in one test process do not collide and a node
// exposes exactly its own series. Other components add collectors with
// Registry().MustRegister.
//
// Label values stay bounded: requests are labelled with the route pattern
// that matched (http.Request.Pattern, "/admin/v1/regions/{name}"), never the
// raw path; unknown methods count as "other"; statuses as their class
// ("2xx"). Pool and gossip gauges are read when Prometheus scrapes, from
// functions the node passes in, so they are never stale and cost nothing
// between scrapes.
//
// promhttp's own instrumenters (InstrumentHandlerCounter and friends) were
// not used for requests: they label with values fixed when the handler is
// wrapped, while the route pattern is known only after the ServeMux has
// matched the request.
package metrics

import (
	"database/sql"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultNamespace prefixes metric names when Config.Namespace is empty.
const DefaultNamespace = "cangqiong"

// DefaultLatencyBuckets are the request latency histogram's upper bounds in
// seconds: from a cache-speed millisecond to a 10 s timeout.
var DefaultLatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Config controls a Metrics. The zero value is usable: it records HTTP
// requests and the Go runtime and process only.
type Config struct {
	// Namespace prefixes every metric name. "": DefaultNamespace.
	Namespace string
	// PoolStats reports connection pool statistics by target (shard id,
	// and "global" for the global keyspace) when Prometheus scrapes.
	// exec.Executor.PoolStats fits. nil: no pool metrics.
	PoolStats func() map[string]sql.DBStats
	// Gossip reports the cluster as this node sees it, when Prometheus
	// scrapes. nil: no gossip metrics.
	Gossip Gossip
	// LatencyBuckets are the request latency histogram's upper bounds in
	// seconds. nil: DefaultLatencyBuckets.
	LatencyBuckets []float64
}

// Gossip is what the gossip gauges read.
type Gossip interface {
	// Epoch is the shard map epoch this node serves.
	Epoch() uint64
	// MemberStates counts the members this node knows by state ("alive",
	// "suspect", "dead", "left"). Include states with no member as 0, so
	// their series drop to 0 instead of vanishing.
	MemberStates() map[string]int
}

// Metrics is one node's registry and instruments. It is safe for concurrent
// use.
type Metrics struct {
	reg  *prometheus.Registry
	http *httpMetrics
}

// New builds the registry with every collector Config asks for.
func New(cfg Config) (*Metrics, error) {
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	buckets := cfg.LatencyBuckets
	if buckets == nil {
		buckets = DefaultLatencyBuckets
	}
	m := &Metrics{reg: prometheus.NewRegistry(), http: newHTTPMetrics(ns, buckets)}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	cs = append(cs, m.http.collectors()...)
	if cfg.PoolStats != nil {
		cs = append(cs, newPoolCollector(ns, cfg.PoolStats))
	}
	if cfg.Gossip != nil {
		cs = append(cs, newGossipCollector(ns, cfg.Gossip))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// Registry is the node's registry, for components that bring their own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. It
// does no authentication: mount it behind the admin API's.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg, // counts its own scrape errors
		ErrorHandling: promhttp.ContinueOnError,
	})
}
