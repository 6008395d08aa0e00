package tunnel

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"
)

// Client forwards the edge's requests to the core nodes. Its methods are
// safe for concurrent use.
type Client struct {
	cfg  Config
	log  *slog.Logger
	h2   *http2.Transport // settings of the connections it wraps; it never dials
	seed maphash.Seed     // this edge's order of the nodes, for MaxNodes

	ctx    context.Context // the client's lifetime: dials and loops end with it
	cancel context.CancelFunc
	set    atomic.Pointer[[]*node] // the nodes in use, sorted by address
	rr     atomic.Uint32           // rotates ties between nodes
	down   atomic.Bool             // Close was called

	mu      sync.Mutex // guards the set's changes and the lifecycle
	byAddr  map[string]*node
	started bool
	closed  bool
	wg      sync.WaitGroup // the loops
}

// NodeStatus is a node as the client sees it, for metrics.
type NodeStatus struct {
	Addr         string
	Name, Region string // as the core names it; empty for a seed not yet named
	Healthy      bool   // its last probe got a 200
	Breaker      string // "closed", "half-open" or "open"
	Outstanding  int64  // attempts in flight, response bodies not yet closed included
	Conns        int    // live connections
	Requests     uint64 // attempts sent to it
	Failures     uint64 // of which failed without an answer
	LastError    string // the last probe's, dial's or attempt's failure; "" after a good probe
}

// New checks cfg and returns a client; Start connects it.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "edge.tunnel"),
		seed:   maphash.MakeSeed(),
		byAddr: map[string]*node{},
	}
	c.h2 = &http2.Transport{
		ReadIdleTimeout:            cfg.KeepAlive,
		PingTimeout:                cfg.KeepAlive,
		WriteByteTimeout:           2 * cfg.KeepAlive,
		StrictMaxConcurrentStreams: true, // past the server's limit, wait on the connection rather than fail
		DisableCompression:         true, // the tunnel is transparent: encodings are the edge's and the core's business
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	empty := []*node{}
	c.set.Store(&empty)
	return c, nil
}

// Start makes first contact — probes the seeds and asks them for the
// nodes, as far as ctx allows — and starts the probes and refreshes. It
// returns once that is done, so that a healthy core is usable; an
// unreachable one is logged and tried again in the background, and Do
// answers *UnavailableError meanwhile. Close the client in any case.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.started:
		c.mu.Unlock()
		return errors.New("tunnel: client already started")
	}
	c.started = true
	c.mu.Unlock()

	waitProbed(ctx, c.setNodes(c.cfg.Seeds, make([]nodeInfo, len(c.cfg.Seeds)), false))
	if c.cfg.RefreshInterval > 0 {
		if err := c.refresh(ctx); err != nil {
			c.log.Warn("cannot learn the core nodes yet; using the seeds", "seeds", c.cfg.Seeds, "err", err)
		}
		c.mu.Lock()
		if !c.closed {
			c.wg.Add(1)
			go c.refreshLoop()
		}
		c.mu.Unlock()
	}
	if !slices.ContainsFunc(*c.set.Load(), (*node).usable) {
		c.log.Error("no core node is usable yet", "nodes", c.Nodes())
	}
	return nil
}

// Close stops the probes and refreshes and closes every connection,
// interrupting requests in flight. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.down.Store(true)
	nodes := *c.set.Load()
	empty := []*node{}
	c.set.Store(&empty)
	clear(c.byAddr)
	c.mu.Unlock()
	c.cancel()
	for _, n := range nodes {
		n.shutdown(0)
	}
	c.wg.Wait()
	return nil
}

// Nodes reports every node in use, by address.
func (c *Client) Nodes() []NodeStatus {
	nodes := *c.set.Load()
	out := make([]NodeStatus, len(nodes))
	for i, n := range nodes {
		out[i] = n.status()
	}
	return out
}

// setNodes makes addrs (named by infos) the node set — or, with merge,
// adds them to it — keeping at most MaxNodes: the nodes already in use
// first, then in this edge's own order, so that the edges of a big
// cluster spread over it. It starts the new nodes' loops and returns
// them; removed nodes finish their requests in flight, then close.
func (c *Client) setNodes(addrs []string, infos []nodeInfo, merge bool) (added []*node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	want := map[string]nodeInfo{}
	for i, a := range addrs {
		want[a] = infos[i]
	}
	if merge {
		for a, n := range c.byAddr {
			if _, ok := want[a]; !ok {
				n.mu.Lock()
				want[a] = n.info
				n.mu.Unlock()
			}
		}
	}
	chosen := make([]string, 0, len(want))
	for a := range want {
		chosen = append(chosen, a)
	}
	slices.SortFunc(chosen, func(a, b string) int {
		_, inA := c.byAddr[a]
		_, inB := c.byAddr[b]
		if inA != inB {
			if inA {
				return -1
			}
			return 1
		}
		ha, hb := maphash.String(c.seed, a), maphash.String(c.seed, b)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	if len(chosen) > c.cfg.MaxNodes {
		chosen = chosen[:c.cfg.MaxNodes]
	}
	slices.Sort(chosen)

	list := make([]*node, 0, len(chosen))
	keep := map[string]bool{}
	for _, a := range chosen {
		keep[a] = true
		n := c.byAddr[a]
		if n == nil {
			n = c.newNode(a)
			c.byAddr[a] = n
			added = append(added, n)
		}
		if info := want[a]; info != (nodeInfo{}) {
			n.mu.Lock()
			n.info = info
			n.mu.Unlock()
		}
		list = append(list, n)
	}
	for a, n := range c.byAddr {
		if !keep[a] {
			delete(c.byAddr, a)
			n.shutdown(c.cfg.RequestTimeout)
			c.log.Info("core node dropped", "node", a)
		}
	}
	c.set.Store(&list)
	for _, n := range added {
		c.log.Info("core node added", "node", n.addr)
		c.startNode(n)
	}
	return added
}

// startNode runs the node's probes until it is dropped or the client
// closes. c.mu is held.
func (c *Client) startNode(n *node) {
	ctx, cancel := context.WithCancel(c.ctx)
	n.stop = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		n.run(ctx)
	}()
}

// waitProbed waits until the nodes have had their first probe, or ctx
// ends.
func waitProbed(ctx context.Context, nodes []*node) {
	for _, n := range nodes {
		select {
		case <-n.probed:
		case <-ctx.Done():
			return
		}
	}
}
