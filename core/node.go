package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/cangqiong/cangqiong/core/admin"
	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/core/metrics"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/relay"
	"github.com/cangqiong/cangqiong/replication/reshard"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Node is one core node. Its methods are safe for concurrent use.
type Node struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	stops   []func(context.Context) error // undo steps, in start order

	tunnelLn, adminLn   net.Listener
	tunnelAdv, adminAdv string // what the node gives the cluster and edges
	global              *sql.DB
	exec                *exec.Executor
	gossip              *gossip.Gossip
	metrics             *metrics.Metrics
	app                 *app.App
	relay               *relay.Relay
	reshard             *reshard.Coordinator
	tunnel              *tunnel.Server
	admin               *admin.Admin
	done                chan error // a server stopped by itself
}

// New checks cfg and returns a Node ready to Start.
func New(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if !validProfile(cfg.GossipProfile) {
		return nil, fmt.Errorf("%w: gossip profile %q", ErrConfig, cfg.GossipProfile)
	}
	log := cfg.Logger.With("component", "core", "node", cfg.NodeName)
	return &Node{cfg: cfg, log: log, done: make(chan error, 2)}, nil
}

// Start brings the node up and returns once it serves. On failure every
// part already started is stopped again.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("core: node already started")
	}
	n.started = true
	for _, step := range []func(context.Context) error{n.listen, n.openData, n.joinCluster, n.buildServers, n.serve, n.startRelay, n.startReshard, n.startHousekeeping} {
		if err := step(ctx); err != nil {
			n.stopLocked(context.Background())
			return err
		}
	}
	n.log.Info("core node serving", "tunnel", n.TunnelAddr(), "admin", n.AdminAddr(), "gossip", n.gossip.LocalAddr(), "epoch", n.gossip.Epoch(),
		"tunnel_advertise", n.tunnelAdv, "admin_advertise", n.adminAdv)
	return nil
}

func (n *Node) onStop(f func(context.Context) error) { n.stops = append(n.stops, f) }

// listen binds the tunnel and admin listeners first, so that the addresses
// the node announces in gossip are the real ones.
func (n *Node) listen(context.Context) error {
	var err error
	if n.tunnelLn, err = net.Listen("tcp", n.cfg.TunnelListen); err != nil {
		return fmt.Errorf("core: tunnel listener: %w", err)
	}
	n.onStop(closeListener(n.tunnelLn))
	if n.adminLn, err = net.Listen("tcp", n.cfg.AdminListen); err != nil {
		return fmt.Errorf("core: admin listener: %w", err)
	}
	n.onStop(closeListener(n.adminLn))
	if n.tunnelAdv, err = advertised(n.tunnelLn, n.cfg.TunnelAdvertise, "tunnel_advertise"); err != nil {
		return err
	}
	n.adminAdv, err = advertised(n.adminLn, n.cfg.AdminAdvertise, "admin_advertise")
	return err
}

func closeListener(ln net.Listener) func(context.Context) error {
	return func(context.Context) error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

// openData loads the authoritative shard map and opens the pools.
func (n *Node) openData(ctx context.Context) error {
	g := n.cfg.Global
	db, err := dbconn.Open(g.Address, g.DatabaseName(), n.cfg.Credentials, dbconn.Pool{MaxOpen: 8})
	if err != nil {
		return fmt.Errorf("core: global keyspace: %w", err)
	}
	n.global = db
	n.onStop(func(context.Context) error { return db.Close() })
	m, err := control.NewStore(db).Load(ctx)
	if err != nil {
		return fmt.Errorf("core: loading the shard map from %s: %w (has `cangqiong migrate` run?)", g.Address, err)
	}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		return fmt.Errorf("core: stored shard map: %w", err)
	}
	n.exec, err = exec.New(exec.Config{Topology: topo, VSchema: schema.VSchema(), Credentials: n.cfg.Credentials, Pool: n.cfg.Pool, Logger: n.cfg.Logger})
	if err != nil {
		return err
	}
	n.onStop(func(context.Context) error { return n.exec.Close() })
	return nil
}

// joinCluster starts gossip; every epoch it serves goes to the executor.
func (n *Node) joinCluster(ctx context.Context) error {
	host, port, err := splitHostPort(n.cfg.GossipListen)
	if err != nil {
		return fmt.Errorf("%w: gossip listen: %v", ErrConfig, err)
	}
	n.gossip, err = gossip.Start(ctx, gossip.Config{
		NodeName: n.cfg.NodeName, BindAddr: host, BindPort: port, AdvertiseAddr: n.cfg.GossipAdvertise,
		SecretKey: n.cfg.GossipKey, Seeds: n.cfg.Seeds,
		Region: n.cfg.Region, TunnelAddr: n.tunnelAdv, AdminAddr: n.adminAdv,
		Store: control.NewStore(n.global), ReloadInterval: n.cfg.ReloadInterval, Profile: n.cfg.GossipProfile,
		OnChange: n.topologyChanged, Logger: n.cfg.Logger,
	})
	if err != nil {
		return err
	}
	n.onStop(n.gossip.Shutdown)
	return nil
}

