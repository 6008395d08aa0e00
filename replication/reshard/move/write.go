package move

import (
	"context"
	"time"
)

// Write batching defaults: an upsert carries at most this many rows and
// about this many bytes of values, well under max_allowed_packet (16 MiB on
// MariaDB 10.11, 64 MiB on TiDB) even for idempotency keys with large
// stored responses.
const (
	DefaultWriteBatch = 250
	DefaultWriteBytes = 4 << 20
)

// writer upserts rows of one table in multi-row statements.
type writer struct {
	to       execer
	table    *Table
	maxRows  int
	maxBytes int

	args    []any
	rows    int
	bytes   int
	written int64 // rows sent, over all flushes
}

func newWriter(to execer, t *Table, maxRows, maxBytes int) *writer {
	return &writer{to: to, table: t, maxRows: maxRows, maxBytes: maxBytes}
}

// add queues a copy of row and flushes when the batch is full.
func (w *writer) add(ctx context.Context, row []any) error {
	w.args = append(w.args, row...)
	w.rows++
	w.bytes += rowBytes(row)
	if w.rows >= w.maxRows || w.bytes >= w.maxBytes {
		return w.flush(ctx)
	}
	return nil
}

// flush writes the queued rows, if any.
func (w *writer) flush(ctx context.Context) error {
	if w.rows == 0 {
		return nil
	}
	if _, err := w.to.ExecContext(ctx, w.table.upsertSQL(w.rows), w.args...); err != nil {
		return wrap("write "+w.table.Name, err)
	}
	w.written += int64(w.rows)
	clear(w.args) // drop references to the values
	w.args, w.rows, w.bytes = w.args[:0], 0, 0
	return nil
}

// rowBytes estimates the size of a row's values in a statement.
func rowBytes(row []any) int {
	n := 0
	for _, v := range row {
		switch v := v.(type) {
		case []byte:
			n += 2*len(v) + 10 // escaping may double it; _binary'…'
		case string:
			n += 2*len(v) + 2
		case time.Time:
			n += 28
		default:
			n += 20
		}
	}
	return n
}
