package metrics

import (
	"database/sql"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reads the shard pools when scraped. The set of pools
// changes with the shard map (the executor opens and closes pools), which
// is why this is not one collectors.NewDBStatsCollector per *sql.DB: those
// would have to be registered and unregistered in step with every
// topology change.
type poolCollector struct {
	stats func() map[string]sql.DBStats

	maxOpen, open, inUse, idle, waits, waited *prometheus.Desc
}

func newPoolCollector(ns string, stats func() map[string]sql.DBStats) *poolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "db_pool", name), help, []string{"shard"}, nil)
	}
	return &poolCollector{
		stats:   stats,
		maxOpen: desc("max_open_connections", "Maximum open connections of the pool (0: unlimited), by shard (\"global\": the global keyspace)."),
		open:    desc("open_connections", "Open connections, in use and idle, by shard."),
		inUse:   desc("in_use_connections", "Connections in use, by shard."),
		idle:    desc("idle_connections", "Idle connections, by shard."),
		waits:   desc("wait_count_total", "Times a statement waited for a free connection, by shard."),
		waited:  desc("wait_duration_seconds_total", "Time spent waiting for a free connection, by shard."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waits, c.waited} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.stats()
	for _, shard := range slices.Sorted(maps.Keys(stats)) {
		s := stats[shard]
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), shard)
		}
		gauge(c.maxOpen, s.MaxOpenConnections)
		gauge(c.open, s.OpenConnections)
		gauge(c.inUse, s.InUse)
		gauge(c.idle, s.Idle)
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount), shard)
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, s.WaitDuration.Seconds(), shard)
	}
}

// gossipCollector reads the node's view of the cluster when scraped.
type gossipCollector struct {
	g              Gossip
	members, epoch *prometheus.Desc
}

func newGossipCollector(ns string, g Gossip) *gossipCollector {
	return &gossipCollector{
		g: g,
		members: prometheus.NewDesc(prometheus.BuildFQName(ns, "gossip", "members"),
			"Cluster members this node knows, by state.", []string{"state"}, nil),
		epoch: prometheus.NewDesc(prometheus.BuildFQName(ns, "gossip", "epoch"),
			"Shard map epoch this node serves.", nil, nil),
	}
}

func (c *gossipCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.members
	ch <- c.epoch
}

func (c *gossipCollector) Collect(ch chan<- prometheus.Metric) {
	states := c.g.MemberStates()
	for _, state := range slices.Sorted(maps.Keys(states)) {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(states[state]), state)
	}
	ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(c.g.Epoch()))
}
