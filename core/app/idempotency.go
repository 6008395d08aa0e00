package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// MaxIdempotencyKeyLen bounds an Idempotency-Key (the column's size).
const MaxIdempotencyKeyLen = 128

// errKeyTaken: another request with the same key committed first.
var errKeyTaken = errors.New("app: idempotency key already used")

// idempotencyKey is the request's Idempotency-Key: 1 to 128 visible ASCII
// characters (400 without one, or with a malformed one).
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get(headerIdemKey)
	if k == "" {
		return "", errorf(http.StatusBadRequest, codeIdemRequired, "send an %s header with this request", headerIdemKey)
	}
	if len(k) > MaxIdempotencyKeyLen {
		return "", errorf(http.StatusBadRequest, codeBadIdemKey, "%s is longer than %d characters", headerIdemKey, MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", errorf(http.StatusBadRequest, codeBadIdemKey, "%s must be visible ASCII characters", headerIdemKey)
		}
	}
	return k, nil
}

// requestHash fingerprints what a keyed request asks for (the operation
// and its decoded input), so a key reused for something else is caught.
// Decoded input, not raw bytes: a retry that re-encodes the same body is
// the same request.
func requestHash(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return h.Sum(nil)
}

// reply is a write's response as stored for replays: status, version,
// Location and the exact body bytes.
type reply struct {
	Status   int             `json:"-"`
	Version  string          `json:"version"`
	Location string          `json:"location,omitempty"`
	Body     json.RawMessage `json:"body"`
}

func newReply(status int, v outbox.Version, location string, body any) (*reply, error) {
	b, err := json.Marshal(body)
	return &reply{Status: status, Version: v.String(), Location: location, Body: b}, err
}

// write sends the reply; replayed marks an answer from the store. A
// failed write means the client is gone: there is no one to tell.
func (rp *reply) write(w http.ResponseWriter, replayed bool) error {
	h := w.Header()
	h.Set(contentTypeHeader, contentTypeJSON)
	h.Set(headerCache, cacheNoStore)
	h.Set(headerVersion, rp.Version)
	if rp.Location != "" {
		h.Set("Location", rp.Location)
	}
	if replayed {
		h.Set(headerIdemReplay, "true")
	}
	w.WriteHeader(rp.Status)
	w.Write(append(rp.Body, '\n'))
	return nil
}

// idempotent runs op at most once per (user, key): its first statement
// claims the key, op writes and appends to the outbox, and its reply is
// stored with the key, all in one shard transaction. When the key was
// claimed by a request that committed (here or on another core node),
// nothing is written and the stored reply comes back instead, with
// replayed set.
func (a *App) idempotent(ctx context.Context, user int64, key string, hash []byte, op func(tx *exec.Tx) (*reply, error)) (rp *reply, replayed bool, err error) {
	err = a.inTx(ctx, func(tx *exec.Tx) error {
		if _, err := tx.Exec(ctx, claimIdemKeySQL, user, key, hash, now()); err != nil {
			if mysqlCode(err) == mysqlDuplicateEntry {
				return errKeyTaken
			}
			return err
		}
		var err error
		if rp, err = op(tx); err != nil {
			return err
		}
		stored, err := json.Marshal(rp)
		if err == nil {
			_, err = tx.Exec(ctx, storeIdemRespSQL, rp.Status, stored, user, key)
		}
		return err
	})
	if errors.Is(err, errKeyTaken) {
		rp, err = a.replay(ctx, user, key, hash)
		return rp, true, err
	}
	return rp, false, err
}

// replay reads the reply stored under (user, key): 422 when the key was
// used for another request.
func (a *App) replay(ctx context.Context, user int64, key string, hash []byte) (*reply, error) {
	var stored []byte
	var storedHash []byte
	var status sql.NullInt64
	err := a.exec.QueryRow(ctx, selectIdemKeySQL, user, key).Scan(&storedHash, &status, &stored)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && !status.Valid:
		// Not reachable with the one-transaction claim; kept safe anyway.
		return nil, errorf(http.StatusConflict, codeIdemInProgress, "a request with this %s is in progress; retry shortly", headerIdemKey)
	case err != nil:
		return nil, err
	case !bytes.Equal(storedHash, hash):
		return nil, keyReused()
	}
	rp := &reply{Status: int(status.Int64)}
	if err := json.Unmarshal(stored, rp); err != nil {
		return nil, fmt.Errorf("app: stored reply of idempotency key: %w", err)
	}
	return rp, nil
}

func keyReused() *httpapi.Error {
	return errorf(http.StatusUnprocessableEntity, codeIdemReused, "this %s was used for a different request", headerIdemKey)
}
