package control

// This file is the relay leases: which core node relays a keyspace's outbox
// (replication/relay). A lease is a row of cq_relay_leases naming its owner
// and the instant it expires, lease_until.
//
// Every instant is the database's own, UTC_TIMESTAMP(6), both when a lease
// is written and when it is compared: node clocks may disagree by seconds,
// but they all read the one clock of the global keyspace. The caller turns
// a lease into local time conservatively: it started the statement before
// the database read its clock, so "start + ttl" is never later than the
// stored lease_until (up to clock rate drift, which is tiny).
//
// Every change increments version, which Acquire and Renew return through
// LAST_INSERT_ID(version + 1) (no read after the write). A single-row UPDATE
// whose WHERE clause names the expected owner and version, or an expired
// lease, is atomic in InnoDB and TiDB: of several nodes reaching for one
// keyspace exactly one gets it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrLeaseHeld: Acquire found the keyspace held by another owner
	// whose lease has not expired (plus the grace the caller asked for).
	ErrLeaseHeld = errors.New("control: relay lease held by another owner")
	// ErrLeaseLost: Renew or Release found the lease changed since the
	// caller got it (taken over, or released).
	ErrLeaseLost = errors.New("control: relay lease lost")
)

// MaxLeaseName bounds a keyspace and an owner name: the columns' width.
const MaxLeaseName = 64

// Statements of the lease store. released is lease_until of a released
// lease; it is the epoch, so that a released lease is expired for anyone.
const (
	selectLeasesSQL = "SELECT keyspace, owner, lease_until, version, TIMESTAMPDIFF(MICROSECOND, lease_until, UTC_TIMESTAMP(6)) FROM cq_relay_leases ORDER BY keyspace"
	insertLeaseSQL  = "INSERT INTO cq_relay_leases (keyspace, owner, lease_until, version) VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, 1)"
	takeLeaseSQL    = "UPDATE cq_relay_leases SET owner = ?, lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, version = LAST_INSERT_ID(version + 1) " +
		"WHERE keyspace = ? AND (owner = ? OR lease_until < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)"
	renewLeaseSQL = "UPDATE cq_relay_leases SET lease_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, version = LAST_INSERT_ID(version + 1) " +
		"WHERE keyspace = ? AND owner = ? AND version = ?"
	releaseLeaseSQL = "UPDATE cq_relay_leases SET owner = '', lease_until = UTC_TIMESTAMP(6), version = version + 1 WHERE keyspace = ? AND owner = ? AND version = ?"
)

// Lease is one keyspace's relay lease.
type Lease struct {
	Keyspace string
	// Owner is the core node that holds or last held the lease; "" once
	// released.
	Owner string
	// Until is when the lease expires, on the database's clock (UTC).
	Until time.Time
	// Version increases with every acquisition, renewal and release.
	Version uint64
	// ExpiredFor is how long ago Until passed, on the database's clock
	// when List read it; negative while the lease runs.
	ExpiredFor time.Duration
}

// Live reports whether the lease had an owner and had not expired when it
// was read.
func (l Lease) Live() bool { return l.Owner != "" && l.ExpiredFor < 0 }

// LeaseStore reads and changes relay leases in the global keyspace. It is
// safe for concurrent use, also by several processes.
type LeaseStore struct {
	db RegionDB
}

// NewLeaseStore returns a store over a pool of the global keyspace. The
// caller keeps owning db.
func NewLeaseStore(db RegionDB) *LeaseStore { return &LeaseStore{db: db} }

// List returns every lease ever written, by keyspace.
func (s *LeaseStore) List(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, selectLeasesSQL)
	if err != nil {
		return nil, fmt.Errorf("control: list relay leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var micros int64
		if err := rows.Scan(&l.Keyspace, &l.Owner, &l.Until, &l.Version, &micros); err != nil {
			return nil, fmt.Errorf("control: read relay lease: %w", err)
		}
		l.ExpiredFor = time.Duration(micros) * time.Microsecond
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("control: list relay leases: %w", err)
	}
	return out, nil
}

// Acquire makes owner the holder of keyspace's lease for ttl, if the lease
// is free: never written, released, expired at least grace ago, or already
// owner's. It returns the lease's new version, or an error matching
// ErrLeaseHeld. The lease expires ttl after the database executed the
// statement.
func (s *LeaseStore) Acquire(ctx context.Context, keyspace, owner string, ttl, grace time.Duration) (uint64, error) {
	if err := checkLeaseNames(keyspace, owner); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, takeLeaseSQL, owner, ttl.Microseconds(), keyspace, owner, grace.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("control: acquire relay lease %q: %w", keyspace, err)
	}
	if v, ok, err := changedVersion(res); err != nil || ok {
		return v, err
	}
	// No row changed: the lease is held, or it was never written.
	_, err = s.db.ExecContext(ctx, insertLeaseSQL, keyspace, owner, ttl.Microseconds())
	switch {
	case isDuplicateKey(err):
		return 0, fmt.Errorf("%w: %q", ErrLeaseHeld, keyspace)
	case err != nil:
		return 0, fmt.Errorf("control: acquire relay lease %q: %w", keyspace, err)
	}
	return 1, nil
}

// Renew extends owner's lease of keyspace at version by ttl from now and
// returns its new version; a lease changed since (taken over after it
// expired, or released) returns an error matching ErrLeaseLost.
func (s *LeaseStore) Renew(ctx context.Context, keyspace, owner string, version uint64, ttl time.Duration) (uint64, error) {
	res, err := s.db.ExecContext(ctx, renewLeaseSQL, ttl.Microseconds(), keyspace, owner, version)
	if err != nil {
		return 0, fmt.Errorf("control: renew relay lease %q: %w", keyspace, err)
	}
	v, ok, err := changedVersion(res)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %q (version %d of %s)", ErrLeaseLost, keyspace, version, owner)
	}
	return v, err
}

// Release gives up owner's lease of keyspace at version: it expires at
// once, so the next owner need not wait for its ttl. A lease changed since
// returns an error matching ErrLeaseLost.
func (s *LeaseStore) Release(ctx context.Context, keyspace, owner string, version uint64) error {
	res, err := s.db.ExecContext(ctx, releaseLeaseSQL, keyspace, owner, version)
	if err != nil {
		return fmt.Errorf("control: release relay lease %q: %w", keyspace, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("control: release relay lease %q: %w", keyspace, err)
	}
	if n != 1 {
		return fmt.Errorf("%w: %q (version %d of %s)", ErrLeaseLost, keyspace, version, owner)
	}
	return nil
}

// changedVersion reads the version an UPDATE … LAST_INSERT_ID(version + 1)
// set, if it changed a row. Every such UPDATE changes lease_until or owner
// as well as version, so "rows affected" counts the matched row whatever
// the driver's found-rows setting.
func changedVersion(res sql.Result) (uint64, bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("control: relay lease: rows affected: %w", err)
	}
	if n != 1 {
		return 0, false, nil
	}
	v, err := res.LastInsertId()
	if err != nil {
		return 0, false, fmt.Errorf("control: relay lease: version: %w", err)
	}
	return uint64(v), true, nil
}

func checkLeaseNames(keyspace, owner string) error {
	if keyspace == "" || owner == "" || len(keyspace) > MaxLeaseName || len(owner) > MaxLeaseName {
		return fmt.Errorf("control: relay lease: keyspace %q and owner %q must be 1-%d bytes", keyspace, owner, MaxLeaseName)
	}
	return nil
}
