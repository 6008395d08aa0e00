package move

import (
	"context"
	"fmt"
	"slices"
)

// batcher copies one table batch by batch.
type batcher struct {
	c          *Copier
	t          Table
	keyIdx     []int
	userIdx    int
	countUsers bool // the first table counts users for Progress
}

func (c *Copier) newBatcher(t Table) *batcher {
	return &batcher{c: c, t: t, keyIdx: t.keyIndex(), userIdx: t.userIndex(),
		countUsers: t.Name == c.cfg.Tables[0].Name}
}

// batch is one scan's result: the matching rows and where the scan ended.
type batch struct {
	rows    [][]any
	last    Key
	scanned int
	users   int64 // matching users not seen before
}

// next copies the batch after p.After, advances p, and says whether the
// batch was full (the table may go on).
func (b *batcher) next(ctx context.Context, p *Progress) (full bool, err error) {
	if err := b.c.throttle(ctx); err != nil {
		return false, err
	}
	bt, err := b.read(ctx, p.After)
	if err != nil || bt.scanned == 0 {
		return false, err
	}
	written, err := b.write(ctx, bt.rows)
	if err != nil {
		return false, err
	}
	p.After, p.Scanned, p.Rows = bt.last, p.Scanned+int64(bt.scanned), p.Rows+written
	if b.countUsers {
		p.Users += bt.users
	}
	return bt.scanned == b.c.cfg.ReadBatch, nil
}

// throttle waits for a batch's worth of the read budget.
func (c *Copier) throttle(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	return c.limiter.WaitN(ctx, c.cfg.ReadBatch)
}

// read scans the batch after the key (nil: the table's first batch) and
// keeps the matching rows.
func (b *batcher) read(ctx context.Context, after Key) (batch, error) {
	query, args := b.t.scanFirstSQL(), []any{b.c.cfg.ReadBatch}
	if after != nil {
		query, args = b.t.scanAfterSQL(), append(afterArgs(after), b.c.cfg.ReadBatch)
	}
	rows, err := b.c.cfg.Source.QueryContext(ctx, query, args...)
	if err != nil {
		return batch{}, wrap("scan "+b.t.Name, err)
	}
	var bt batch
	m := newMatcher(b.c.cfg.Filter, after)
	if err := eachRow(rows, func(row []any) error { return b.take(&bt, m, row) }); err != nil {
		return batch{}, wrap("scan "+b.t.Name, err)
	}
	return bt, nil
}

// take records a scanned row in bt and keeps a copy of it if its user moves.
func (b *batcher) take(bt *batch, m *matcher, row []any) error {
	user, err := userID(row[b.userIdx])
	if err != nil {
		return err
	}
	bt.scanned++
	bt.last = appendKey(bt.last[:0], row, b.keyIdx) // one Key a batch
	moves, first := m.match(user)
	if moves {
		bt.rows = append(bt.rows, slices.Clone(row))
	}
	if moves && first {
		bt.users++
	}
	return nil
}

// write upserts the rows into the target and returns how many it wrote.
func (b *batcher) write(ctx context.Context, rows [][]any) (int64, error) {
	w := newWriter(b.c.cfg.Target, &b.t, b.c.cfg.WriteBatch, b.c.cfg.WriteBytes)
	for _, row := range rows {
		if err := w.add(ctx, row); err != nil {
			return 0, err
		}
	}
	err := w.flush(ctx)
	return w.written, err
}

// matcher applies the filter once per user: a table's rows come grouped
// by user, key order.
type matcher struct {
	filter func(int64) bool
	have   bool
	user   int64
	moves  bool
}

// newMatcher starts after a key: that key's user is not new.
func newMatcher(filter func(int64) bool, after Key) *matcher {
	m := &matcher{filter: filter}
	if len(after) > 0 {
		if u, ok := after[0].(int64); ok {
			m.have, m.user, m.moves = true, u, filter(u)
		}
	}
	return m
}

// match says whether user moves and whether it is a user not met before.
func (m *matcher) match(user int64) (match, first bool) {
	if m.have && user == m.user {
		return m.moves, false
	}
	m.have, m.user, m.moves = true, user, m.filter(user)
	return m.moves, true
}

// userID reads a user_id value (BIGINT: int64 from the driver).
func userID(v any) (int64, error) {
	u, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("move: %s is %T, want a BIGINT", UserColumn, v)
	}
	return u, nil
}
