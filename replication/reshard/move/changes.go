package move

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DefaultChangesLimit is the outbox rows ChangedUsers reads when given no
// limit.
const DefaultChangesLimit = 1000

// Statements reading the source's outbox (replication/outbox writes it).
const (
	headSQL    = "SELECT seq FROM cq_change_seq WHERE singleton = 1"
	changesSQL = "SELECT seq, user_id FROM cq_changes WHERE seq > ? ORDER BY seq LIMIT ?"
)

// SourceHead is the shard's outbox sequence: every change committed so far
// has a sequence number at most this, every later one a greater one (the
// counter's row lock makes sequence order commit order). Read it before the
// copy starts; the catch-up starts after it.
func SourceHead(ctx context.Context, src DB) (uint64, error) {
	rows, err := src.QueryContext(ctx, headSQL)
	if err != nil {
		return 0, wrap("read the outbox sequence", err)
	}
	var seq uint64
	found := false
	err = eachRow(rows, func(row []any) error {
		found = true
		return scanUint(row[0], &seq)
	})
	if err != nil {
		return 0, wrap("read the outbox sequence", err)
	}
	if !found {
		return 0, wrap("read the outbox sequence", errors.New("cq_change_seq has no row (is the shard migrated?)"))
	}
	return seq, nil
}

// ChangedUsers reads at most limit outbox changes after afterSeq (limit ≤
// 0: DefaultChangesLimit) and returns the users among them the filter
// selects (nil filter: every user), each once, in order of first change,
// and the sequence number of the last change read: the cursor for the next
// call. lastSeq == afterSeq means the outbox has nothing newer.
//
// The outbox is gapless (a rolled-back change gives its number back), so a
// missing number means changes were trimmed before the catch-up read them:
// that is ErrOutboxGap, never silently skipped.
func ChangedUsers(ctx context.Context, src DB, afterSeq uint64, filter func(int64) bool, limit int) (users []int64, lastSeq uint64, err error) {
	if limit <= 0 {
		limit = DefaultChangesLimit
	}
	rows, err := src.QueryContext(ctx, changesSQL, afterSeq, limit)
	if err != nil {
		return nil, afterSeq, wrap("read the outbox", err)
	}
	lastSeq = afterSeq
	seen := map[int64]bool{}
	err = eachRow(rows, func(row []any) error {
		var seq uint64
		if err := scanUint(row[0], &seq); err != nil {
			return err
		}
		if seq != lastSeq+1 {
			return fmt.Errorf("%w: after %d comes %d", ErrOutboxGap, lastSeq, seq)
		}
		lastSeq = seq
		user, err := userID(row[1])
		if err != nil || seen[user] || (filter != nil && !filter(user)) {
			return err
		}
		seen[user] = true
		users = append(users, user)
		return nil
	})
	if err != nil {
		return nil, afterSeq, wrap("read the outbox", err)
	}
	return users, lastSeq, nil
}

// scanUint reads a BIGINT UNSIGNED value.
func scanUint(v any, dst *uint64) error {
	var n sql.Null[uint64]
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("NULL sequence number")
	}
	*dst = n.V
	return nil
}
