package app

import (
	"context"
	"database/sql"
	"time"
)

// expireIdemKeysSQL deletes one batch of expired idempotency keys. It runs
// on one shard by id (ExpireIdempotencyKeys), never through the router:
// it names no user.
// The order is total, so that a replica applying it by statement deletes
// the same rows.
const expireIdemKeysSQL = "DELETE FROM idempotency_keys WHERE created_at < ? ORDER BY created_at, user_id, idem_key LIMIT ?"

// ExpireIdempotencyKeys deletes from one shard's database the idempotency
// keys, with their stored answers, created more than retention ago, batch
// rows per statement, and returns how many went. It stops early, returning
// what it deleted and the error, when ctx ends or before a batch when
// allowed returns an error (the caller's check that it may still delete).
//
// A request repeated with an expired key is a new request: it creates a
// new order. Keys are deleted only on shards where no reshard copies
// users (the caller's maintenance lock sees to that).
func ExpireIdempotencyKeys(ctx context.Context, db *sql.DB, retention time.Duration, batch int, allowed func(context.Context) error) (int64, error) {
	before := now().Add(-retention)
	var total int64
	for {
		if err := allowed(ctx); err != nil {
			return total, err
		}
		res, err := db.ExecContext(ctx, expireIdemKeysSQL, before, batch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
