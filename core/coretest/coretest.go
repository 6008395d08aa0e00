// Package coretest starts core clusters for the tests of other packages:
// N core nodes on loopback over a migrated sharded deployment
// (sharding/shardtest), a CA, and mTLS configs for edges to reach them.
// Everything stops with the test.
package coretest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// AdminToken is the admin API token of every node.
const AdminToken = "coretest-admin-token-0123456789"

// Region is the region of the nodes and of EdgeTLS's certificates.
const Region = "eu"

// Options size a cluster.
type Options struct {
	Nodes  int // 0: 2
	Shards int // 0: 2
}

// Cluster is a running core cluster.
type Cluster struct {
	t    testing.TB
	Data *shardtest.Cluster
	CA   *certs.CA
	key  []byte

	mu      sync.Mutex
	nodes   []*core.Node
	stopped map[int]bool
}

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// Start starts a cluster.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes <= 0 {
		opts.Nodes = 2
	}
	ca, err := certs.NewCA("coretest CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, Data: shardtest.Start(t, shardtest.Options{Shards: opts.Shards}), CA: ca, key: make([]byte, 32), stopped: map[int]bool{}}
	rand.Read(c.key)
	for range opts.Nodes {
		c.AddNode("127.0.0.1:0")
	}
	return c
}

// AddNode starts one more node, its tunnel on tunnelListen ("127.0.0.1:0"
// picks a port), joined to the cluster. tunnelListen may be the address of
// a stopped node: a node comes back where edges last saw one (under a new
// name, as a replaced host would).
func (c *Cluster) AddNode(tunnelListen string) *core.Node {
	c.t.Helper()
	c.mu.Lock()
	i := len(c.nodes)
	var seeds []string
	for j, n := range c.nodes {
		if !c.stopped[j] {
			seeds = append(seeds, n.GossipAddr())
		}
	}
	c.mu.Unlock()
	n, err := core.New(c.config(i, tunnelListen, seeds))
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { n.Shutdown(context.Background()) })
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n
}

func (c *Cluster) config(i int, tunnelListen string, seeds []string) core.Config {
	name := fmt.Sprintf("core-%d", i)
	leaf, err := c.CA.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: Region, ID: name}})
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.NodeName, cfg.Region, cfg.NodeID, cfg.Global = name, Region, uint16(i), c.Data.Map.Global
	cfg.TunnelListen, cfg.AdminListen, cfg.GossipListen = tunnelListen, "127.0.0.1:0", "127.0.0.1:0"
	cfg.TunnelTLS, cfg.AdminToken, cfg.GossipKey = certs.ServerTLS(c.CA.Pool(), leaf), AdminToken, c.key
	cfg.GossipProfile, cfg.Logger, cfg.Seeds = gossip.ProfileLocal, quiet, seeds
	return cfg
}

// Node returns node i.
func (c *Cluster) Node(i int) *core.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Stop shuts node i down (gracefully: in-flight requests finish). The node
// stops even when its shutdown reports an error (gossip's leave can time
// out); the error is logged.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[i]
	c.stopped[i] = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		c.t.Logf("core-%d: shutdown: %v", i, err)
	}
}

// TunnelAddrs are the tunnel addresses of the running nodes.
func (c *Cluster) TunnelAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for i, n := range c.nodes {
		if !c.stopped[i] {
			out = append(out, n.TunnelAddr())
		}
	}
	return out
}

// EdgeTLS is the client side of mTLS for an edge certificate of id.
func (c *Cluster) EdgeTLS(id string) *tls.Config {
	c.t.Helper()
	leaf, err := c.CA.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: Region, ID: id}})
	if err != nil {
		c.t.Fatal(err)
	}
	return certs.ClientTLS(c.CA.Pool(), leaf)
}