// topologyChanged hands a newly served epoch to the executor and waits
// (at most DrainTimeout) for the transactions begun under older maps to
// end: gossip announces the epoch once this returns, and a reshard's
// cutover takes that to mean no older transaction can still write.
func (n *Node) topologyChanged(t *shardmap.Topology) {
	if err := n.exec.SetTopology(t); err != nil {
		n.log.Error("cannot switch to the new shard map", "epoch", t.Epoch(), "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.DrainTimeout)
	defer cancel()
	if err := n.exec.Drain(ctx, t.Epoch()); err != nil {
		n.log.Warn("announcing the new shard map with transactions of older maps still open", "epoch", t.Epoch(), "timeout", n.cfg.DrainTimeout, "err", err)
	}
}

// buildServers makes the application, the tunnel and the admin API.
func (n *Node) buildServers(context.Context) error {
	gen, err := ids.New(n.cfg.NodeID)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	ac := app.DefaultConfig()
	ac.Exec, ac.IDs, ac.Logger = n.exec, gen, n.cfg.Logger
	if n.cfg.Catalog != (app.CachePolicy{}) {
		ac.Catalog = n.cfg.Catalog
	}
	if n.app, err = app.New(ac); err != nil {
		return err
	}
	if n.metrics, err = metrics.New(metrics.Config{PoolStats: n.exec.PoolStats, Gossip: gossipMetrics{n.gossip}}); err != nil {
		return err
	}
	if err := n.buildReshard(gen); err != nil {
		return err
	}
	if err := n.buildRelay(); err != nil {
		return err
	}
	tc := n.cfg.tunnelConfig()
	tc.Handler = n.metrics.Middleware("tunnel", n.app.Handler())
	tc.Nodes, tc.Ready, tc.Routes = n.tunnelNodes, n.serving, n.relay.Routes()
	if n.tunnel, err = tunnel.New(tc); err != nil {
		return err
	}
	n.admin, err = admin.New(admin.Config{
		Token: n.cfg.AdminToken, Cluster: cluster{n.gossip}, Regions: control.NewRegionStore(n.global), Reshards: n.reshard,
		Ready: n.ready, Metrics: n.metrics.Handler(), Logger: n.cfg.Logger,
		Instrument: func(h http.Handler) http.Handler { return n.metrics.Middleware("admin", h) },
	})
	return err
}

// serve starts the tunnel and admin servers on their listeners.
func (n *Node) serve(context.Context) error {
	go func() { n.done <- n.tunnel.Serve(n.tunnelLn) }()
	n.onStop(n.tunnel.Shutdown)
	go func() { n.done <- n.admin.Serve(n.adminLn) }()
	n.onStop(n.admin.Shutdown)
	return nil
}

// buildRelay makes the change relay; its routes go on the tunnel, its
// collector in the metrics.
func (n *Node) buildRelay() error {
	rc := relay.DefaultConfig()
	rc.Node, rc.Exec, rc.Members, rc.Logger = n.cfg.NodeName, n.exec, n.aliveMembers, n.cfg.Logger
	rc.Regions, rc.Keep = control.NewRegionStore(n.global), n.reshard.Keep
	var err error
	if n.relay, err = relay.New(rc); err != nil {
		return err
	}
	return n.metrics.Registry().Register(n.relay.Collector())
}

// startRelay starts relaying once the tunnel serves. Its stop runs first
// on Shutdown: the subscriptions end and the leases are released while
// gossip still runs, so other nodes take the keyspaces over at once.
func (n *Node) startRelay(context.Context) error {
	if err := n.relay.Start(); err != nil {
		return err
	}
	n.onStop(n.relay.Shutdown)
	return nil
}

// aliveMembers are the names of the alive core nodes, leases spread over.
func (n *Node) aliveMembers() []string {
	var out []string
	for _, m := range n.gossip.Members() {
		if m.State == gossip.StateAlive {
			out = append(out, m.Name)
		}
	}
	return out
}

// serving is the tunnel's health: node-local only (a shard map is served).
// A shard outage affects every node alike, so it must not make edges
// think a node is worse than its peers.
func (n *Node) serving(context.Context) error {
	if n.gossip.Epoch() == 0 {
		return errors.New("no shard map served yet")
	}
	return nil
}

// ready: the shards and the global keyspace answer and a map is served.
func (n *Node) ready(ctx context.Context) error {
	if n.gossip.Epoch() == 0 {
		return errors.New("no shard map served yet")
	}
	return n.exec.Ping(ctx)
}

// tunnelNodes tells edges where the alive nodes' tunnels listen.
func (n *Node) tunnelNodes() []tunnel.NodeInfo {
	var out []tunnel.NodeInfo
	for _, m := range n.gossip.Members() {
		if m.State == gossip.StateAlive && m.TunnelAddr != "" {
			out = append(out, tunnel.NodeInfo{Name: m.Name, Region: m.Region, TunnelAddr: m.TunnelAddr})
		}
	}
	return out
}

// Shutdown stops serving new requests, lets in-flight ones finish (until
// ctx ends), leaves the cluster and closes the pools. It is idempotent.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopLocked(ctx)
}

// stopLocked undoes the started steps in reverse order.
func (n *Node) stopLocked(ctx context.Context) error {
	if n.stopped {
		return nil
	}
	n.stopped = true
	var errs []error
	for i := len(n.stops) - 1; i >= 0; i-- {
		errs = append(errs, n.stops[i](ctx))
	}
	n.stops = nil
	return errors.Join(errs...)
}

// Done delivers the error of a server that stopped by itself (nil after a
// Shutdown).
func (n *Node) Done() <-chan error { return n.done }

// TunnelAddr is the tunnel listener's address.
func (n *Node) TunnelAddr() string { return n.tunnelLn.Addr().String() }

// AdminAddr is the admin listener's address.
func (n *Node) AdminAddr() string { return n.adminLn.Addr().String() }

// GossipAddr is memberlist's address, for seeding other nodes.
func (n *Node) GossipAddr() string { return n.gossip.LocalAddr() }

// Epoch is the shard-map epoch the node serves.
func (n *Node) Epoch() uint64 { return n.gossip.Epoch() }

// Executor is the node's executor (for tests and tools).
func (n *Node) Executor() *exec.Executor { return n.exec }

// Commit replaces the shard map by compare-and-set and spreads it.
func (n *Node) Commit(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error {
	return n.gossip.Commit(ctx, expectEpoch, next)
}
