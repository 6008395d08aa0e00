package move

import (
	"context"
	"database/sql"
	"slices"
)

// RecopyBatch is how many users Recopy moves in one pair of transactions.
const RecopyBatch = 64

// Recopy makes the target's rows of users equal to the source's, in every
// table: deleted rows disappear, changed ones change, new ones appear.
//
// Users go RecopyBatch at a time. For each batch, one read-only REPEATABLE
// READ transaction on the source reads the users' rows of every table from
// one snapshot, and one transaction on the target deletes the users' rows
// of every table and writes the snapshot's. Either the whole batch is
// replaced or nothing is, so Recopy can be cut off and run again.
//
// The snapshot is taken after Recopy is called: every change committed
// before (the changes ChangedUsers reported) is in it. Two Recopies of one
// user into one target must not run at once (the older snapshot could
// commit last), nor a Recopy with a Copy into the same target.
func Recopy(ctx context.Context, src, dst DB, tables []Table, users []int64) error {
	users = distinct(users)
	for chunk := range slices.Chunk(users, RecopyBatch) {
		if err := recopyBatch(ctx, src, dst, tables, chunk); err != nil {
			return err
		}
	}
	return nil
}

// distinct returns users sorted, without repeats, in a new slice.
func distinct(users []int64) []int64 {
	users = slices.Clone(users)
	slices.Sort(users)
	return slices.Compact(users)
}

func recopyBatch(ctx context.Context, src, dst DB, tables []Table, users []int64) error {
	stx, err := snapshot(ctx, src)
	if err != nil {
		return err
	}
	defer stx.Rollback()
	dtx, err := dst.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin on the target", err)
	}
	defer dtx.Rollback()
	for _, t := range tables {
		if err := recopyTable(ctx, stx, dtx, &t, users); err != nil {
			return err
		}
	}
	if err := dtx.Commit(); err != nil {
		return wrap("commit on the target", err)
	}
	return nil
}

// recopyTable replaces the users' rows of one table inside the two
// transactions, streaming the source's rows into upserts.
func recopyTable(ctx context.Context, stx, dtx *sql.Tx, t *Table, users []int64) error {
	args := int64Args(users)
	if _, err := dtx.ExecContext(ctx, t.deleteUsersSQL(len(users)), args...); err != nil {
		return wrap("clear "+t.Name+" on the target", err)
	}
	rows, err := stx.QueryContext(ctx, t.selectUsersSQL(len(users)), args...)
	if err != nil {
		return wrap("read "+t.Name, err)
	}
	w := newWriter(dtx, t, DefaultWriteBatch, DefaultWriteBytes)
	if err := eachRow(rows, func(row []any) error { return w.add(ctx, row) }); err != nil {
		return wrap("recopy "+t.Name, err)
	}
	return w.flush(ctx)
}

func int64Args(vs []int64) []any {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return args
}
