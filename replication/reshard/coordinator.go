package reshard

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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
	DefaultLeaseTTL      = 6 * time.Second
	DefaultPollInterval  = time.Second
	DefaultCutoverLag    = 20
	DefaultCutoverWait   = 5 * time.Second
	DefaultCutoverBudget = time.Second
	DefaultGrace         = 30 * time.Second
	DefaultPingTimeout   = 3 * time.Second
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
	// at most this many changes ahead of it once a round is over, then the
	// cutover holds writes. A catch-up that has not got there after 10 s,
	// though the rounds of the pairs that lag take at most half of
	// CutoverBudget each (users it moves are written all the time, and
	// every round recopies them), cuts over anyway.
	CutoverLag uint64
	// CutoverWait bounds the wait for every alive node to serve the
	// frozen map; past it the freeze is lifted and retried later. It also
	// bounds each wait of the cleanup for every alive node to serve the
	// settled map (the cleanup retries until they do).
	CutoverWait time.Duration
	// CutoverBudget bounds copying the last changes while the moving
	// users' writes are held (every statement of it runs under this
	// deadline): past it, or if a shard fails or hangs meanwhile, the
	// freeze is lifted and the workflow catches up again before it
	// retries.
	CutoverBudget time.Duration
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
	set(&c.CutoverBudget, DefaultCutoverBudget)
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
	// owner is what this process writes in cq_reshards.owner: the node's
	// name and a random tag, so that a node restarted under the same name
	// does not take its previous process's live lease for its own.
	owner string

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
	var tag [ownerTagLen / 2]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return nil, fmt.Errorf("reshard: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Coordinator{
		cfg: cfg, store: &store{db: cfg.Global, ttl: cfg.LeaseTTL}, maps: control.NewStore(cfg.Global),
		log: cfg.Logger, owner: cfg.Node + "/" + hex.EncodeToString(tag[:]),
		ctx: ctx, cancel: cancel, running: map[uint64]bool{},
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

// maintenanceWait bounds how long Start and Abort wait for the
// maintenance lock (a housekeeping sweep holds it for a few seconds at
// most, an Abort while it deletes copies).
const maintenanceWait = 10 * time.Second

// maintenance takes the maintenance lock, or refuses with ErrBusy after
// maintenanceWait.
func (c *Coordinator) maintenance(ctx context.Context) (*control.Lock, error) {
	lock, ok, err := control.AcquireMaintenance(ctx, c.store.db, maintenanceWait)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refusal(ErrBusy, "another core node holds the maintenance lock (a housekeeping sweep, a starting workflow or an abort) after %v; try again", maintenanceWait)
	}
	return lock, nil
}

// Start checks req against the current map, records the workflow and runs
// it in the background on this node. Everything it refuses, it refuses
// before anything moves: the errors match ErrInvalid, ErrShardExists,
// ErrUnknownShard, ErrLastShard, ErrBusy or ErrUnreachable.
func (c *Coordinator) Start(ctx context.Context, req Request) (Status, error) {
	// The maintenance lock keeps the shards' housekeeping from deleting
	// rows while the workflow is recorded; once it is, housekeeping sees
	// it running and deletes nothing until it ends.
	lock, err := c.maintenance(ctx)
	if err != nil {
		return Status{}, err
	}
	defer lock.Release()
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
	leased := time.Now()
	if err := c.store.insert(ctx, r, c.owner); err != nil {
		return Status{}, err
	}
	c.log.Info("reshard started", "id", r.ID, "kind", req.Kind, "shard", req.Shard.ID, "from_epoch", cur.Epoch, "moves", p.delta.Fraction)
	c.launch(r.ID, leased)
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

// launch runs workflow id on this node unless it already does; leased is
// when the statement that gave this node the lease began. c.mu held.
func (c *Coordinator) launch(id uint64, leased time.Time) {
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
		c.drive(id, leased)
	})
}

// watch takes over a running workflow whose lease expired (its owner died,
// or restarted: a new process of the same node waits for the lease of its
// previous one like any other node) or that this process owns but no
// longer runs (its run stopped on an error).
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
		if mine || (r.Owner != c.owner && r.Expired <= 0) {
			continue
		}
		leased := time.Now()
		if ok, err := c.store.claim(c.ctx, r.ID, c.owner); err != nil || !ok {
			continue
		}
		c.log.Info("resuming a workflow", "id", r.ID, "phase", r.Phase, "previous_owner", r.Owner)
		c.mu.Lock()
		c.launch(r.ID, leased)
		c.mu.Unlock()
	}
}

