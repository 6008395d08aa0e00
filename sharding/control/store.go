// Package control keeps the control tables of the global keyspace: the
// authoritative shard map (cq_shard_map holds the current map in a single
// row and cq_shard_map_history every epoch ever committed) and the registry
// of edge regions (cq_regions, RegionStore).
//
// The map changes only by compare-and-set on its epoch: a writer names the
// epoch it read, and the change commits only if that is still the stored
// epoch and the new map is a valid successor of the stored one. Of many
// concurrent writers starting from one epoch exactly one wins; the others get
// an *EpochConflictError and must reload and decide again. The history row is
// written in the same transaction, so history and current map never
// disagree.
//
// The tables are created by package schema (global keyspace migrations).
package control

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// ErrNoShardMap is returned when the control table holds no map yet.
var ErrNoShardMap = errors.New("control: no shard map stored")

// ErrEpochConflict matches every *EpochConflictError.
var ErrEpochConflict = errors.New("control: shard map epoch conflict")

// EpochConflictError reports a compare-and-set that lost: the stored epoch
// is no longer the one the caller read.
type EpochConflictError struct {
	Expected uint64 // the epoch the caller named
	Current  uint64 // the epoch stored when the change was refused
}

func (e *EpochConflictError) Error() string {
	return fmt.Sprintf("control: shard map epoch conflict: expected epoch %d, stored epoch is %d", e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrEpochConflict) true.
func (e *EpochConflictError) Is(target error) bool { return target == ErrEpochConflict }

// Statements the store issues, in one place so a test parses each with
// TiDB's parser and runs each on MariaDB.
const (
	selectMapSQL       = "SELECT epoch, body FROM cq_shard_map WHERE singleton = 1"
	selectMapLockedSQL = "SELECT epoch, body FROM cq_shard_map WHERE singleton = 1 FOR UPDATE"
	insertMapSQL       = "INSERT INTO cq_shard_map (singleton, epoch, body, updated_at) VALUES (1, ?, ?, ?)"
	updateMapSQL       = "UPDATE cq_shard_map SET epoch = ?, body = ?, updated_at = ? WHERE singleton = 1 AND epoch = ?"
	insertHistorySQL   = "INSERT INTO cq_shard_map_history (epoch, body, committed_at) VALUES (?, ?, ?)"
	selectHistorySQL   = "SELECT epoch, body, committed_at FROM cq_shard_map_history ORDER BY epoch"
)

// Store reads and changes the shard map in the global keyspace. It is safe
// for concurrent use, also by several processes.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore returns a Store over a pool of the global keyspace. The caller
// keeps owning db.
func NewStore(db *sql.DB) *Store {
	return &Store{db: db, now: time.Now}
}

// querier is what loading needs from a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Load returns the stored map, or ErrNoShardMap.
func (s *Store) Load(ctx context.Context) (*shardmap.Map, error) {
	return load(ctx, s.db, selectMapSQL)
}

func load(ctx context.Context, q querier, query string) (*shardmap.Map, error) {
	var epoch uint64
	var body []byte
	err := q.QueryRowContext(ctx, query).Scan(&epoch, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoShardMap
	}
	if err != nil {
		return nil, fmt.Errorf("control: load shard map: %w", err)
	}
	m, err := shardmap.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("control: stored shard map (epoch %d): %w", epoch, err)
	}
	if m.Epoch != epoch {
		return nil, fmt.Errorf("control: stored shard map body has epoch %d, row has %d", m.Epoch, epoch)
	}
	return m, nil
}

// Bootstrap stores m if no map is stored yet. It returns the map stored
// afterwards and whether it was m; an existing map is never overwritten.
func (s *Store) Bootstrap(ctx context.Context, m *shardmap.Map) (stored *shardmap.Map, created bool, err error) {
	body, err := encode(m)
	if err != nil {
		return nil, false, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, insertMapSQL, m.Epoch, body, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertHistorySQL, m.Epoch, body, now)
		return err
	})
	if err == nil {
		return m.Clone(), true, nil
	}
	if !isDuplicateKey(err) {
		return nil, false, fmt.Errorf("control: bootstrap shard map: %w", err)
	}
	stored, err = s.Load(ctx)
	if err != nil {
		return nil, false, err
	}
	return stored, false, nil
}

// CompareAndSwap replaces the stored map by next if the stored epoch is
// still expectEpoch and next is a valid successor of it. A stale
// expectEpoch returns an *EpochConflictError; a successor that does not
// validate returns the validation error wrapped.
func (s *Store) CompareAndSwap(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error {
	body, err := encode(next)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		prev, err := load(ctx, tx, selectMapLockedSQL)
		if err != nil {
			return err
		}
		if prev.Epoch != expectEpoch {
			return &EpochConflictError{Expected: expectEpoch, Current: prev.Epoch}
		}
		if err := shardmap.ValidateSuccessor(prev, next); err != nil {
			return fmt.Errorf("control: epoch %d → %d: %w", prev.Epoch, next.Epoch, err)
		}
		now := s.now().UTC()
		res, err := tx.ExecContext(ctx, updateMapSQL, next.Epoch, body, now, expectEpoch)
		if err != nil {
			return fmt.Errorf("control: update shard map: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Unreachable while the row lock above is held.
			return fmt.Errorf("control: update shard map changed %d rows, want 1 (%v)", n, err)
		}
		if _, err := tx.ExecContext(ctx, insertHistorySQL, next.Epoch, body, now); err != nil {
			return fmt.Errorf("control: record epoch %d in history: %w", next.Epoch, err)
		}
		return nil
	})
}

// Entry is one committed epoch.
type Entry struct {
	Map         *shardmap.Map
	CommittedAt time.Time // UTC
}

// History returns every committed epoch, oldest first.
func (s *Store) History(ctx context.Context) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, selectHistorySQL)
	if err != nil {
		return nil, fmt.Errorf("control: read history: %w", err)
	}
	defer rows.Close()
	var entries []Entry
	for rows.Next() {
		var epoch uint64
		var body []byte
		var e Entry
		if err := rows.Scan(&epoch, &body, &e.CommittedAt); err != nil {
			return nil, fmt.Errorf("control: read history: %w", err)
		}
		if e.Map, err = shardmap.Parse(body); err != nil {
			return nil, fmt.Errorf("control: history epoch %d: %w", epoch, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("control: read history: %w", err)
	}
	return entries, nil
}

// inTx runs fn in a transaction and commits it unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("control: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("control: commit: %w", err)
	}
	return nil
}

// encode validates m and returns the JSON body stored for it. The body is a
// string, not bytes: the driver would send bytes as a binary literal, which
// TiDB and MySQL refuse for a JSON column.
func encode(m *shardmap.Map) (string, error) {
	if m == nil {
		return "", errors.New("control: nil shard map")
	}
	body, err := shardmap.Marshal(m) // validates
	if err != nil {
		return "", fmt.Errorf("control: shard map epoch %d: %w", m.Epoch, err)
	}
	return string(body), nil
}

const erDupEntry = 1062

func isDuplicateKey(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == erDupEntry
}
