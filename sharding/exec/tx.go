package exec

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/router"
)

// Tx is a transaction pinned to one shard, or to the global keyspace. The
// pin is taken by the first statement; the shard map snapshot by Begin.
// A statement that involves a user the snapshot freezes fails with
// ErrFrozen and rolls the transaction back. A Tx must end with Commit or
// Rollback: until then Executor.Drain counts it as open. A Tx is not safe
// for concurrent use.
type Tx struct {
	e    *Executor
	st   *state
	ctx  context.Context
	opts *sql.TxOptions

	pool *pool   // nil until the first statement
	tx   *sql.Tx // nil until the first statement
	done bool
}

// Begin starts a transaction. Nothing is sent to a shard until the first
// statement, which pins the transaction to where it routes. ctx bounds the
// whole transaction, as with database/sql. The transaction is open, for
// Drain, under the epoch of its snapshot until Commit or Rollback.
func (e *Executor) Begin(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	return &Tx{e: e, st: e.enter(), ctx: ctx, opts: opts}, nil
}

// Epoch is the epoch of the shard map the transaction routes with (taken
// by Begin).
func (t *Tx) Epoch() uint64 { return t.st.topo.Epoch() }

// Shard is the id of the shard the transaction is pinned to (GlobalTarget
// for the global keyspace), or "" before its first statement.
func (t *Tx) Shard() string {
	if t.pool == nil {
		return ""
	}
	return t.pool.id
}

// route resolves a statement and makes sure it runs where the transaction
// is pinned and involves no frozen user; anything else rolls the
// transaction back.
func (t *Tx) route(query string, args []any) (*sql.Tx, router.Route, error) {
	if t.done {
		return nil, router.Route{}, sql.ErrTxDone
	}
	r, frozen, err := t.e.route(t.st, query, args)
	if err != nil {
		return nil, r, err // the statement is wrong; the transaction is not harmed
	}
	if frozen != nil {
		return nil, r, errors.Join(frozen, t.Rollback())
	}
	if r.Kind == router.Local {
		return t.local(r)
	}
	p, err := t.st.target(&r)
	if err == nil && p == nil {
		err = &router.Error{Err: ErrCrossShard, Detail: fmt.Sprintf("a %s statement inside a transaction", r.Kind)}
	}
	if err == nil && t.pool != nil && p != t.pool {
		err = &router.Error{Err: ErrCrossShard, Detail: fmt.Sprintf("the transaction is on %s, the statement routes to %s", t.pool.id, p.id)}
	}
	if err != nil {
		return nil, r, errors.Join(err, t.Rollback())
	}
	if t.tx == nil {
		if t.tx, err = p.db.BeginTx(t.ctx, t.opts); err != nil {
			t.end()
			return nil, r, p.wrap(err)
		}
		t.pool = p
	}
	return t.tx, r, nil
}

// local runs a per-shard statement on the pinned shard.
func (t *Tx) local(r router.Route) (*sql.Tx, router.Route, error) {
	switch {
	case t.pool == nil:
		return nil, r, fmt.Errorf("%w: the transaction has run no keyed statement yet", ErrNeedsPin)
	case t.pool.id == GlobalTarget:
		err := &router.Error{Err: ErrCrossShard, Detail: "a per-shard table inside a transaction on the global keyspace"}
		return nil, r, errors.Join(err, t.Rollback())
	}
	return t.tx, r, nil
}

// Exec runs a write inside the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, r, err := t.route(query, args)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, r.SQL, r.Args...)
	return res, t.pool.wrap(err)
}

// Query runs a query inside the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	tx, r, err := t.route(query, args)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, r.SQL, r.Args...)
	if err != nil {
		return nil, t.pool.wrap(err)
	}
	return &Rows{rows: rows, pool: t.pool}, nil
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	rows, err := t.Query(ctx, query, args...)
	return &Row{rows: rows, err: err}
}

// Commit commits the transaction (a transaction that ran nothing commits
// trivially).
func (t *Tx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	defer t.end()
	if t.tx == nil {
		return nil
	}
	return t.pool.wrap(t.tx.Commit())
}

// Rollback aborts the transaction. After Commit or Rollback it returns
// sql.ErrTxDone, so `defer tx.Rollback()` is safe.
func (t *Tx) Rollback() error {
	if t.done {
		return sql.ErrTxDone
	}
	defer t.end()
	if t.tx == nil {
		return nil
	}
	return t.pool.wrap(t.tx.Rollback())
}

// end marks the transaction done and no longer open for Drain.
func (t *Tx) end() {
	t.done = true
	t.e.leave(t.st)
}
