package reshard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Defaults of Config.
const (
	DefaultLeaseTTL     = 6 * time.Second
	DefaultPollInterval = time.Second
	DefaultCutoverLag   = 20
	DefaultCutoverWait  = 5 * time.Second
	DefaultGrace        = 30 * time.Second
	DefaultPingTimeout  = 3 * time.Second
)

// Member is an alive core node and the epoch it announces serving.
type Member struct {
	Name  string
	Epoch uint64
}

// Maps commits shard maps: the node's gossip, so that a commit is served
// and spread at once (core/gossip.Gossip.Commit).
type Maps interface {
	Commit(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error
}

// Config controls a Coordinator. Zero durations take the defaults.
type Config struct {
	// Node is this core node's name: the owner written in cq_reshards.
	Node string
	// Global is a pool of the global keyspace (control tables).
	Global *sql.DB
	// Maps commits maps; Members lists the alive core nodes with the epoch
	// each announces (a node announces an epoch only once it holds the
	// writes it freezes and its older transactions have ended).
	Maps    Maps
	Members func() []Member
	// IDs makes workflow ids.
	IDs *ids.Generator
	// Credentials open pools straight to the shards.
	Credentials dbconn.Credentials
	// RingOptions must be the cluster's (the zero value, normally).
	RingOptions ring.Options

	// LeaseTTL: a workflow whose owner has not renewed its lease for this
	// long is taken over by another node.
	LeaseTTL time.Duration
	// PollInterval: how often a node looks for a workflow to take over.
	PollInterval time.Duration
	// CutoverLag: the catch-up goes on until every pair's source outbox is
	// at most this many changes ahead, then the cutover holds writes.
	CutoverLag uint64
	// CutoverWait bounds the wait for every alive node to serve the
	// frozen map; past it the freeze is lifted and retried later.
	CutoverWait time.Duration
	// Grace is how long the old copies are kept after the cutover (reads
	// begun before it may still read them).
	Grace time.Duration
	// PingTimeout bounds the check that a shard to add is reachable.
	PingTimeout time.Duration
	// ReadBatch and RowsPerSecond tune the copy (move.Config); 0: move's
	// defaults, no rate limit.
	ReadBatch     int
	RowsPerSecond float64
	Logger        *slog.Logger
}

func (c *Config) defaults() error {
	if c.Node == "" || c.Global == nil || c.Maps == nil || c.Members == nil || c.IDs == nil {
		return errors.New("reshard: Config needs Node, Global, Maps, Members and IDs")
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.LeaseTTL, DefaultLeaseTTL)
	set(&c.PollInterval, DefaultPollInterval)
	set(&c.CutoverWait, DefaultCutoverWait)
	set(&c.Grace, DefaultGrace)
	set(&c.PingTimeout, DefaultPingTimeout)
	if c.CutoverLag == 0 {
		c.CutoverLag = DefaultCutoverLag
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "replication.reshard", "node", c.Node)
	return nil
}

// Coordinator starts, runs, resumes and reports resharding workflows. One
// runs on every core node: the node that accepts a request runs it, and
// every node takes over a workflow whose owner stopped renewing its lease.
type Coordinator struct {
	cfg   Config
	store *store
	maps  *control.Store
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[uint64]bool // workflows this node runs now
	stopped bool
}

// New checks cfg; Start begins looking for workflows to take over.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{
		cfg: cfg, store: &store{db: cfg.Global, ttl: cfg.LeaseTTL}, maps: control.NewStore(cfg.Global),
		log: cfg.Logger, ctx: ctx, cancel: cancel, running: map[uint64]bool{},
	}, nil
}

// Run starts the take-over loop.
func (c *Coordinator) Run() {
	c.wg.Go(c.watch)
}

// Shutdown stops the workflows this node runs, releasing their leases so
// that another node resumes them at once. It is idempotent.
func (c *Coordinator) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Get reports one workflow.
func (c *Coordinator) Get(ctx context.Context, id uint64) (Status, error) {
	r, err := c.store.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return r.status(), nil
}

