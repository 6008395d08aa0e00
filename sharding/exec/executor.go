package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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

	mu      sync.Mutex // serialises SetTopology and Close
	state   atomic.Pointer[state]
	closed  bool
	changed atomic.Pointer[chan struct{}] // closed and replaced by SetTopology
}

// state is one topology with the pools that serve it. Immutable.
type state struct {
	topo   *shardmap.Topology
	shards map[string]*pool
	global *pool
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
