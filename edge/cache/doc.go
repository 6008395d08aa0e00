// Package cache is the edge's two cache levels: an in-process L1 and the
// region's Redis as L2, with purges by surrogate key that reach both levels
// on every edge of the region, and a Group that collapses concurrent misses
// into one upstream request (DESIGN.md, the request's path, step 3).
//
// It stores any Item (the edge stores *httpcache.Entry) under a 64-bit hash
// of its key; Get compares the full key on every hit, so a collision is a
// miss. HTTP semantics (freshness, Vary, what may be stored) are the caller's;
// this package keeps, finds and forgets items.
//
// # Levels
//
// L1 is otter (maypok86/otter/v2), bounded by the items' Weight plus 128
// bytes each, expiring each item after its TTL. An L1 hit takes no lock of
// this package and does not allocate. L2 is Redis through any
// redis.UniversalClient: a plain client, or Redis Cluster by configuration
// (RedisOptions). An L2 hit fills L1. L2 writes are asynchronous: Set
// queues them (WriteQueue, dropped and counted when full) for WriteWorkers
// goroutines.
//
// Redis can only make a request slower by RedisTimeout (50 ms per operation,
// including waiting for a connection), never fail it: a miss, an error and a
// timeout all look like a miss, and a circuit breaker (sony/gobreaker) opens
// after 5 consecutive failures, so that no Redis call is made for the next
// second; then one probe (a request's, or a PING sent while the breaker is not
// closed) closes it again or reopens it. go-redis reconnects by itself. The
// client must honour context deadlines: New refuses one that would wait its
// 5 s default socket timeouts.
//
// # Data layout in Redis (KeyPrefix "cq:")
//
//	cq:e:<hash, hex>   entry: 0xC1, the item's Mark time (unix ms, 8 bytes BE),
//	                   then MarshalBinary. PX = min(item.TTL, MaxTTL).
//	cq:p:<surrogate>   purge marker: unix ms of the key's latest purge.
//	cq:pall            marker of a purge of everything.
//	                   Markers live MaxTTL + MaxWriteDelay + ClockSkew + 1m.
//	cq:purge           Pub/Sub channel of purges: JSON {from, at, keys, all}.
//
// Every command touches one key (markers are set by a one-key Lua script that
// keeps the later time), so the layout works unchanged on a cluster.
//
// # Purges
//
// A purge does not look for entries in L2; it writes a marker per surrogate
// key. An L2 entry is valid only if it was stored under a Mark taken at least
// ClockSkew after the latest marker of each of its keys (and of cq:pall):
// after reading an entry, Get reads its keys' markers in one pipelined round
// trip. This generation scheme was chosen over Redis sets of hashes per key
// because:
//
//   - a purge costs one small write per key, however many entries carry it
//     (shop:12 may be on thousands);
//   - there is no index to keep bounded or to lose races on: with several
//     edges writing and purging one Redis, "add to the index" and "take the
//     index" would have to be ordered across cluster slots; a marker is one
//     key, and the comparison happens at read time;
//   - an asynchronous L2 write that lands after a purge (queued on another
//     edge, say) is harmless: it carries the time its item was fetched,
//     which precedes the marker.
//
// The cost is the second round trip of an L2 hit, and purged entries occupy
// Redis until their TTL (their next Set overwrites them). Markers outlive
// every entry they can invalidate, so Redis should evict with volatile-ttl
// (or not at all): entries expire first, markers last. ClockSkew bounds how
// far the region's edge clocks may disagree.
//
// L1 purges use a reverse index (surrogate key → hashes), bounded by L1: an
// entry's hashes leave it when otter deletes the entry. Other edges' L1s hear
// of a purge on the channel (a Store ignores its own messages). A Store that
// resubscribes after losing the channel empties its L1, since purges sent
// meanwhile are lost to it.
//
// Correctness of a Set racing a purge: Sets, L2 fills and L1 purges are
// ordered by one mutex (Gets do not take it), and each purge is numbered.
// Mark, taken before asking the origin or L2, records the last number;
// SetIfUnpurged refuses an item if one of its keys was purged after its Mark.
// So a purge that began after a Set returned removes that item, and an item
// fetched before a purge is not stored after it: on this edge, as soon as the
// purge returns; on another edge, as soon as it received the message (and at
// once in L2, which checks markers). A purge writes its markers before it
// purges L1, so that a Get missing L1 meanwhile finds L2 already purged. The
// history of purge numbers is bounded (PurgeLogSize keys); a Mark older than
// what it remembers is refused.
//
// If Redis cannot be reached, PurgeKeys still purges L1, returns the error,
// and keeps the L2 part pending: this edge treats L2 entries of pending keys
// as purged, and replays markers and message every ReplayInterval until
// Redis answers (each with its original time). More than MaxPendingPurges
// pending keys become one pending purge of everything, logged at Warn: when
// Redis answers, all of L2 under KeyPrefix is invalidated and every edge
// empties its L1.
//
// # Coalescing
//
// Group wraps x/sync/singleflight so that callers may leave on their own
// deadline: the call runs on a goroutine of its own, with a context detached
// from its first caller's cancellation and bounded by Group.Timeout, and a
// panic becomes a *PanicError for every caller.
//
// # What is hand-written, and why
//
// The reverse index, the purge numbering and the markers: no cache library
// offers purges by tag that stay correct against concurrent writers on
// several machines, and that is this package's own idea. Bounded caching,
// Redis, the breaker and singleflight are libraries.
//
// A Store and a Group are safe for concurrent use. Close a Store when done;
// Close is idempotent and does not close the Redis client.
package cache
