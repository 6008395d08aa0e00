// Package outbox records committed changes for the change stream. Every
// write of the product appends one change to the outbox of the keyspace it
// writes, inside the same transaction: a shard's cq_changes, or the global
// keyspace's cq_global_changes. The relay (replication/relay) tails the outboxes
// and tells every edge which surrogate keys to purge.
//
// Sequence numbers come from a one-row counter per keyspace, bumped with
// LAST_INSERT_ID(seq + 1) in the writing transaction. The counter's row lock
// orders a keyspace's writers, so sequence order is commit order: a reader
// of seq > cursor never skips a change that commits late, and a rolled-back
// transaction leaves no gap. The price is that a keyspace's writes commit
// one at a time at the counter, which a shard of this product affords.
//
// The Version of a change ("shard-3.1234") is the token the core returns in
// the Cq-Version header so that an edge can give the user read-your-writes.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

// Statements, in one place so a test parses each with TiDB's parser and
// runs each on MariaDB.
const (
	bumpShardSQL    = "UPDATE cq_change_seq SET seq = LAST_INSERT_ID(seq + 1) WHERE singleton = 1 AND min_epoch <= ?"
	fenceShardSQL   = "SELECT min_epoch FROM cq_change_seq WHERE singleton = 1"
	insertShardSQL  = "INSERT INTO cq_changes (seq, user_id, surrogate_keys, payload, created_at) VALUES (?, ?, ?, ?, ?)"
	bumpGlobalSQL   = "UPDATE cq_global_seq SET seq = LAST_INSERT_ID(seq + 1) WHERE singleton = 1"
	insertGlobalSQL = "INSERT INTO cq_global_changes (seq, surrogate_keys, payload, created_at) VALUES (?, ?, ?, ?)"
)

// MaxKeysLen bounds the space-separated surrogate keys of one change (the
// column's size).
const MaxKeysLen = 1024

var (
	// ErrNotPinned: Append needs a transaction that a keyed (or global)
	// statement has already pinned.
	ErrNotPinned = errors.New("outbox: the transaction is not pinned to a keyspace yet")
	// ErrBadChange: the change itself is malformed.
	ErrBadChange = errors.New("outbox: bad change")
	// ErrFenced: the shard takes no more writes of the transaction's shard
	// map (a reshard moved users away from it since); nothing was written.
	// Run the write again under a newer map.
	ErrFenced = errors.New("outbox: the shard refuses writes of an older shard map")
)

// Change is one change as the outbox records it.
type Change struct {
	// UserID is the user whose rows changed; 0 for the global keyspace.
	UserID int64
	// SurrogateKeys name what a cache must purge: "shop:12", "menu:12",
	// "user:42:orders". Each is non-empty and has no space.
	SurrogateKeys []string
	// Payload describes the change for consumers (kind, ids); it is stored
	// as JSON.
	Payload any
}

// Tx is what Append needs: sharding/exec's pinned transaction.
type Tx interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRow(ctx context.Context, query string, args ...any) *exec.Row
	Shard() string
	// Epoch is the shard map the transaction routes with.
	Epoch() uint64
}

var _ Tx = (*exec.Tx)(nil)

// Append records c in the outbox of the keyspace tx is pinned to and
// returns its version. It must run in the transaction that makes the change.
func Append(ctx context.Context, tx Tx, c Change) (Version, error) {
	shard := tx.Shard()
	if shard == "" {
		return Version{}, ErrNotPinned
	}
	keys, payload, err := c.encode()
	if err != nil {
		return Version{}, err
	}
	now := time.Now().UTC()
	if shard == exec.GlobalTarget {
		seq, err := bump(ctx, tx, bumpGlobalSQL)
		if err != nil {
			return Version{}, err
		}
		_, err = tx.Exec(ctx, insertGlobalSQL, seq, keys, payload, now)
		return Version{Shard: shard, Seq: seq}, wrap(err)
	}
	seq, err := bump(ctx, tx, bumpShardSQL, tx.Epoch())
	if errors.Is(err, errNoSequenceRow) {
		err = fenced(ctx, tx)
	}
	if err != nil {
		return Version{}, err
	}
	_, err = tx.Exec(ctx, insertShardSQL, seq, c.UserID, keys, payload, now)
	return Version{Shard: shard, Seq: seq}, wrap(err)
}

func (c Change) encode() (keys, payload string, err error) {
	if len(c.SurrogateKeys) == 0 {
		return "", "", fmt.Errorf("%w: no surrogate keys", ErrBadChange)
	}
	for _, k := range c.SurrogateKeys {
		if k == "" || strings.ContainsAny(k, " \t\r\n") {
			return "", "", fmt.Errorf("%w: surrogate key %q", ErrBadChange, k)
		}
	}
	keys = strings.Join(c.SurrogateKeys, " ")
	if len(keys) > MaxKeysLen {
		return "", "", fmt.Errorf("%w: %d bytes of surrogate keys, at most %d", ErrBadChange, len(keys), MaxKeysLen)
	}
	b, err := json.Marshal(c.Payload)
	if err != nil {
		return "", "", fmt.Errorf("%w: payload: %v", ErrBadChange, err)
	}
	return keys, string(b), nil
}

var errNoSequenceRow = errors.New("outbox: the sequence row is missing (is the keyspace migrated?)")

// bump takes the keyspace's next sequence number.
func bump(ctx context.Context, tx Tx, query string, args ...any) (uint64, error) {
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return 0, wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, errNoSequenceRow
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, wrap(err)
	}
	return uint64(seq), nil
}

// fenced explains a bump that changed no row: ErrFenced when the shard's
// fence is above the transaction's epoch, else the row is missing.
func fenced(ctx context.Context, tx Tx) error {
	var min uint64
	if err := tx.QueryRow(ctx, fenceShardSQL).Scan(&min); err != nil {
		return errNoSequenceRow
	}
	if min > tx.Epoch() {
		return fmt.Errorf("%w (shard %s takes epoch %d and later, the transaction has %d)", ErrFenced, tx.Shard(), min, tx.Epoch())
	}
	return errNoSequenceRow
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("outbox: %w", err)
}

// Version is a point in one keyspace's change stream.
type Version struct {
	Shard string // shard id, or exec.GlobalTarget
	Seq   uint64
}

// String is the token form: "<shard>.<seq>".
func (v Version) String() string { return v.Shard + "." + strconv.FormatUint(v.Seq, 10) }

// ErrBadVersion is returned by ParseVersion.
var ErrBadVersion = errors.New("outbox: bad version token")

// ParseVersion reads a token made by Version.String.
func ParseVersion(s string) (Version, error) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 {
		return Version{}, fmt.Errorf("%w: %q", ErrBadVersion, s)
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return Version{}, fmt.Errorf("%w: %q", ErrBadVersion, s)
	}
	return Version{Shard: s[:i], Seq: seq}, nil
}
