package app

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
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
func (a *App) inTx(ctx context.Context, fn func(tx *exec.Tx) error) error {
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

func (a *App) tryTx(ctx context.Context, fn func(tx *exec.Tx) error) error {
	tx, err := a.exec.Begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		if rb := tx.Rollback(); rb != nil && !errors.Is(rb, sql.ErrTxDone) {
			a.log.WarnContext(ctx, "rollback failed", "err", rb)
		}
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
