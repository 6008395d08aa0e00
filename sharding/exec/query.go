package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cangqiong/cangqiong/sharding/router"
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
		g.Go(func() error {
			res, err := readAll(gctx, p, part, &budget)
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

// readAll runs one part and reads its rows, charging them to budget.
func readAll(ctx context.Context, p *pool, part router.Part, budget *atomic.Int64) (*result, error) {
	rows, err := p.db.QueryContext(ctx, part.SQL, part.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res, err := newResult(rows)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		if budget.Add(-1) < 0 {
			return nil, ErrTooManyRows
		}
		if err := res.scanRow(rows); err != nil {
			return nil, err
		}
	}
	return res, rows.Err()
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
