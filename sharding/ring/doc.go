// Package ring is the consistent-hash ring that gives every user exactly one
// owning shard.
//
// # Model
//
// Each member (a shard) places Weight×VirtualNodes points on a circle of
// 2^64 positions. A user falls on the circle at Point(userID); the owner is
// the member of the first point at or after that position, wrapping from the
// top back to 0. A point therefore owns the half-open arc (previous point,
// point], which Ranges reports as inclusive [Start, End] ranges.
//
// # Guarantees
//
//   - Determinism: the same members, given in any order, give the same owner
//     for every user on every node and every run. Nothing depends on map
//     iteration order or on random seeds, and two members whose points hash
//     to the same position are ordered by member ID (the smaller ID owns it).
//   - Stability: a member's points depend only on its ID and the replica
//     index, so adding a member moves users only to that member, removing one
//     moves only its own users, and raising a weight only adds points.
//   - The hash functions (Point and the point derivation in New) are a wire
//     contract: every core node must compute the same owners, and data already
//     placed by them would be misrouted if they changed. golden_test.go pins
//     them.
//
// # Concurrency
//
// A *Ring is immutable once New returns and is safe for concurrent use
// without locks. To change the topology build a new Ring and publish it with
// an atomic pointer swap (Holder wraps atomic.Pointer[Ring]); readers that
// loaded the old snapshot finish with it undisturbed.
//
// # Why not a library
//
// The ring is small, on the hot path of every routed statement, and its
// placement is a compatibility contract: a library upgrade that changed its
// hashing or point layout would silently misroute users whose rows already
// sit on a shard. Resharding also needs the exact ranges, and lookups of an
// int64 must not allocate. Owning these ~400 lines lets us pin all of that.
package ring
