package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// txAttempts bounds how often a transaction chosen as a deadlock victim
// is run again. InnoDB's next-key locks make concurrent inserts of
// neighbouring users' rows (an address count FOR UPDATE locks the gap after
// the user's last row) deadlock now and then under load; a short random
// pause before each new attempt lets one of them through.
const txAttempts = 6

// inTx runs fn in a transaction and commits it. fn's first statement pins
// the transaction (to the user's shard, or the global keyspace); fn should
// end by appending its change to the outbox (change). Any error from fn
// rolls everything back. A deadlock victim is rolled back by the server
// and run again from the start, so fn must not keep state across calls
// other than what it sets on success.
//
// A transaction that touches a user a reshard is cutting over
// (exec.ErrFrozen), or that a shard fenced off because this node's map is
// older than the cutover's (outbox.ErrFenced), wrote nothing; it is held
// until the executor serves a newer map and then run again, for at most Config.HoldTimeout in all,
// after which the request is answered 503 resharding with Retry-After.
func (a *App) inTx(ctx context.Context, fn func(tx *exec.Tx) error) error {
	var held *time.Timer // bounds the whole hold; started by the first refusal
	for {
		changed := a.exec.Changed() // before Begin: a map served meanwhile is not missed
		err := a.retryDeadlocks(ctx, fn)
		if !errors.Is(err, exec.ErrFrozen) && !errors.Is(err, outbox.ErrFenced) {
			return err
		}
		if held == nil {
			held = time.NewTimer(a.holds.timeout)
			defer held.Stop()
			a.holds.held.Add(1)
			a.log.DebugContext(ctx, "holding a write while a reshard cuts over its user", "epoch", a.exec.Topology().Epoch(), "err", err)
		}
		select {
		case <-changed:
		case <-held.C:
			a.holds.refused.Add(1)
			a.log.DebugContext(ctx, "refusing a held write: the reshard's cutover outlasted the hold", "hold", a.holds.timeout)
			return errResharding()
		case <-ctx.Done():
			return fmt.Errorf("app: held while a reshard cuts over: %w", ctx.Err())
		}
	}
}

// retryDeadlocks runs fn in a transaction, again when it is a deadlock
// victim.
func (a *App) retryDeadlocks(ctx context.Context, fn func(tx *exec.Tx) error) error {
	var err error
	for attempt := range txAttempts {
		if err = a.tryTx(ctx, fn); mysqlCode(err) != mysqlDeadlock {
			return err
		}
		a.log.DebugContext(ctx, "deadlock victim; running the transaction again", "err", err)
		pause := time.Duration(1+rand.IntN(5*(attempt+1))) * time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
	}
	return err
}

// holds is how long writes of frozen users wait, and how many did.
type holds struct {
	timeout time.Duration
	held    atomic.Uint64 // requests that waited for a newer map
	refused atomic.Uint64 // of those, answered 503 resharding
}

// HoldStats counts the writes held while a reshard cut over their user.
type HoldStats struct {
	// Held is how many requests waited for a newer shard map.
	Held uint64
	// Refused is how many of them were answered 503 resharding once
	// Config.HoldTimeout had passed.
	Refused uint64
}

// HoldStats reports the holds so far, for metrics and tests.
func (a *App) HoldStats() HoldStats {
	return HoldStats{Held: a.holds.held.Load(), Refused: a.holds.refused.Load()}
}

// tryTx runs fn in one transaction. The transaction is ended whatever
// happens, a panic in fn included: an open one would keep the executor's
// Drain, and with it a reshard's cutover, waiting.
func (a *App) tryTx(ctx context.Context, fn func(tx *exec.Tx) error) error {
	tx, err := a.exec.Begin(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if rb := tx.Rollback(); rb != nil && !errors.Is(rb, sql.ErrTxDone) {
			a.log.WarnContext(ctx, "rollback failed", "err", rb)
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// change appends one change to the outbox of the keyspace tx is pinned to.
// user is 0 for the global keyspace.
func change(ctx context.Context, tx *exec.Tx, user int64, kind string, keys ...string) (outbox.Version, error) {
	return outbox.Append(ctx, tx, outbox.Change{
		UserID:        user,
		SurrogateKeys: keys,
		Payload:       map[string]string{"kind": kind},
	})
}

// now is the time rows are stamped with: UTC, to the microsecond that
// DATETIME(6) keeps, so what a response says is what the row holds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// removed checks the result of a DELETE: notFound when it removed nothing.
func removed(res sql.Result, err, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = notFound
	}
	return err
}
