package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

var (
	// ErrNoMap is returned by Start when neither Store nor a seed supplied a
	// shard map: a node never runs without one.
	ErrNoMap = errors.New("gossip: no shard map to serve")
	// ErrClosed is returned by Commit after Shutdown.
	ErrClosed = errors.New("gossip: node is shut down")
)

const (
	// maxBroadcastBytes is the largest map message gossiped over UDP; a
	// bigger map is gossiped as a notice and fetched from the store, or
	// arrives by direct push and push/pull (TCP, no size limit). memberlist
	// fills a 1400-byte packet, its own messages first.
	maxBroadcastBytes = 1000
	// hintGrace is how long a node that heard of a newer epoch (a notice,
	// or a member's metadata) waits for the map itself before re-reading
	// the store: the map usually arrives in the same round of gossip.
	hintGrace = 300 * time.Millisecond
	// loadTimeout bounds one read of the store.
	loadTimeout = 5 * time.Second
	// defaultLeaveTimeout bounds Shutdown's goodbye when ctx has no deadline.
	defaultLeaveTimeout = 5 * time.Second
)

// Gossip is a running node: cluster membership and the shard map it serves.
// It is safe for concurrent use.
type Gossip struct {
	cfg     Config
	log     *slog.Logger
	ml      atomic.Pointer[memberlist.Memberlist]
	addr    string // gossip address, fixed after Start
	members *memberTable
	queue   *memberlist.TransmitLimitedQueue

	holder    shardmap.Holder
	announced atomic.Uint64          // epoch announced (metadata, serving): OnChange returned for it
	state     atomic.Pointer[[]byte] // the served map, encoded: push/pull state
	hinted    atomic.Uint64          // highest epoch heard of
	incoming  atomic.Uint64          // highest epoch of a map received (decoded or not)
	leaving   atomic.Bool

	applyMu    sync.Mutex // serialises apply, so OnChange sees epochs in order
	pendMu     sync.Mutex
	pending    *shardmap.Map // newest valid map received, not yet applied
	pendingMsg []byte        // the message it came in
	applyCh    chan struct{}
	hintCh     chan struct{}

	ctx      context.Context // cancelled by Shutdown
	cancel   context.CancelFunc
	closed   atomic.Bool
	lifeMu   sync.Mutex // orders pushes.Add before Shutdown's Wait
	loops    sync.WaitGroup
	pushes   sync.WaitGroup
	stopOnce sync.Once
	stopErr  error

	stats stats
}

// stats count what the node ignored, for tests and debugging.
type stats struct {
	rejected atomic.Uint64 // malformed or invalid messages
	stale    atomic.Uint64 // well-formed but not newer than the served map
	ignored  atomic.Uint64 // serving announcements from this node or a non-member
}

