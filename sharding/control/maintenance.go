package control

// This file is the maintenance lock: a named lock of the global keyspace
// (MariaDB's GET_LOCK, held by one connection) that separates work which
// must not overlap across core nodes. A reshard takes it while it records
// a new workflow; the shards' housekeeping (expiring idempotency keys)
// takes it while it deletes, and deletes nothing while a workflow runs. So
// housekeeping never deletes rows a reshard is copying and verifying.
//
// The lock lives as long as its connection: a node that dies or loses the
// connection drops it. Held says whether the connection still holds it, so
// a long task can stop once it no longer does.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// MaintenanceLockName names the lock.
const MaintenanceLockName = "cangqiong.maintenance"

// Statements of the maintenance lock.
const (
	getLockSQL     = "SELECT GET_LOCK(?, ?)"
	isMineLockSQL  = "SELECT IS_USED_LOCK(?) = CONNECTION_ID()"
	releaseLockSQL = "SELECT RELEASE_LOCK(?)"
)

// MaintenanceStatements lists the statements, for tests.
var MaintenanceStatements = []string{getLockSQL, isMineLockSQL, releaseLockSQL}

// ErrLockLost: the connection holding the lock no longer does (it broke,
// or the database restarted).
var ErrLockLost = errors.New("control: maintenance lock lost")

// Lock is the maintenance lock held on one connection.
type Lock struct {
	conn *sql.Conn
}

// AcquireMaintenance takes the maintenance lock, waiting up to wait
// (rounded up to whole seconds by the database; 0: not at all). ok is
// false when another connection holds it all that time.
func AcquireMaintenance(ctx context.Context, db *sql.DB, wait time.Duration) (l *Lock, ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, getLockSQL, MaintenanceLockName, secs).Scan(&got); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("control: take the maintenance lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return nil, false, nil
	}
	return &Lock{conn: conn}, true, nil
}

// Held returns nil while the lock's connection still holds it, else
// ErrLockLost (or the error of asking).
func (l *Lock) Held(ctx context.Context) error {
	var mine sql.NullBool
	if err := l.conn.QueryRowContext(ctx, isMineLockSQL, MaintenanceLockName).Scan(&mine); err != nil {
		return fmt.Errorf("%w: %v", ErrLockLost, err)
	}
	if !mine.Valid || !mine.Bool {
		return ErrLockLost
	}
	return nil
}

// Release lets the lock go and returns the connection to its pool. The
// lock goes with the connection if the statement fails.
func (l *Lock) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.conn.ExecContext(ctx, releaseLockSQL, MaintenanceLockName); err != nil {
		l.conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse a connection that may hold the lock
	}
	l.conn.Close()
}
