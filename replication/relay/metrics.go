package relay

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counters are the relay's monotonic counts, read at scrape time.
type counters struct {
	changes, heads, resets atomic.Uint64 // frames sent
	slow                   atomic.Uint64 // subscribers cut off by WriteTimeout
	acks                   atomic.Uint64 // acknowledgements stored
	pruned                 atomic.Uint64 // outbox rows deleted
	acquired, lost         atomic.Uint64 // leases
	released               atomic.Uint64
}

// Collector exposes the relay's state to Prometheus (core/metrics'
// registry): per relayed keyspace its head sequence and how long ago its
// outbox was last read (the relay's lag: a change waits at most that long
// plus a write), the subscriptions, and counts of frames, slow
// subscribers, acknowledgements, pruned rows and lease changes. Values are
// read when Prometheus scrapes.
func (r *Relay) Collector() prometheus.Collector { return (*collector)(r) }

type collector Relay

var (
	descHead = prometheus.NewDesc("cangqiong_relay_head_sequence",
		"The last outbox sequence read, per keyspace this node relays.", []string{"keyspace"}, nil)
	descLag = prometheus.NewDesc("cangqiong_relay_lag_seconds",
		"Time since the outbox of a keyspace this node relays was last read.", []string{"keyspace"}, nil)
	descSubs = prometheus.NewDesc("cangqiong_relay_subscriptions",
		"Edge subscriptions streaming from this node.", nil, nil)
	descFrames = prometheus.NewDesc("cangqiong_relay_frames_sent_total",
		"Frames sent to subscribers, by type.", []string{"type"}, nil)
	descSlow = prometheus.NewDesc("cangqiong_relay_slow_subscribers_total",
		"Subscribers disconnected for not taking a write in time.", nil, nil)
	descAcks = prometheus.NewDesc("cangqiong_relay_acks_total",
		"Acknowledgements stored.", nil, nil)
	descPruned = prometheus.NewDesc("cangqiong_relay_pruned_rows_total",
		"Outbox rows deleted, acknowledged or past retention.", nil, nil)
	descLeases = prometheus.NewDesc("cangqiong_relay_lease_changes_total",
		"Relay leases acquired, lost and released by this node.", []string{"change"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHead, descLag, descSubs, descFrames, descSlow, descAcks, descPruned, descLeases} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	feeds, _, _ := c.hub.state()
	now := time.Now()
	for ks, f := range feeds {
		head, polled := f.stats()
		ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(head), ks)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, now.Sub(polled).Seconds(), ks)
	}
	ch <- prometheus.MustNewConstMetric(descSubs, prometheus.GaugeValue, float64(c.hub.subscribers()))
	n := &c.count
	for typ, v := range map[string]*atomic.Uint64{"change": &n.changes, "head": &n.heads, "reset": &n.resets} {
		ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(v.Load()), typ)
	}
	ch <- prometheus.MustNewConstMetric(descSlow, prometheus.CounterValue, float64(n.slow.Load()))
	ch <- prometheus.MustNewConstMetric(descAcks, prometheus.CounterValue, float64(n.acks.Load()))
	ch <- prometheus.MustNewConstMetric(descPruned, prometheus.CounterValue, float64(n.pruned.Load()))
	for change, v := range map[string]*atomic.Uint64{"acquired": &n.acquired, "lost": &n.lost, "released": &n.released} {
		ch <- prometheus.MustNewConstMetric(descLeases, prometheus.CounterValue, float64(v.Load()), change)
	}
}