// Start loads the map from cfg.Store, starts memberlist and joins
// cfg.Seeds. The node serves a map from the moment Start returns: from the
// store, or if the store cannot be read, from the seeds' push/pull state.
// ctx bounds the initial load only.
func Start(ctx context.Context, cfg Config) (*Gossip, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := newGossip(cfg)
	loadErr := g.reload(ctx)
	if loadErr != nil {
		g.log.Warn("cannot load the shard map from the store", "err", loadErr, "seeds", len(cfg.Seeds))
	}
	ml, err := memberlist.Create(cfg.memberlistConfig(delegate{g}, g.members))
	if err != nil {
		g.cancel()
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	g.ml.Store(ml)
	g.addr = ml.LocalNode().Address() // before Join: nothing else writes the local node yet
	g.startLoops()
	if len(cfg.Seeds) > 0 {
		if _, err := ml.Join(cfg.Seeds); err != nil {
			g.abort()
			return nil, fmt.Errorf("gossip: join %v: %w", cfg.Seeds, err)
		}
	}
	if g.Topology() == nil {
		g.abort()
		if loadErr != nil {
			return nil, fmt.Errorf("%w (store: %w)", ErrNoMap, loadErr)
		}
		return nil, ErrNoMap
	}
	g.log.Info("gossip started", "addr", g.addr, "epoch", g.Epoch(), "seeds", len(cfg.Seeds))
	return g, nil
}

func newGossip(cfg Config) *Gossip {
	g := &Gossip{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "core.gossip", "node", cfg.NodeName),
		applyCh: make(chan struct{}, 1),
		hintCh:  make(chan struct{}, 1),
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.members = newMemberTable(g.hint)
	g.queue = &memberlist.TransmitLimitedQueue{NumNodes: g.members.alive, RetransmitMult: cfg.profile().RetransmitMult}
	return g
}

// Topology returns the topology the node serves. It never returns nil
// after Start succeeded, and takes no lock.
func (g *Gossip) Topology() *shardmap.Topology { return g.holder.Load() }

// Epoch is the epoch of the map the node serves.
func (g *Gossip) Epoch() uint64 {
	if t := g.holder.Load(); t != nil {
		return t.Epoch()
	}
	return 0
}

// LocalAddr is the node's gossip address (host:port), the one to give
// other nodes as a seed.
func (g *Gossip) LocalAddr() string { return g.addr }

// Members lists the cluster's nodes as this node sees them, sorted by
// name, this node included; dead and departed nodes stay listed for an
// hour.
func (g *Gossip) Members() []Member { return g.members.list() }

// Commit stores next as the map's new epoch if the stored epoch is still
// expectEpoch, then sends it to the other members and serves it (OnChange
// included, before Commit returns). The store's errors pass through
// wrapped (errors.Is(err, control.ErrEpochConflict) on a lost race);
// nothing is served or sent unless the store accepted next.
func (g *Gossip) Commit(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error {
	if g.closed.Load() {
		return ErrClosed
	}
	// Encode the message the others get (once: it is also what this node
	// serves) while the map compiles and the store answers: a map
	// freezing many ranges takes a while to encode.
	encoded := make(chan []byte, 1)
	go func() {
		msg, _ := encodeMap(next) // nil if invalid: Compile says why
		encoded <- msg
	}()
	t, err := shardmap.Compile(next, g.cfg.RingOptions) // refuse before touching the store
	if err == nil {
		err = g.cfg.Store.CompareAndSwap(ctx, expectEpoch, next)
	}
	msg := <-encoded // also: next is the caller's again only once this is done
	if err != nil {
		return fmt.Errorf("gossip: commit epoch %d: %w", next.Epoch, err)
	}
	// The others first: the local apply runs OnChange, which may drain
	// transactions for a while. Every receiver applies epochs in order
	// whatever order they arrive in.
	if msg != nil && g.newer(t.Epoch()) {
		g.sendAll(msg, "direct push failed; gossip will carry the map")
	}
	g.apply(t, msg, "commit")
	return nil
}

// Shutdown announces the node's departure, waits until it has been
// gossiped (bounded by ctx, and by ten gossip intervals: 2 s lan, 1 s
// local), and stops the node. It
// is idempotent: later calls return the first call's result. The node is
// stopped even when an error reports that the goodbye was not confirmed.
func (g *Gossip) Shutdown(ctx context.Context) error {
	g.stopOnce.Do(func() { g.stopErr = g.shutdown(ctx) })
	return g.stopErr
}

func (g *Gossip) shutdown(ctx context.Context) error {
	g.stopLoops()
	waitCtx(ctx, &g.pushes)
	g.applyMu.Lock() // no apply is running, and none will (closed)
	defer g.applyMu.Unlock()
	ml := g.ml.Load()
	wait := g.leaveWait(ctx)
	var errs []error
	// Metadata saying "leaving" must go out before the leave itself
	// (which replaces it in memberlist's queue), so the others record
	// StateLeft rather than StateDead.
	g.leaving.Store(true)
	if err := ml.UpdateNode(wait); err != nil {
		errs = append(errs, fmt.Errorf("gossip: announce leaving: %w", err))
	}
	if err := ml.Leave(wait); err != nil {
		errs = append(errs, fmt.Errorf("gossip: leave: %w", err))
	}
	if err := ml.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("gossip: stop memberlist: %w", err))
	}
	g.log.Info("gossip stopped", "epoch", g.Epoch())
	return errors.Join(errs...)
}

// leaveWait bounds each of Shutdown's two waits for a broadcast to go out:
// half of what is left of ctx (5 s without a deadline), and at most ten
// gossip intervals, which is plenty while peers listen. (memberlist waits
// the full time when every peer left meanwhile, as when a whole cluster
// stops at once.)
func (g *Gossip) leaveWait(ctx context.Context) time.Duration {
	left := defaultLeaveTimeout
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	return max(min(left/2, 10*g.cfg.profile().GossipInterval), time.Millisecond)
}

// abort undoes a failed Start.
func (g *Gossip) abort() {
	g.stopLoops()
	_ = g.ml.Load().Shutdown()
}

func (g *Gossip) stopLoops() {
	g.lifeMu.Lock()
	g.closed.Store(true)
	g.lifeMu.Unlock()
	g.cancel()
	g.loops.Wait()
}

// waitCtx waits for wg, or for ctx to end.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// nodeOf rebuilds a memberlist.Node from an address we copied while
// memberlist held its lock. (Nodes from memberlist.Members are shared with
// memberlist's state, which rewrites them without our synchronisation.)
func nodeOf(name, addr string) (*memberlist.Node, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, err
	}
	return &memberlist.Node{Name: name, Addr: net.ParseIP(host), Port: uint16(p)}, nil
}