// Current reports the running workflow, or else the latest one.
func (c *Coordinator) Current(ctx context.Context) (Status, error) {
	r, err := c.store.running(ctx)
	if errors.Is(err, ErrNotFound) {
		r, err = c.store.latest(ctx)
	}
	if err != nil {
		return Status{}, err
	}
	return r.status(), nil
}

// Start checks req against the current map, records the workflow and runs
// it in the background on this node. Everything it refuses, it refuses
// before anything moves: the errors match ErrInvalid, ErrShardExists,
// ErrUnknownShard, ErrLastShard, ErrBusy or ErrUnreachable.
func (c *Coordinator) Start(ctx context.Context, req Request) (Status, error) {
	if running, err := c.store.running(ctx); err == nil {
		return Status{}, refusal(ErrBusy, "workflow %d (%s %s) is in phase %s", running.ID, running.Kind, running.Shard, running.Phase)
	} else if !errors.Is(err, ErrNotFound) {
		return Status{}, err
	}
	cur, err := c.maps.Load(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("reshard: read the shard map: %w", err)
	}
	joined, err := c.joined(cur, &req)
	if err != nil {
		return Status{}, err
	}
	p, err := newPlan(joined, c.cfg.RingOptions)
	if err != nil {
		return Status{}, refusal(ErrInvalid, "%v", err)
	}
	if req.Kind == Add {
		if err := c.ping(ctx, req.Shard); err != nil {
			return Status{}, err
		}
	}
	r := &record{
		ID: uint64(c.cfg.IDs.Next()), Kind: req.Kind, Shard: req.Shard.ID, Phase: Preparing,
		State: state{Request: req, Start: cur, Joined: joined},
	}
	for _, f := range p.delta.Summary {
		r.State.Pairs = append(r.State.Pairs, pairState{Pair: Pair{From: f.From, To: f.To, Fraction: f.Fraction}})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return Status{}, errors.New("reshard: the node is shutting down")
	}
	if err := c.store.insert(ctx, r, c.cfg.Node); err != nil {
		return Status{}, err
	}
	c.log.Info("reshard started", "id", r.ID, "kind", req.Kind, "shard", req.Shard.ID, "from_epoch", cur.Epoch, "moves", p.delta.Fraction)
	c.launch(r.ID)
	rec, err := c.store.get(ctx, r.ID)
	if err != nil {
		return r.status(), nil
	}
	return rec.status(), nil
}

// joined is the map a workflow commits first: cur with the shard joining
// (Add) or draining (Remove).
func (c *Coordinator) joined(cur *shardmap.Map, req *Request) (*shardmap.Map, error) {
	if cur.Freeze {
		return nil, refusal(ErrBusy, "the shard map (epoch %d) still freezes users of an unfinished workflow", cur.Epoch)
	}
	for _, s := range cur.Shards {
		if s.State != shardmap.Serving {
			return nil, refusal(ErrBusy, "shard %s is %s: an earlier workflow has not finished", s.ID, s.State)
		}
	}
	j := cur.Clone()
	j.Epoch++
	switch req.Kind {
	case Add:
		s := req.Shard
		if s.Weight == 0 {
			s.Weight = 1
		}
		s.State = shardmap.Joining
		req.Shard = s
		for _, have := range cur.Shards {
			if have.ID == s.ID {
				return nil, refusal(ErrShardExists, "shard %s is already in the map (epoch %d)", s.ID, cur.Epoch)
			}
		}
		j.Shards = append(j.Shards, s)
	case Remove:
		i := -1
		for k, have := range cur.Shards {
			if have.ID == req.Shard.ID {
				i = k
			}
		}
		if i < 0 {
			return nil, refusal(ErrUnknownShard, "shard %q is not in the map (epoch %d)", req.Shard.ID, cur.Epoch)
		}
		if len(cur.Shards) == 1 {
			return nil, refusal(ErrLastShard, "shard %s is the only one; its users would have nowhere to go", req.Shard.ID)
		}
		req.Shard = cur.Shards[i]
		j.Shards[i].State = shardmap.Draining
	default:
		return nil, refusal(ErrInvalid, "kind %q (want add or remove)", req.Kind)
	}
	if err := j.Validate(); err != nil {
		return nil, refusal(ErrInvalid, "%v", err)
	}
	return j, nil
}

