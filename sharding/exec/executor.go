package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/router"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/vschema"
)

// GlobalTarget names the global keyspace where a shard id would be.
const GlobalTarget = "global"

// DefaultMaxMergeRows bounds the rows a scatter or multi-shard SELECT may
// hold in memory.
const DefaultMaxMergeRows = 100_000

// Config controls an Executor.
type Config struct {
	// Topology is the compiled shard map to start with. Required.
	Topology *shardmap.Topology
	// VSchema says where each table lives. Required unless Router is set.
	VSchema *vschema.VSchema
	// Router plans statements. nil: router.New(VSchema, router.Options{}).
	Router *router.Router
	// Credentials for every shard and the global keyspace.
	Credentials dbconn.Credentials
	// Pool sizes each shard's pool (and the global one); zero fields take
	// dbconn's defaults.
	Pool dbconn.Pool
	// MaxMergeRows bounds a merge. 0: DefaultMaxMergeRows.
	MaxMergeRows int
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Executor runs statements on the shard they route to.
type Executor struct {
	router  *router.Router
	creds   dbconn.Credentials
	pool    dbconn.Pool
	maxRows int
	log     *slog.Logger

	mu      sync.Mutex // serialises SetTopology, Close and Drain's bookkeeping
	state   atomic.Pointer[state]
	closed  bool
	changed atomic.Pointer[chan struct{}] // closed and replaced by SetTopology

	retired  []*state      // replaced states that may still have work open; under mu
	drained  chan struct{} // closed when an open count reaches zero; under mu, nil when nobody waits
	draining atomic.Int32  // Drain calls waiting: only then does leave take mu
}

// state is one topology with the pools that serve it. Immutable but for
// open.
type state struct {
	topo   *shardmap.Topology
	shards map[string]*pool
	global *pool
	// open counts the transactions begun, and the Exec calls started,
	// under this state that have not ended yet (see enter and Drain).
	open atomic.Int64
}

// pool is one server's connection pool.
type pool struct {
	id, address, database string
	db                    *sql.DB
}

// New opens pools (lazily: nothing connects until first use) for every
// shard of cfg.Topology and the global keyspace.
func New(cfg Config) (*Executor, error) {
	if cfg.Topology == nil {
		return nil, errors.New("exec: Config.Topology is required")
	}
	r := cfg.Router
	if r == nil {
		var err error
		if r, err = router.New(cfg.VSchema, router.Options{}); err != nil {
			return nil, fmt.Errorf("exec: %w", err)
		}
	}
	e := &Executor{router: r, creds: cfg.Credentials, pool: cfg.Pool, maxRows: cfg.MaxMergeRows, log: cfg.Logger}
	if e.maxRows <= 0 {
		e.maxRows = DefaultMaxMergeRows
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.log = e.log.With("component", "sharding.exec")
	st, err := e.build(cfg.Topology, nil)
	if err != nil {
		return nil, err
	}
	e.state.Store(st)
	ch := make(chan struct{})
	e.changed.Store(&ch)
	return e, nil
}

// build makes the state for topo, reusing pools of prev whose server and
// database are unchanged.
func (e *Executor) build(topo *shardmap.Topology, prev *state) (*state, error) {
	st := &state{topo: topo, shards: make(map[string]*pool, len(topo.Map.Shards))}
	g := topo.Map.Global
	var err error
	if st.global, err = e.reuseOrOpen(prev.globalPool(), GlobalTarget, g.Address, g.DatabaseName()); err != nil {
		return nil, err
	}
	for _, s := range topo.Map.Shards {
		p, err := e.reuseOrOpen(prev.shard(s.ID), s.ID, s.Address, s.DatabaseName())
		if err != nil {
			closeNew(st, prev)
			return nil, err
		}
		st.shards[s.ID] = p
	}
	return st, nil
}

func (e *Executor) reuseOrOpen(old *pool, id, address, database string) (*pool, error) {
	if old != nil && old.address == address && old.database == database {
		return old, nil
	}
	db, err := dbconn.Open(address, database, e.creds, e.pool)
	if err != nil {
		return nil, fmt.Errorf("exec: shard %s: %w", id, err)
	}
	return &pool{id: id, address: address, database: database, db: db}, nil
}

func (s *state) shard(id string) *pool {
	if s == nil {
		return nil
	}
	return s.shards[id]
}

func (s *state) globalPool() *pool {
	if s == nil {
		return nil
	}
	return s.global
}

// closeNew closes the pools of st that prev does not share.
func closeNew(st, prev *state) {
	for _, p := range st.all() {
		if !prev.has(p) {
			p.db.Close()
		}
	}
}

func (s *state) all() []*pool {
	if s == nil {
		return nil
	}
	out := []*pool{}
	if s.global != nil {
		out = append(out, s.global)
	}
	for _, p := range s.shards {
		out = append(out, p)
	}
	return out
}

func (s *state) has(p *pool) bool {
	if s == nil {
		return false
	}
	if s.global == p {
		return true
	}
	for _, q := range s.shards {
		if q == p {
			return true
		}
	}
	return false
}

// SetTopology switches to a newer shard map; a map whose epoch is not
// higher than the current one is ignored, so maps arriving out of order
// (gossip, reloads) are harmless. Statements already running finish on the
// old pools; pools of shards that left are closed once they are idle
// (database/sql's Close waits for running queries).
func (e *Executor) SetTopology(topo *shardmap.Topology) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	prev := e.state.Load()
	if topo.Epoch() <= prev.topo.Epoch() {
		return nil
	}
	st, err := e.build(topo, prev)
	if err != nil {
		return err
	}
	e.state.Store(st)
	e.retired = append(e.retired, prev)
	e.pruneLocked()
	ch := make(chan struct{})
	close(*e.changed.Swap(&ch))
	for _, p := range prev.all() {
		if !st.has(p) {
			go p.db.Close()
		}
	}
	e.log.Info("topology changed", "from_epoch", prev.topo.Epoch(), "to_epoch", topo.Epoch())
	return nil
}

// enter loads the current state and counts one piece of work open under
// it; leave must follow. The count is taken before the state is checked
// again, so a SetTopology and Drain racing with enter either see the count
// or make enter move on to the new state: Drain cannot miss work that
// runs on a replaced map.
func (e *Executor) enter() *state {
	for {
		st := e.state.Load()
		st.open.Add(1)
		if e.state.Load() == st {
			return st
		}
		e.leave(st)
	}
}

// leave ends what enter counted, waking Drain when a count reaches zero
// while it waits. Without a waiter it costs one atomic add and one load.
func (e *Executor) leave(st *state) {
	if st.open.Add(-1) == 0 && e.draining.Load() > 0 {
		e.mu.Lock()
		if e.drained != nil {
			close(e.drained)
			e.drained = nil
		}
		e.mu.Unlock()
	}
}

// Drain returns once no transaction begun, and no Exec started, under a
// map older than epoch is still open, or with ctx's error when ctx ends
// first. Together with SetTopology it lets a node promise that nothing it
// started under an older map can still write: after SetTopology(t) and
// Drain(ctx, t.Epoch()) returned nil, every write runs under t, and so
// respects t's frozen users. A transaction ends with its Commit or
// Rollback (the first of them); one that is never ended keeps Drain
// waiting until ctx ends. Queries outside a transaction are not waited
// for: they write nothing. Safe for concurrent use.
func (e *Executor) Drain(ctx context.Context, epoch uint64) error {
	e.draining.Add(1)
	defer e.draining.Add(-1)
	for {
		e.mu.Lock()
		open := e.openBelowLocked(epoch)
		var wake chan struct{}
		if open > 0 {
			if e.drained == nil {
				e.drained = make(chan struct{})
			}
			wake = e.drained
		}
		e.mu.Unlock()
		if open == 0 {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("exec: %d transactions or writes of epochs before %d still open: %w", open, epoch, ctx.Err())
		}
	}
}

// openBelowLocked counts the work open under states older than epoch, the
// current one included, and forgets replaced states with nothing open
// (none can gain any: enter moves on from a replaced state). e.mu is held.
func (e *Executor) openBelowLocked(epoch uint64) int64 {
	e.pruneLocked()
	var n int64
	count := func(st *state) {
		if st.topo.Epoch() < epoch {
			n += st.open.Load()
		}
	}
	for _, st := range e.retired {
		count(st)
	}
	count(e.state.Load())
	return n
}

func (e *Executor) pruneLocked() {
	e.retired = slices.DeleteFunc(e.retired, func(st *state) bool { return st.open.Load() == 0 })
}

// frozenProbe is the topology a statement routes on while the map freezes
// some users: it answers as the map does and notes the first key it
// resolved whose user is frozen. Routing under a map without Freeze skips it,
// so the common path neither allocates nor checks.
type frozenProbe struct {
	topo   *shardmap.Topology
	frozen bool
	user   int64
}

func (p *frozenProbe) Owner(key int64) string {
	if !p.frozen && p.topo.Frozen(key) {
		p.frozen, p.user = true, key
	}
	return p.topo.Owner(key)
}

// route resolves query on st's map. frozen is non-nil (wrapping ErrFrozen)
// when a key the statement resolved belongs to a frozen user; whether that
// refuses the statement is the caller's call.
func (e *Executor) route(st *state, query string, args []any) (r router.Route, frozen, err error) {
	if !st.topo.Map.Freeze {
		r, err = e.router.Route(st.topo, query, args)
		return r, nil, err
	}
	p := &frozenProbe{topo: st.topo}
	if r, err = e.router.Route(p, query, args); err == nil && p.frozen {
		frozen = fmt.Errorf("%w (user %d, epoch %d)", ErrFrozen, p.user, st.topo.Epoch())
	}
	return r, frozen, err
}

// Changed is closed when the executor switches to a newer shard map; take
// it before reading Topology to wait for the next change without missing
// one.
func (e *Executor) Changed() <-chan struct{} { return *e.changed.Load() }

// Topology is the shard map in use.
func (e *Executor) Topology() *shardmap.Topology { return e.state.Load().topo }

// Router is the router the executor plans with.
func (e *Executor) Router() *router.Router { return e.router }

// Shard is the pool of one shard, for work that addresses a shard by id
// (the outbox relay, resharding) rather than by key.
func (e *Executor) Shard(id string) (*sql.DB, error) {
	p := e.state.Load().shards[id]
	if p == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownShard, id)
	}
	return p.db, nil
}

// Global is the pool of the global keyspace.
func (e *Executor) Global() *sql.DB { return e.state.Load().global.db }

// PoolStats reports the connection pool statistics per target (shard ids
// and GlobalTarget), for metrics.
func (e *Executor) PoolStats() map[string]sql.DBStats {
	st := e.state.Load()
	out := map[string]sql.DBStats{GlobalTarget: st.global.db.Stats()}
	for id, p := range st.shards {
		out[id] = p.db.Stats()
	}
	return out
}

// Ping checks every shard and the global keyspace, reporting each one that
// does not answer.
func (e *Executor) Ping(ctx context.Context) error {
	st := e.state.Load()
	var errs []error
	for _, p := range st.all() {
		if err := p.db.PingContext(ctx); err != nil {
			errs = append(errs, p.wrap(err))
		}
	}
	return errors.Join(errs...)
}

// Close closes every pool. It is idempotent.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	for _, p := range e.state.Load().all() {
		errs = append(errs, p.db.Close())
	}
	return errors.Join(errs...)
}

func (p *pool) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *ShardError
	if errors.As(err, &se) {
		return err
	}
	return &ShardError{Shard: p.id, Address: p.address, Err: err}
}
