package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/sharding/router"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"golang.org/x/sync/errgroup"
)

// target is the pool a single-target route runs on.
func (st *state) target(r *router.Route) (*pool, error) {
	switch r.Kind {
	case router.Single:
		if p := st.shards[r.Shard]; p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("%w %q (epoch %d)", ErrUnknownShard, r.Shard, st.topo.Epoch())
	case router.Global:
		return st.global, nil
	case router.Local:
		return nil, fmt.Errorf("%w: pin one with a keyed statement first", ErrNeedsPin)
	}
	return nil, nil
}

// Exec runs a statement that returns no rows: a write on one shard or the
// global keyspace, or DDL on every shard. A write that involves a user the
// map freezes fails with ErrFrozen before it reaches the shard. Drain
// waits for Exec calls as for transactions.
func (e *Executor) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st := e.enter()
	defer e.leave(st)
	r, frozen, err := e.route(st, query, args)
	if err != nil {
		return nil, err
	}
	if frozen != nil && r.Write {
		return nil, frozen
	}
	if r.Kind == router.Broadcast {
		return e.broadcast(ctx, st, &r)
	}
	p, err := st.target(&r)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%w: a %s SELECT returns rows; use Query", ErrNotAQuery, r.Kind)
	}
	res, err := p.db.ExecContext(ctx, r.SQL, r.Args...)
	return res, p.wrap(err)
}

// Query runs a statement that returns rows. Single-shard and global queries
// stream from their shard; scatter and multi-shard queries are merged.
func (e *Executor) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	st := e.state.Load()
	r, err := e.router.Route(st.topo, query, args)
	if err != nil {
		return nil, err
	}
	return e.queryRoute(ctx, st, &r)
}

func (e *Executor) queryRoute(ctx context.Context, st *state, r *router.Route) (*Rows, error) {
	switch r.Kind {
	case router.Scatter:
		return e.fanout(ctx, st, r, scatterParts(st, r))
	case router.Multi:
		return e.fanout(ctx, st, r, r.Parts)
	case router.Broadcast:
		return nil, fmt.Errorf("%w: DDL returns no rows; use Exec", ErrNotAQuery)
	}
	p, err := st.target(r)
	if err != nil {
		return nil, err
	}
	rows, err := p.db.QueryContext(ctx, r.SQL, r.Args...)
	if err != nil {
		return nil, p.wrap(err)
	}
	return &Rows{rows: rows, pool: p}, nil
}

// QueryRow runs a query expected to return at most one row. Errors are
// deferred to Row.Scan, as with database/sql.
func (e *Executor) QueryRow(ctx context.Context, query string, args ...any) *Row {
	rows, err := e.Query(ctx, query, args...)
	return &Row{rows: rows, err: err}
}

// scatterParts is the same statement on every shard that owns users.
func scatterParts(st *state, r *router.Route) []router.Part {
	ids := st.topo.RingShards()
	parts := make([]router.Part, len(ids))
	for i, id := range ids {
		parts[i] = router.Part{Shard: id, SQL: r.SQL, Args: r.Args}
	}
	return parts
}