// ping checks that the shard to add answers, with this node's credentials.
func (c *Coordinator) ping(ctx context.Context, s shardmap.Shard) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
	defer cancel()
	if err := dbconn.EnsureDatabase(ctx, s.Address, s.DatabaseName(), c.cfg.Credentials); err != nil {
		return refusal(ErrUnreachable, "shard %s at %s: %v", s.ID, s.Address, err)
	}
	return nil
}

// launch runs workflow id on this node unless it already does. c.mu held.
func (c *Coordinator) launch(id uint64) {
	if c.running[id] || c.stopped {
		return
	}
	c.running[id] = true
	c.wg.Go(func() {
		defer func() {
			c.mu.Lock()
			delete(c.running, id)
			c.mu.Unlock()
		}()
		c.drive(id)
	})
}

// watch takes over a running workflow whose lease expired (its owner died)
// or that names this node but runs nowhere (the node restarted).
func (c *Coordinator) watch() {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		r, err := c.store.running(c.ctx)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && c.ctx.Err() == nil {
				c.log.Warn("cannot look for workflows to resume", "err", err)
			}
			continue
		}
		c.mu.Lock()
		mine := c.running[r.ID]
		c.mu.Unlock()
		if mine || (r.Owner != c.cfg.Node && r.Expired <= 0) {
			continue
		}
		if ok, err := c.store.claim(c.ctx, r.ID, c.cfg.Node); err != nil || !ok {
			continue
		}
		c.log.Info("resuming a workflow", "id", r.ID, "phase", r.Phase, "previous_owner", r.Owner)
		c.mu.Lock()
		c.launch(r.ID)
		c.mu.Unlock()
	}
}

// drive runs one workflow while this node holds its lease.
func (c *Coordinator) drive(id uint64) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	lost := make(chan struct{})
	go c.renew(ctx, id, cancel, lost)
	err := c.runWorkflow(ctx, id)
	select {
	case <-lost:
		c.log.Warn("stopped a workflow another node took over", "id", id)
		return
	default:
	}
	if c.ctx.Err() != nil { // shutting down: let another node resume at once
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer rcancel()
		if err := c.store.release(rctx, id, c.cfg.Node); err != nil {
			c.log.Warn("cannot release the workflow's lease", "id", id, "err", err)
		}
		return
	}
	if err != nil {
		c.log.Error("workflow stopped", "id", id, "err", err)
	}
}

// renew extends the lease every LeaseTTL/3 and cancels the run if it is
// lost (another node owns the workflow) or cannot be renewed in time.
func (c *Coordinator) renew(ctx context.Context, id uint64, cancel context.CancelFunc, lost chan struct{}) {
	t := time.NewTicker(c.cfg.LeaseTTL / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.store.renew(ctx, id, c.cfg.Node)
		switch {
		case err == nil:
			last = time.Now()
		case errors.Is(err, errLeaseLost):
			close(lost)
			cancel()
			return
		case time.Since(last) > c.cfg.LeaseTTL*2/3:
			c.log.Warn("cannot renew the workflow's lease; stopping it here", "id", id, "err", err)
			close(lost)
			cancel()
			return
		}
	}
}

// Keep is relay.Config.Keep: the first outbox sequence of keyspace that the
// running workflow's catch-up has not read yet. Before a pair's copy has
// read its starting point every row of its source is kept.
func (c *Coordinator) Keep(ctx context.Context, keyspace string) (first uint64, ok bool, err error) {
	r, err := c.store.running(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	switch r.Phase {
	case Verifying, Cleanup, Done, Failed:
		return 0, false, nil
	}
	for _, p := range r.State.Pairs {
		if p.From != keyspace {
			continue
		}
		next := uint64(0)
		if p.HeadSet {
			next = p.Cursor + 1
		}
		if !ok || next < first {
			first, ok = next, true
		}
	}
	return first, ok, nil
}
