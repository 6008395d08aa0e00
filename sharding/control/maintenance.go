package control

// This file is the maintenance lock: a named lock of the global keyspace
// (MariaDB's GET_LOCK, held by one connection) that separates work which
// must not overlap across core nodes. A reshard takes it while it records
// a new workflow; the shards' housekeeping (expiring idempotency keys)
// takes it while it deletes, and deletes nothing while a workflow runs. So
// housekeeping never deletes rows a reshard is copying and verifying.
//
// The lock lives as long as its connection: a node that dies or loses the
// connection drops it. A holder that vanishes without closing it (power
// lost, partitioned) is dropped by the database after lockIdleTimeout of
// silence: the session's wait_timeout, which the holder's keep-alive pings
// reset. Held says whether the connection still holds the lock, so a long
// task can stop once it no longer does.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaintenanceLockName names the lock.
const MaintenanceLockName = "cangqiong.maintenance"

// Keep-alive of a held lock's session.
const (
	lockIdleTimeout = 60 * time.Second
	lockPing        = 15 * time.Second
)

// Statements of the maintenance lock.
const (
	lockSessionSQL = "SET SESSION wait_timeout = ?"
	getLockSQL     = "SELECT GET_LOCK(?, ?)"
	isMineLockSQL  = "SELECT IS_USED_LOCK(?) = CONNECTION_ID()"
	releaseLockSQL = "SELECT RELEASE_LOCK(?)"
)

// MaintenanceStatements lists the statements, for tests.
var MaintenanceStatements = []string{lockSessionSQL, getLockSQL, isMineLockSQL, releaseLockSQL}

// ErrLockLost: the connection holding the lock no longer does (it broke,
// or the database restarted).
var ErrLockLost = errors.New("control: maintenance lock lost")

// Lock is the maintenance lock held on one connection.
type Lock struct {
	mu   sync.Mutex // one statement at a time on conn
	conn *sql.Conn
	stop chan struct{}
	done chan struct{}
}

// AcquireMaintenance takes the maintenance lock, waiting up to wait
// (rounded up to whole seconds by the database; 0: not at all). ok is
// false when another connection holds it all that time.
func AcquireMaintenance(ctx context.Context, db *sql.DB, wait time.Duration) (l *Lock, ok bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	if _, err := conn.ExecContext(ctx, lockSessionSQL, int64(lockIdleTimeout/time.Second)); err != nil {
		discard(conn)
		return nil, false, fmt.Errorf("control: take the maintenance lock: %w", err)
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, getLockSQL, MaintenanceLockName, secs).Scan(&got); err != nil {
		discard(conn)
		return nil, false, fmt.Errorf("control: take the maintenance lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		discard(conn)
		return nil, false, nil
	}
	lk := &Lock{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
	go lk.keepAlive()
	return lk, true, nil
}

// keepAlive pings the session so that the database keeps it (and the
// lock) while the holder lives.
func (l *Lock) keepAlive() {
	defer close(l.done)
	t := time.NewTicker(lockPing)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), lockPing)
		l.mu.Lock()
		l.conn.PingContext(ctx) // a failure shows in Held
		l.mu.Unlock()
		cancel()
	}
}

// Held returns nil while the lock's connection still holds it, else
// ErrLockLost (or the error of asking).
func (l *Lock) Held(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var mine sql.NullBool
	if err := l.conn.QueryRowContext(ctx, isMineLockSQL, MaintenanceLockName).Scan(&mine); err != nil {
		return fmt.Errorf("%w: %v", ErrLockLost, err)
	}
	if !mine.Valid || !mine.Bool {
		return ErrLockLost
	}
	return nil
}

// Release lets the lock go and closes its connection (the lock goes with
// it if the statement fails).
func (l *Lock) Release() {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.conn.ExecContext(ctx, releaseLockSQL, MaintenanceLockName) // the lock goes with the connection anyway
	discard(l.conn)
}

// discard closes conn for good: its session has a short wait_timeout and
// may still hold the lock, so the pool must not reuse it.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}
