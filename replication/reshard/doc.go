// Package reshard runs online resharding workflows (DESIGN.md,
// "Resharding"): adding a shard or removing one while orders keep flowing,
// without losing or duplicating a row. The data mover is its subpackage
// move; this package decides when each step runs, records where it got in
// the control tables, and moves the shard map through its epochs.
//
// # A workflow
//
// Start checks the request against the current map and refuses, before
// anything moves, a shard id that exists (ErrShardExists), an unknown one
// (ErrUnknownShard), removing the last shard (ErrLastShard), a second
// workflow (ErrBusy) and a shard to add that cannot be reached
// (ErrUnreachable). It records the workflow in cq_reshards and runs it:
//
//   - Preparing: a new shard's schema is migrated; the map where it joins
//     (epoch +1; a joining shard is off the ring) or where the removed
//     shard drains is committed. The users that move are those whose owner
//     differs between this map and its Settled() form: shardmap.Diff names
//     their ring ranges, per (from, to) pair.
//   - Copying: per pair, move's copy (fuzzy, batch by batch, checkpointed).
//   - CatchingUp: the users the source outbox shows changed since the copy
//     began are copied again, until every pair is within CutoverLag.
//   - Cutover: a map freezing the moving users (shardmap.Map.Freeze) is
//     committed and gossiped. A core node holds a frozen user's writes
//     (core/app, sharding/exec.ErrFrozen) until a later map lifts the
//     freeze, answering a retryable 503 after its hold bound (2 s by
//     default); it announces the frozen epoch only once its transactions
//     begun under older maps have ended. When every alive node announces
//     it, nothing writes the moving users anywhere; the last changes are
//     copied and the settled map is committed: the new owners serve, the
//     freeze is lifted, the held writes go to the new shard. A node that
//     does not announce within CutoverWait makes the cutover let go (a map
//     without the freeze) and try again after another catch-up.
//   - Verifying: move.Verify compares every moved user's rows, old copy
//     against new, but for users the target wrote since the cutover. A
//     mismatch fails the workflow and keeps the old copies.
//   - Cleanup: after Grace, the old copies are deleted; then Done.
//
// Reads never wait: until the settled map a moving user is read from the
// old shard, which is exact up to the freeze and unchanged during it;
// after it, from the new one.
//
// # Surviving the coordinator
//
// The node running a workflow holds a lease on its row (owner, lease_until
// on the database's clock) and renews it every LeaseTTL/3; every step
// checkpoints its state there (the copy at most every 250 ms). Every node
// looks every PollInterval for a running workflow whose lease expired and
// takes it over: it resumes from the checkpoint, redoing at most the work
// since the last one, which move's steps make harmless (upserts, whole-user
// recopies, idempotent deletes). Map commits are compare-and-set on the
// epoch, and a resumed step that finds its own map already committed goes
// on. A node that loses its lease stops at once: its next checkpoint
// fails.
//
// While a workflow runs, the relay (replication/relay, Config.Keep = Keep)
// keeps the source outbox rows the catch-up has not read; if retention
// deletes them anyway, the pair's copy starts over instead of skipping
// changes.
package reshard
