package router

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/sharding/vschema"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/pingcap/tidb/pkg/parser"
)

// Topology is what routing needs from the shard map: the shard that owns a
// shard-key value. shardmap.Topology implements it.
type Topology interface {
	Owner(key int64) string
}

// Options tunes a Router. The zero value is ready: every field has a default.
type Options struct {
	// CacheSize bounds the plan cache in entries. 0: DefaultCacheSize.
	CacheSize int
	// MaxCachedSQL is the longest statement text that is cached; longer
	// texts (large multi-row INSERTs) are planned each time so they cannot
	// crowd out the hot statements. 0: DefaultMaxCachedSQL.
	MaxCachedSQL int
}

const (
	DefaultCacheSize    = 10000
	DefaultMaxCachedSQL = 4096
)

// Router plans and routes statements. It is safe for concurrent use.
type Router struct {
	vs      *vschema.VSchema
	maxSQL  int
	cache   *lru.Cache[string, *Plan]
	parsers sync.Pool // *parser.Parser: a parser is not safe for concurrent use
	parses  atomic.Int64
}

// New returns a Router for the tables of vs.
func New(vs *vschema.VSchema, opts Options) (*Router, error) {
	if vs == nil {
		return nil, fmt.Errorf("router: nil vschema")
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MaxCachedSQL <= 0 {
		opts.MaxCachedSQL = DefaultMaxCachedSQL
	}
	cache, err := lru.New[string, *Plan](opts.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("router: plan cache: %w", err)
	}
	r := &Router{vs: vs, maxSQL: opts.MaxCachedSQL, cache: cache}
	r.parsers.New = func() any { return parser.New() }
	return r, nil
}

// Plan returns the plan of sql, from the cache when it is there. A refused
// statement returns its plan (for inspection) and the refusal.
func (r *Router) Plan(sql string) (*Plan, error) {
	if p, ok := r.cache.Get(sql); ok {
		return p, p.err
	}
	r.parses.Add(1)
	ps := r.parsers.Get().(*parser.Parser)
	p, ok := build(ps, r.vs, sql)
	if ok {
		r.parsers.Put(ps)
	}
	if len(sql) <= r.maxSQL {
		r.cache.Add(sql, p)
	}
	return p, p.err
}

// CachedPlans is the number of plans in the cache.
func (r *Router) CachedPlans() int { return r.cache.Len() }

// Parses is how many statements the router has parsed: cache misses.
func (r *Router) Parses() int64 { return r.parses.Load() }

// Route plans sql (or takes its plan from the cache) and resolves it
// against args and topo. args are the placeholder arguments in order; the
// Route keeps the slice, so the caller must not change it while the Route
// is in use.
func (r *Router) Route(topo Topology, sql string, args []any) (Route, error) {
	p, err := r.Plan(sql)
	if err != nil {
		return Route{}, err
	}
	return p.Route(topo, args)
}