// fanout runs parts in parallel, reads their rows and merges them.
func (e *Executor) fanout(ctx context.Context, st *state, r *router.Route, parts []router.Part) (*Rows, error) {
	results := make([]*result, len(parts))
	var budget atomic.Int64
	budget.Store(int64(e.maxRows))
	g, gctx := errgroup.WithContext(ctx)
	for i, part := range parts {
		p := st.shards[part.Shard]
		if p == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownShard, part.Shard)
		}
		rd := &reader{p: p, part: part, budget: &budget}
		if r.Kind == router.Scatter && r.Merge != nil && r.Merge.ShardKey != nil {
			rd.own = &owner{topo: st.topo, shard: part.Shard, key: *r.Merge.ShardKey}
		}
		g.Go(func() error {
			res, err := rd.readOwned(gctx, r)
			results[i] = res
			return p.wrap(err)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	merged, err := merge(results, r)
	if err != nil {
		return nil, err
	}
	return &Rows{merged: merged}, nil
}

// reader reads one part of a fanout.
type reader struct {
	p      *pool
	part   router.Part
	budget *atomic.Int64 // rows the whole merge may still hold
	own    *owner        // nil: keep every row
}

// readOwned reads the part. When rows were dropped as not owned and the
// shard filled its LIMIT, owned rows beyond the LIMIT may belong in the
// result: it reads the shard again with twice the LIMIT until the shard
// runs out of rows or enough owned ones are in. That happens only while a
// reshard leaves copies behind, and only on shards that hold some.
func (rd *reader) readOwned(ctx context.Context, r *router.Route) (*result, error) {
	want := r.ShardRows()
	for asked := want; ; {
		res, dropped, err := rd.read(ctx)
		if err != nil || dropped == 0 || int64(len(res.rows)) >= want || int64(len(res.rows)+dropped) < asked {
			return res, err
		}
		asked = asked * 2
		if asked < 0 {
			asked = math.MaxInt64
		}
		sql, args, ok := r.ShardSQL(asked)
		if !ok {
			return res, nil
		}
		rd.budget.Add(int64(len(res.rows)))
		rd.part.SQL, rd.part.Args = sql, args
	}
}

// read runs the part once and reads its rows, charging the rows it keeps
// to the budget. dropped counts the rows of users the shard does not own.
func (rd *reader) read(ctx context.Context) (res *result, dropped int, err error) {
	rows, err := rd.p.db.QueryContext(ctx, rd.part.SQL, rd.part.Args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	if res, err = newResult(rows); err != nil {
		return nil, 0, err
	}
	col := -1
	if rd.own != nil {
		if col, err = res.column(rd.own.key.Index, rd.own.key.Column); err != nil {
			return nil, 0, fmt.Errorf("exec: shard key %w", err)
		}
	}
	for rows.Next() {
		vals, err := res.scan(rows)
		if err != nil {
			return nil, 0, err
		}
		if col >= 0 && !rd.own.owns(vals[col]) {
			dropped++
			continue
		}
		if rd.budget.Add(-1) < 0 {
			return nil, 0, ErrTooManyRows
		}
		res.rows = append(res.rows, vals)
	}
	return res, dropped, rows.Err()
}

// owner says whether a row's shard key belongs to the shard it was read
// from, in the topology the query was routed with.
type owner struct {
	topo  *shardmap.Topology
	shard string
	key   router.KeyColumn
}

// owns reports whether the shard owns key value v. A value that is not an
// integer (NULL: the outer side of a join) cannot be checked; the row is
// kept.
func (o *owner) owns(v any) bool {
	k, ok := keyValue(v)
	return !ok || o.topo.Owner(k) == o.shard
}

// keyValue reads a BIGINT shard key as the driver hands it over.
func keyValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case []byte:
		k, err := strconv.ParseInt(string(x), 10, 64)
		return k, err == nil
	}
	return 0, false
}

// broadcast runs DDL on every shard, joining ones included. It does not
// stop at the first failure: every shard that can take the change does,
// and the error names each one that did not.
func (e *Executor) broadcast(ctx context.Context, st *state, r *router.Route) (sql.Result, error) {
	ids := st.topo.AllShards()
	errs := make([]error, len(ids))
	var affected atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids {
		p := st.shards[id]
		wg.Go(func() {
			res, err := p.db.ExecContext(ctx, r.SQL, r.Args...)
			if err != nil {
				errs[i] = p.wrap(err)
				return
			}
			if n, err := res.RowsAffected(); err == nil {
				affected.Add(n)
			}
		})
	}
	wg.Wait()
	return broadcastResult(affected.Load()), errors.Join(errs...)
}

// broadcastResult sums rows affected over the shards; it has no insert id.
type broadcastResult int64

func (b broadcastResult) LastInsertId() (int64, error) {
	return 0, errors.New("exec: a broadcast has no single insert id")
}

func (b broadcastResult) RowsAffected() (int64, error) { return int64(b), nil }
