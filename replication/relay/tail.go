package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// outboxSQL are the statements on one kind of outbox: a shard's
// (cq_changes, cq_change_seq) or the global keyspace's.
type outboxSQL struct {
	changes string // the changes after a sequence, in order
	head    string // the last committed sequence (the counter)
	oldest  string // the oldest retained sequence (NULL: none retained)
	aged    string // the first rows and when they were written
	prune   string // delete a prefix, a batch at a time
}

var (
	shardSQL = outboxSQL{
		changes: "SELECT seq, surrogate_keys FROM cq_changes WHERE seq > ? ORDER BY seq LIMIT ?",
		head:    "SELECT seq FROM cq_change_seq WHERE singleton = 1",
		oldest:  "SELECT MIN(seq) FROM cq_changes",
		aged:    "SELECT seq, created_at FROM cq_changes ORDER BY seq LIMIT ?",
		prune:   "DELETE FROM cq_changes WHERE seq <= ? ORDER BY seq LIMIT ?",
	}
	globalSQL = outboxSQL{
		changes: "SELECT seq, surrogate_keys FROM cq_global_changes WHERE seq > ? ORDER BY seq LIMIT ?",
		head:    "SELECT seq FROM cq_global_seq WHERE singleton = 1",
		oldest:  "SELECT MIN(seq) FROM cq_global_changes",
		aged:    "SELECT seq, created_at FROM cq_global_changes ORDER BY seq LIMIT ?",
		prune:   "DELETE FROM cq_global_changes WHERE seq <= ? ORDER BY seq LIMIT ?",
	}
)

func statementsFor(ks string) *outboxSQL {
	if ks == exec.GlobalTarget {
		return &globalSQL
	}
	return &shardSQL
}

// pool is the connection pool of a keyspace, looked up at each use: the
// executor replaces pools when the topology changes.
func (r *Relay) pool(ks string) (*sql.DB, error) {
	if ks == exec.GlobalTarget {
		return r.cfg.Exec.Global(), nil
	}
	return r.cfg.Exec.Shard(ks)
}

// encodeChange is a change's frame. Keys that do not fit a frame become
// the keyspace's key, which purges more, never less.
func encodeChange(ks string, seq uint64, keys string) []byte {
	f := stream.Frame{Type: stream.TypeChange, Keyspace: ks, Seq: seq, Keys: strings.Fields(keys)}
	line, err := stream.AppendFrame(nil, &f)
	if err != nil {
		f.Keys = []string{stream.KeyspaceKey(ks)}
		line, _ = stream.AppendFrame(nil, &f) // ks is relayable (see relayable)
	}
	return line
}

// relayable reports whether a keyspace's name fits the wire contract.
func relayable(ks string) bool {
	_, err := stream.AppendFrame(nil, &stream.Frame{Type: stream.TypeHead, Keyspace: ks})
	return err == nil
}

// readChanges reads up to limit changes after cursor from a keyspace's
// outbox, encoded.
func (r *Relay) readChanges(ctx context.Context, ks string, cursor uint64, limit int, dst []change) ([]change, error) {
	db, err := r.pool(ks)
	if err != nil {
		return dst, err
	}
	rows, err := db.QueryContext(ctx, statementsFor(ks).changes, cursor, limit)
	if err != nil {
		return dst, fmt.Errorf("relay: read the outbox of %s: %w", ks, err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq uint64
		var keys string
		if err := rows.Scan(&seq, &keys); err != nil {
			return dst, fmt.Errorf("relay: read the outbox of %s: %w", ks, err)
		}
		dst = append(dst, change{seq: seq, line: encodeChange(ks, seq, keys)})
	}
	if err := rows.Err(); err != nil {
		return dst, fmt.Errorf("relay: read the outbox of %s: %w", ks, err)
	}
	return dst, nil
}

// bounds reads a keyspace's last committed sequence and its oldest
// retained one (head+1 when none is retained).
func (r *Relay) bounds(ctx context.Context, ks string) (head, oldest uint64, err error) {
	db, err := r.pool(ks)
	if err != nil {
		return 0, 0, err
	}
	q := statementsFor(ks)
	if err := db.QueryRowContext(ctx, q.head).Scan(&head); err != nil {
		return 0, 0, fmt.Errorf("relay: read the sequence of %s: %w", ks, err)
	}
	var first sql.NullInt64
	if err := db.QueryRowContext(ctx, q.oldest).Scan(&first); err != nil {
		return 0, 0, fmt.Errorf("relay: read the oldest change of %s: %w", ks, err)
	}
	if !first.Valid {
		return head, head + 1, nil
	}
	return head, uint64(first.Int64), nil
}

// errLeaseExpired ends a tailer whose lease ran out before a renewal.
var errLeaseExpired = errors.New("relay: lease expired before it was renewed")

// tail relays one owned keyspace until ctx ends or the lease expires: it
// opens the keyspace's feed at its current head, publishes it, and polls
// the outbox into it.
func (r *Relay) tail(ctx context.Context, l *lease) error {
	f, err := r.openFeed(ctx, l)
	if err != nil {
		return err
	}
	r.hub.set(f, true)
	defer r.hub.set(f, false)
	var batch []change
	var warned time.Time // warnings at most once a second, not once a poll
	for {
		if !l.valid(time.Now()) {
			return errLeaseExpired
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.LeaseTTL)
		batch, err = r.readChanges(pctx, l.ks, f.head, r.cfg.PollBatch, batch[:0])
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if time.Since(warned) >= time.Second {
				r.log.Warn("cannot read an outbox", "keyspace", l.ks, "err", err)
				warned = time.Now()
			}
		case !l.valid(time.Now()):
			return errLeaseExpired // what was read goes to the next owner
		case len(batch) > 0:
			f.append(batch)
			r.hub.notify()
		default:
			f.polledNow()
		}
		if len(batch) == r.cfg.PollBatch && err == nil {
			continue // more is waiting
		}
		if !sleep(ctx, r.cfg.PollInterval) {
			return nil
		}
	}
}

// openFeed reads the keyspace's bounds, retrying until it can or the lease
// ends.
func (r *Relay) openFeed(ctx context.Context, l *lease) (*feed, error) {
	for {
		if !l.valid(time.Now()) {
			return nil, errLeaseExpired
		}
		bctx, cancel := context.WithTimeout(ctx, r.cfg.LeaseTTL)
		head, oldest, err := r.bounds(bctx, l.ks)
		cancel()
		if err == nil {
			return newFeed(l.ks, r.cfg.BufferSize, head, oldest), nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.log.Warn("cannot open an outbox", "keyspace", l.ks, "err", err)
		if !sleep(ctx, r.cfg.LeaseTTL/3) {
			return nil, ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