// drive runs one workflow while this node holds its lease (taken at
// leased).
func (c *Coordinator) drive(id uint64, leased time.Time) {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	lost := make(chan struct{})
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		c.renew(ctx, id, leased, cancel, lost)
	}()
	err := c.runWorkflow(ctx, id)
	cancel()
	<-renewing // no renewal may land after the release below
	select {
	case <-lost:
		c.log.Warn("stopped a workflow whose lease this node lost or could not renew in time", "id", id)
		return
	default:
	}
	if c.ctx.Err() != nil { // shutting down: let another node resume at once
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer rcancel()
		if err := c.store.release(rctx, id, c.owner); err != nil {
			c.log.Warn("cannot release the workflow's lease", "id", id, "err", err)
		}
		return
	}
	if err != nil {
		c.log.Error("workflow stopped", "id", id, "err", err)
	}
}

// renewEvery is how often the lease is renewed, as a fraction of
// LeaseTTL; an attempt may take renewTimeout of it.
const (
	renewEvery   = 6
	renewTimeout = 3
)

// renew extends the lease every LeaseTTL/6, each attempt bounded by
// LeaseTTL/3, and cancels the run (closing lost) when the lease is lost
// (another node owns the workflow) or may be: the database sets
// lease_until to its now + LeaseTTL when it runs a renewal, after the
// attempt began, so this node counts the lease as its own only until
// LeaseTTL/2 after the start of the last attempt that succeeded (leased,
// the claim that began the run, before any). A timer of its own stops the
// run then, even while attempts hang on an unresponsive global database:
// the run has ended well before another node can take the workflow over.
// Attempts overlap, so that one slow attempt does not stop the run while
// the next succeeds.
func (c *Coordinator) renew(ctx context.Context, id uint64, leased time.Time, cancel context.CancelFunc, lost chan struct{}) {
	ttl := c.cfg.LeaseTTL
	valid := leased.Add(ttl / 2)
	expiry := time.NewTimer(time.Until(valid))
	defer expiry.Stop()
	tick := time.NewTicker(ttl / renewEvery)
	defer tick.Stop()
	type attempt struct {
		start time.Time
		err   error
	}
	done := make(chan attempt, renewEvery)
	inFlight := 0
	defer func() {
		for range inFlight { // ctx is cancelled: they end at once
			<-done
		}
	}()
	stop := func() {
		close(lost)
		cancel()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expiry.C:
			c.log.Warn("cannot renew the workflow's lease in time; stopping it here", "id", id, "valid_until", valid)
			stop()
			return
		case <-tick.C:
			if inFlight >= cap(done)-1 {
				continue
			}
			inFlight++
			start := time.Now()
			go func() {
				actx, acancel := context.WithTimeout(ctx, ttl/renewTimeout)
				defer acancel()
				done <- attempt{start, c.store.renew(actx, id, c.owner)}
			}()
		case a := <-done:
			inFlight--
			switch {
			case a.err == nil:
				if v := a.start.Add(ttl / 2); v.After(valid) {
					valid = v
					expiry.Reset(time.Until(valid))
				}
			case errors.Is(a.err, errLeaseLost):
				stop()
				return
			case ctx.Err() == nil:
				c.log.Warn("cannot renew the workflow's lease", "id", id, "err", a.err, "valid_until", valid)
			}
		}
	}
}

// Keep is relay.Config.Keep: the first outbox sequence of keyspace that the
// running workflow still has to read. Until the cutover is over that is a
// source's rows the catch-up has not read (before a pair's copy has read
// its starting point, every row of its source); from the end of the
// cutover's last catch-up until the pair is verified, a target's rows
// after TargetHead, which tell verification whom the target wrote since.
func (c *Coordinator) Keep(ctx context.Context, keyspace string) (first uint64, ok bool, err error) {
	r, err := c.store.running(ctx)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	keep := func(next uint64) {
		if !ok || next < first {
			first, ok = next, true
		}
	}
	catchingUp := r.Phase == Preparing || r.Phase == Copying || r.Phase == CatchingUp || r.Phase == Cutover
	verifying := r.Phase == Cutover || r.Phase == Verifying
	for _, p := range r.State.Pairs {
		if p.From == keyspace && catchingUp {
			if p.HeadSet {
				keep(p.Cursor + 1)
			} else {
				keep(0)
			}
		}
		if p.To == keyspace && verifying && p.TargetHeadSet && !p.Verified {
			keep(p.TargetHead + 1)
		}
	}
	return first, ok, nil
}
