package reshard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Statements on cq_reshards (global keyspace, schema migration 6). Lease
// times are the database's clock, as for the relay's leases.
const (
	insertReshardSQL = "INSERT INTO cq_reshards (id, kind, shard, phase, running, owner, lease_until, state, error, started_at, updated_at) " +
		"VALUES (?, ?, ?, ?, 1, ?, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, ?, '', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
	selectReshardCols = "SELECT id, kind, shard, phase, owner, state, error, started_at, updated_at, finished_at, " +
		"TIMESTAMPDIFF(MICROSECOND, lease_until, UTC_TIMESTAMP(6)) FROM cq_reshards"
	selectReshardSQL  = selectReshardCols + " WHERE id = ?"
	selectRunningSQL  = selectReshardCols + " WHERE running = 1"
	selectLatestSQL   = selectReshardCols + " ORDER BY id DESC LIMIT 1"
	claimReshardSQL   = "UPDATE cq_reshards SET owner = ?, lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND WHERE id = ? AND running = 1 AND (owner = ? OR lease_until < UTC_TIMESTAMP(6))"
	renewReshardSQL   = "UPDATE cq_reshards SET lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND WHERE id = ? AND running = 1 AND owner = ?"
	saveReshardSQL    = "UPDATE cq_reshards SET phase = ?, state = ?, error = ?, updated_at = UTC_TIMESTAMP(6), lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND WHERE id = ? AND running = 1 AND owner = ?"
	finishReshardSQL  = "UPDATE cq_reshards SET phase = ?, state = ?, error = ?, running = NULL, owner = '', updated_at = UTC_TIMESTAMP(6), finished_at = UTC_TIMESTAMP(6) WHERE id = ? AND running = 1 AND owner = ?"
	releaseReshardSQL = "UPDATE cq_reshards SET lease_until = UTC_TIMESTAMP(6) WHERE id = ? AND running = 1 AND owner = ?"
	abortReshardSQL   = "UPDATE cq_reshards SET phase = ?, state = ?, updated_at = UTC_TIMESTAMP(6) WHERE id = ? AND running IS NULL AND phase = ?"
)

// errLeaseLost: another node took the workflow over (this one's lease had
// expired); this node must stop working on it at once.
var errLeaseLost = errors.New("reshard: the workflow's lease was lost to another node")

// record is one row of cq_reshards.
type record struct {
	ID       uint64
	Kind     Kind
	Shard    string
	Phase    Phase
	Owner    string
	State    state
	Error    string
	Started  time.Time
	Updated  time.Time
	Finished *time.Time
	// Expired is how long ago the lease ran out (negative: still held).
	Expired time.Duration
}

// store reads and writes workflows in the global keyspace.
type store struct {
	db  *sql.DB
	ttl time.Duration
}

// insert records a new running workflow owned by owner; ErrBusy if one is
// running already.
func (s *store) insert(ctx context.Context, r *record, owner string) error {
	st, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, insertReshardSQL, int64(r.ID), string(r.Kind), r.Shard, string(r.Phase), owner, s.ttl.Microseconds(), string(st))
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		return refusal(ErrBusy, "another workflow has not finished (reshard status shows it)")
	}
	if err != nil {
		return fmt.Errorf("reshard: record the workflow: %w", err)
	}
	return nil
}

func (s *store) get(ctx context.Context, id uint64) (*record, error) {
	return s.one(ctx, selectReshardSQL, int64(id))
}

// running is the workflow not finished, or ErrNotFound.
func (s *store) running(ctx context.Context) (*record, error) {
	return s.one(ctx, selectRunningSQL)
}

// latest is the most recently started workflow, or ErrNotFound.
func (s *store) latest(ctx context.Context) (*record, error) {
	return s.one(ctx, selectLatestSQL)
}

func (s *store) one(ctx context.Context, query string, args ...any) (*record, error) {
	var (
		r        record
		id       int64
		kind     string
		phase    string
		st       string
		errText  sql.NullString
		finished sql.NullTime
		micros   int64
	)
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&id, &kind, &r.Shard, &phase, &r.Owner, &st, &errText, &r.Started, &r.Updated, &finished, &micros)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reshard: read the workflow: %w", err)
	}
	r.ID, r.Kind, r.Phase, r.Error = uint64(id), Kind(kind), Phase(phase), errText.String
	r.Expired = time.Duration(micros) * time.Microsecond
	if finished.Valid {
		t := finished.Time
		r.Finished = &t
	}
	if err := json.Unmarshal([]byte(st), &r.State); err != nil {
		return nil, fmt.Errorf("reshard: workflow %d has a malformed state: %w", r.ID, err)
	}
	return &r, nil
}

// claim makes owner the workflow's holder if it runs and its lease is
// owner's or expired; it reports whether it did.
func (s *store) claim(ctx context.Context, id uint64, owner string) (bool, error) {
	return s.changed(s.db.ExecContext(ctx, claimReshardSQL, owner, s.ttl.Microseconds(), int64(id), owner))
}

// renew extends owner's lease; errLeaseLost if it is no longer owner's.
func (s *store) renew(ctx context.Context, id uint64, owner string) error {
	return s.mustChange(s.db.ExecContext(ctx, renewReshardSQL, s.ttl.Microseconds(), int64(id), owner))
}

// save checkpoints the workflow (and renews the lease).
func (s *store) save(ctx context.Context, r *record, owner string) error {
	st, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	return s.mustChange(s.db.ExecContext(ctx, saveReshardSQL, string(r.Phase), string(st), r.Error, s.ttl.Microseconds(), int64(r.ID), owner))
}

// finish records the final phase and ends the workflow.
func (s *store) finish(ctx context.Context, r *record, owner string) error {
	st, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	return s.mustChange(s.db.ExecContext(ctx, finishReshardSQL, string(r.Phase), string(st), r.Error, int64(r.ID), owner))
}

// aborted records that a failed workflow was rolled back; errLeaseLost
// when it is no longer failed (another abort won).
func (s *store) aborted(ctx context.Context, r *record) error {
	st, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	return s.mustChange(s.db.ExecContext(ctx, abortReshardSQL, string(Aborted), string(st), int64(r.ID), string(Failed)))
}

// abortedAt stores the state of an aborted workflow again (the epoch its
// rollback was committed at).
func (s *store) abortedAt(ctx context.Context, r *record) error {
	st, err := json.Marshal(r.State)
	if err != nil {
		return err
	}
	return s.mustChange(s.db.ExecContext(ctx, abortReshardSQL, string(Aborted), string(st), int64(r.ID), string(Aborted)))
}

// release lets another node take the workflow over at once.
func (s *store) release(ctx context.Context, id uint64, owner string) error {
	_, err := s.db.ExecContext(ctx, releaseReshardSQL, int64(id), owner)
	return err
}

func (s *store) changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("reshard: write the workflow: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reshard: write the workflow: %w", err)
	}
	return n > 0, nil
}

// mustChange turns "no row changed" into errLeaseLost. The driver reports
// rows matched, not changed (clientFoundRows is off, so an UPDATE that
// writes the same values would count 0): every guarded UPDATE here moves
// lease_until or updated_at to the database's current microsecond, so it
// always changes the row it matches.
func (s *store) mustChange(res sql.Result, err error) error {
	ok, err := s.changed(res, err)
	if err == nil && !ok {
		return errLeaseLost
	}
	return err
}
