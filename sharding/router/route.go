package router

import (
	"database/sql/driver"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Route is a Plan resolved for one set of arguments: where to run what, and
// how to merge the rows.
type Route struct {
	Kind Kind `json:"kind"` // Single, Multi, Scatter, Global or Broadcast
	// Shard is the shard of a Single route.
	Shard string `json:"shard,omitempty"`
	// SQL and Args run on the target(s) of every kind but Multi.
	SQL  string `json:"sql,omitempty"`
	Args []any  `json:"args,omitempty"`
	// Parts are the per-shard statements of a Multi route, sorted by shard.
	Parts []Part `json:"parts,omitempty"`
	// Merge combines the rows of a Multi or Scatter route.
	Merge *Merge `json:"merge,omitempty"`
	// Limit and Offset window the merged rows; Limit < 0 means no limit.
	Limit  int64 `json:"limit"`
	Offset int64 `json:"offset,omitempty"`
	Write  bool  `json:"write,omitempty"`

	// For ShardSQL: the plan's rewrite and the arguments as given.
	rewrite *Rewrite
	args    []any
}

// Part is one shard's statement of a Multi route.
type Part struct {
	Shard string `json:"shard"`
	SQL   string `json:"sql"`
	Args  []any  `json:"args,omitempty"`
}

// Route resolves the plan for args on topo.
func (p *Plan) Route(topo Topology, args []any) (Route, error) {
	if p.err != nil {
		return Route{}, p.err
	}
	if len(args) != p.Params {
		return Route{}, refuse(ErrArgs, fmt.Sprintf("the statement has %d placeholders, got %d arguments", p.Params, len(args)))
	}
	switch p.Kind {
	case Global, Broadcast, Local:
		return Route{Kind: p.Kind, SQL: p.sql, Args: args, Limit: -1, Write: p.Write}, nil
	case Scatter:
		return p.scatter(args)
	}
	if len(p.Keys) == 1 && len(p.Pins) == 0 { // the hot path: no allocation
		k, err := p.Keys[0].key(args)
		if err != nil {
			return Route{}, err
		}
		return Route{Kind: Single, Shard: topo.Owner(k), SQL: p.sql, Args: args, Limit: -1, Write: p.Write}, nil
	}
	return p.routeKeys(topo, args)
}

// routeKeys resolves a keyed plan with several keys or pins.
func (p *Plan) routeKeys(topo Topology, args []any) (Route, error) {
	shards := make([]string, len(p.Keys))
	distinct := map[string]bool{}
	for i, v := range p.Keys {
		k, err := v.key(args)
		if err != nil {
			return Route{}, err
		}
		shards[i] = topo.Owner(k)
		distinct[shards[i]] = true
	}
	for _, v := range p.Pins {
		k, err := v.key(args)
		if err != nil {
			return Route{}, err
		}
		distinct[topo.Owner(k)] = true
	}
	if len(distinct) == 1 {
		return Route{Kind: Single, Shard: shards[0], SQL: p.sql, Args: args, Limit: -1, Write: p.Write}, nil
	}
	if !p.Split || len(p.Pins) > 0 {
		return Route{}, refuse(ErrCrossShard, fmt.Sprintf("the %s keys belong to shards %s", strings.ToUpper(p.Stmt), strings.Join(sortedKeys(distinct), ", ")))
	}
	if p.mergeErr != nil {
		return Route{}, p.mergeErr
	}
	return p.multi(args, shards)
}

// multi splits an IN list over the shards its keys belong to.
func (p *Plan) multi(args []any, shards []string) (Route, error) {
	limit, offset, err := p.window(args)
	if err != nil {
		return Route{}, err
	}
	byShard := map[string][]Value{}
	for i, s := range shards {
		byShard[s] = append(byShard[s], p.Keys[i])
	}
	r := Route{Kind: Multi, Merge: p.Merge, Limit: limit, Offset: offset}
	for _, s := range sortedKeys(byShard) {
		in := byShard[s]
		r.Parts = append(r.Parts, Part{Shard: s, SQL: p.Rewrite.render(in, shardRows(limit, offset)), Args: p.Rewrite.args(args, in)})
	}
	return r, nil
}

// scatter resolves a scatter plan: every shard that owns users runs the
// same statement (with LIMIT n+m when there is an OFFSET m).
func (p *Plan) scatter(args []any) (Route, error) {
	limit, offset, err := p.window(args)
	if err != nil {
		return Route{}, err
	}
	r := Route{Kind: Scatter, SQL: p.sql, Args: args, Merge: p.Merge, Limit: limit, Offset: offset, rewrite: p.Rewrite, args: args}
	if p.Merge.Offset != nil {
		r.SQL, r.Args, _ = r.ShardSQL(shardRows(limit, offset))
	}
	return r, nil
}

// ShardRows is how many rows each shard of a Scatter route is asked for:
// LIMIT + OFFSET, or math.MaxInt64 when there is no LIMIT.
func (r *Route) ShardRows() int64 { return shardRows(r.Limit, r.Offset) }

// ShardSQL is the statement and arguments that ask one shard of a Scatter
// route for its first n rows instead of ShardRows. The executor uses it to
// read a shard again when the rows it dropped as not owned (see
// Merge.ShardKey) left it short and its LIMIT may have cut owned rows off.
// ok is false when the plan kept no per-shard rewrite: it keeps one for an
// OFFSET, or for a ShardKey with a LIMIT when the router can rewrite the
// statement.
func (r *Route) ShardSQL(n int64) (sql string, args []any, ok bool) {
	if r.Kind != Scatter || r.rewrite == nil {
		return "", nil, false
	}
	return r.rewrite.render(nil, n), r.rewrite.args(r.args, nil), true
}

// window resolves LIMIT and OFFSET (Limit -1: none).
func (p *Plan) window(args []any) (limit, offset int64, err error) {
	limit = -1
	if p.Merge == nil {
		return limit, 0, nil
	}
	if p.Merge.Limit != nil {
		if limit, err = p.Merge.Limit.key(args); err != nil || limit < 0 {
			return 0, 0, refuse(ErrArgs, "LIMIT must be a non-negative integer")
		}
	}
	if p.Merge.Offset != nil {
		if offset, err = p.Merge.Offset.key(args); err != nil || offset < 0 {
			return 0, 0, refuse(ErrArgs, "OFFSET must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// shardRows is how many rows each shard must return for the merge to
// apply LIMIT limit OFFSET offset.
func shardRows(limit, offset int64) int64 {
	if limit < 0 || limit > math.MaxInt64-offset {
		return math.MaxInt64
	}
	return limit + offset
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// key resolves a key value against the arguments.
func (v Value) key(args []any) (int64, error) {
	if !v.IsArg() {
		return v.Lit, nil
	}
	k, ok := intArg(args[v.Arg])
	if !ok {
		return 0, refuse(ErrBadShardKey, fmt.Sprintf("argument %d (%T %v) is not a 64-bit integer", v.Arg+1, args[v.Arg], args[v.Arg]))
	}
	return k, nil
}

// intArg converts an argument the way MySQL would compare it with a BIGINT
// column: integers as they are, decimal strings parsed.
func intArg(a any) (int64, bool) {
	switch x := a.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	case []byte:
		n, err := strconv.ParseInt(strings.TrimSpace(string(x)), 10, 64)
		return n, err == nil
	case driver.Valuer:
		v, err := x.Value()
		if err != nil {
			return 0, false
		}
		if _, again := v.(driver.Valuer); again {
			return 0, false
		}
		return intArg(v)
	}
	return 0, false
}
