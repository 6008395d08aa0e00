package move

import (
	"context"
	"database/sql"
)

// DB is what the mover needs from a shard: a pool straight to its database
// (sharding/dbconn), never the router, which would send a moving user's
// statements to the old owner.
type DB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

var _ DB = (*sql.DB)(nil)

// execer runs a statement: a *sql.DB (one autocommitted statement) or a
// *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// querier reads: a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// snapshotOptions make a read-only REPEATABLE READ transaction: every read
// in it sees the snapshot its first read establishes (InnoDB) or its start
// takes (TiDB), so a user's rows read table after table are of one moment.
// go-sql-driver/mysql sends "SET TRANSACTION ISOLATION LEVEL REPEATABLE
// READ" and "START TRANSACTION READ ONLY" for it (driverStatements in the
// tests; TiDB parses both and starts its snapshot at START TRANSACTION).
var snapshotOptions = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// snapshot begins a consistent read of db. The caller rolls it back.
func snapshot(ctx context.Context, db DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, snapshotOptions)
	if err != nil {
		return nil, wrap("begin snapshot", err)
	}
	return tx, nil
}

// eachRow calls fn with every row of rows, then closes them. The slice
// passed to fn is reused: fn copies it to keep it (the values themselves
// are fresh: database/sql copies []byte into an *any).
func eachRow(rows *sql.Rows, fn func(row []any) error) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}
