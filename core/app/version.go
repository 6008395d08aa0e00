package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// Reads carry the version of the data they show, so that an edge can tell
// whether a cached answer already reflects a user's write (read-your-writes:
// a write answers Cq-Version <keyspace>.<seq>; an entry whose version is at
// least that includes it).
//
// The keyspace's outbox sequence is read BEFORE the data: every change
// numbered up to it had committed when it was read, so the data read next
// includes them all. (Read after the data, a change committing in between
// would be claimed but missing.)

// Statements of this file.
const (
	selectShardSeqSQL  = "SELECT seq FROM cq_change_seq WHERE singleton = 1"
	selectGlobalSeqSQL = "SELECT seq FROM cq_global_seq WHERE singleton = 1"
)

// catalogRead stamps a catalog read with the global keyspace's version.
func (a *App) catalogRead(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var seq uint64
		if err := a.exec.QueryRow(r.Context(), selectGlobalSeqSQL).Scan(&seq); err == nil {
			w.Header().Set(headerVersion, outbox.Version{Shard: exec.GlobalTarget, Seq: seq}.String())
		}
		return h(w, r)
	}
}

// userRead stamps a signed-in user's read with the version of their shard.
// The sequence row is per shard (a local table), so it is read from the
// user's shard directly rather than through the router.
func (a *App) userRead(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if id, ok := identity.From(r.Context()); ok {
			if v, ok := a.shardVersion(r.Context(), id.UserID); ok {
				w.Header().Set(headerVersion, v.String())
			}
		}
		return h(w, r)
	}
}

// shardVersion reads the outbox sequence of the shard owning user. A read
// that fails leaves the answer unversioned, which an edge treats as older
// than any write (it goes to the origin instead of trusting the cache).
func (a *App) shardVersion(ctx context.Context, user int64) (outbox.Version, bool) {
	shard := a.exec.Topology().Owner(user)
	db, err := a.exec.Shard(shard)
	if err != nil {
		return outbox.Version{}, false
	}
	var seq uint64
	if err := db.QueryRowContext(ctx, selectShardSeqSQL).Scan(&seq); err != nil {
		a.log.WarnContext(ctx, "reading the shard's version", "shard", shard, "err", err)
		return outbox.Version{}, false
	}
	return outbox.Version{Shard: shard, Seq: seq}, true
}
