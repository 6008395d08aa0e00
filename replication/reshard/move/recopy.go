package move

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// RecopyBatch is how many users Recopy moves in one pair of transactions.
const RecopyBatch = 64

// Recopy makes the target's rows of users equal to the source's, in every
// table: deleted rows disappear, changed ones change, new ones appear.
//
// Users go RecopyBatch at a time. For each batch, one read-only REPEATABLE
// READ transaction on the source reads the users' rows of every table from
// one snapshot, and one transaction on the target reads theirs and writes
// the difference: rows new or changed in the snapshot are upserted, rows
// it no longer has are deleted. Either the whole batch is
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

// recopyTable makes the target's rows of the users in one table equal to
// the snapshot's: it reads both sides and writes only the difference
// (upserts of new or changed rows, deletes of rows the source no longer
// has). A user with thousands of rows and one new order costs two reads
// and one upserted row, which keeps a cutover's final catch-up short.
func recopyTable(ctx context.Context, stx, dtx *sql.Tx, t *Table, users []int64) error {
	want, err := readUsers(ctx, stx, t, users)
	if err != nil {
		return wrap("read "+t.Name, err)
	}
	have, err := readUsers(ctx, dtx, t, users)
	if err != nil {
		return wrap("read "+t.Name+" on the target", err)
	}
	w := newWriter(dtx, t, DefaultWriteBatch, DefaultWriteBytes)
	for _, k := range want.order {
		row := want.rows[k]
		if old, ok := have.rows[k]; !ok || !sameRow(old, row) {
			if err := w.add(ctx, row); err != nil {
				return wrap("recopy "+t.Name, err)
			}
		}
	}
	if err := w.flush(ctx); err != nil {
		return wrap("recopy "+t.Name, err)
	}
	idx := t.keyIndex()
	for _, k := range have.order {
		if _, ok := want.rows[k]; ok {
			continue
		}
		if _, err := dtx.ExecContext(ctx, t.deleteKeySQL(), appendKey(nil, have.rows[k], idx)...); err != nil {
			return wrap("delete from "+t.Name+" on the target", err)
		}
	}
	return nil
}

// keyedRows are rows by their primary key's encoding, in key order.
type keyedRows struct {
	order []string
	rows  map[string][]any
}

// readUsers reads the users' rows of t through q.
func readUsers(ctx context.Context, q querier, t *Table, users []int64) (*keyedRows, error) {
	rows, err := q.QueryContext(ctx, t.selectUsersSQL(len(users)), int64Args(users)...)
	if err != nil {
		return nil, err
	}
	out := &keyedRows{rows: map[string][]any{}}
	idx := t.keyIndex()
	var buf []byte
	err = eachRow(rows, func(row []any) error {
		buf = encodeKey(buf[:0], row, idx)
		k := string(buf)
		out.order = append(out.order, k)
		out.rows[k] = slices.Clone(row)
		return nil
	})
	return out, err
}

// encodeKey appends the key columns of row, each tagged with its type and
// length-prefixed, so that distinct keys never encode alike.
func encodeKey(b []byte, row []any, idx []int) []byte {
	for _, j := range idx {
		switch v := row[j].(type) {
		case []byte:
			b = append(b, 's')
			b = strconv.AppendInt(b, int64(len(v)), 10)
			b = append(b, ':')
			b = append(b, v...)
		case int64:
			b = append(b, 'i')
			b = strconv.AppendInt(b, v, 10)
			b = append(b, ';')
		default:
			s := fmt.Sprint(v)
			b = append(b, 'o')
			b = strconv.AppendInt(b, int64(len(s)), 10)
			b = append(b, ':')
			b = append(b, s...)
		}
	}
	return b
}

// sameRow reports whether two rows of one table hold equal values.
func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case []byte:
			y, ok := b[i].([]byte)
			if !ok || !bytes.Equal(x, y) {
				return false
			}
		case time.Time:
			y, ok := b[i].(time.Time)
			if !ok || !x.Equal(y) {
				return false
			}
		default:
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

func int64Args(vs []int64) []any {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return args
}
