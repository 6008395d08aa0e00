// Package limit polices request rates at the edge (DESIGN.md, the request's
// path, step 2). Its one job: decide, per client IP and per verified user,
// whether one more request may pass, and if not, how long the client should
// wait (the 429's Retry-After).
//
// # Model
//
// Each key has a token bucket (golang.org/x/time/rate): it holds up to Burst
// tokens, refills at Rate per second, and every request takes one. Keys are
// uint64 hashes: [UserKey] of a user id, [IPKey] of a client address. The
// edge applies two limiters ([Rules]): per IP before authentication, so
// forged tokens cost the attacker their own IP's budget before anyone pays
// for an Ed25519 verification, and per user after it, so one account cannot
// exceed its share from many addresses.
//
// IPv6 clients are keyed by their /64: one host usually owns a whole /64 and
// can pick a new address in it for every request, so keying by the full
// address would let it escape its bucket. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) count as the IPv4 address.
//
// # Memory
//
// Buckets live in a bounded cache (github.com/maypok86/otter/v2): at most
// MaxKeys of them, each dropped after Idle without requests. Evictions run
// just behind inserts, so under a flood of new keys the count may pass
// MaxKeys by the cache's write buffer (a few hundred entries) for a moment. A dropped
// bucket would have been full again anyway: the idle time is never shorter
// than a bucket takes to refill (Burst/Rate, plus a second). When the bound
// is reached the cache's W-TinyLFU policy keeps the keys seen most often, so
// a flood of fresh addresses evicts quiet keys rather than the busy ones
// being limited; an evicted key that comes back starts with a full bucket.
// A key costs about 170 bytes (the bucket and the cache's node), so the
// default million keys take about 170 MB at most.
//
// A Limiter is safe for concurrent use. Allow does not allocate once a key's
// bucket exists. Close stops the cache's clean-up goroutine.
package limit
