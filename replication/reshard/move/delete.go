package move

import (
	"context"
	"slices"
)

// DefaultDeleteBatch is the rows one DELETE removes when DeleteUsers is
// given no batch.
const DefaultDeleteBatch = 500

// deleteUsers is how many users one DELETE names.
const deleteUsers = 128

// DeleteUsers deletes the selected users' rows in every table from db (the
// old shard, after the grace period) and returns how many rows went. Each
// statement deletes at most batch rows (≤ 0: DefaultDeleteBatch) and
// commits on its own: locks are held for one small statement, never for
// the whole deletion. Run again after any failure, it deletes what is left
// (and, once all is gone, nothing): a user with rows in any table is still
// listed. The users table goes last, so an account row goes with the last
// of its user's rows.
//
// A selection with neither IDs nor Filter is ErrNoUsers: deleting
// everyone by omission is refused.
func DeleteUsers(ctx context.Context, db DB, tables []Table, users Users, batch int) (int64, error) {
	if batch <= 0 {
		batch = DefaultDeleteBatch
	}
	order := slices.Clone(tables)
	slices.Reverse(order) // Tables puts users first
	var total int64
	err := users.each(ctx, []DB{db}, tables, deleteUsers, func(ids []int64) error {
		for _, t := range order {
			n, err := deleteRows(ctx, db, &t, ids, batch)
			total += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// deleteRows deletes the users' rows of one table, batch rows a statement.
func deleteRows(ctx context.Context, db DB, t *Table, users []int64, batch int) (int64, error) {
	query, args := t.deleteUsersBatchSQL(len(users)), append(int64Args(users), batch)
	var total int64
	for {
		res, err := db.ExecContext(ctx, query, args...)
		if err != nil {
			return total, wrap("delete from "+t.Name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("delete from "+t.Name, err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
