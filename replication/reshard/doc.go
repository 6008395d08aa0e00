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
//     began are copied again, round after round, until every pair is
//     within CutoverLag: the source's head, read again after a round, is
//     at most that many changes past what the round caught up. Moving
//     users written all the time can keep a pair above it (each round
//     reads them whole on both sides, and more changes land meanwhile):
//     after 10 s, if the last round of every pair still above it took at
//     most half of CutoverBudget, the cutover begins anyway.
//   - Cutover: a map freezing the moving users (shardmap.Map.Freeze) is
//     committed and gossiped. A core node holds a frozen user's writes
//     (core/app, sharding/exec.ErrFrozen) until a later map lifts the
//     freeze, answering a retryable 503 after its hold bound (2 s by
//     default); it announces the frozen epoch only once its transactions
//     begun under older maps have ended. When every alive node announces
//     it, the source shards are fenced (move.Fence: each refuses writes of
//     maps older than the frozen one, outbox.ErrFenced, once the writes
//     holding its sequence row ended), so that nothing writes the moving
//     users anywhere, also from a node gossip lost track of; the last
//     changes are copied, every pair in parallel, fence and copy under one
//     deadline, CutoverBudget (1 s by default), and the settled map is
//     committed: the new owners serve, the freeze is lifted, the held
//     writes go to the new shard. A cutover that cannot finish is released
//     (below).
//   - Verifying: the users the target's outbox shows written since the
//     cutover (after TargetHead) are read, and move.Verify compares every
//     other moved user's rows, old copy against new; the users written
//     while it ran are read again and their differences dropped. A
//     difference left fails the workflow and keeps the old copies. A
//     Verify stopped at move.MaxMismatches never verifies a pair: it is
//     run once more if every difference it found was a user written
//     meanwhile, and fails the workflow otherwise.
//   - Cleanup: after Grace from the settled commit, and once every alive
//     node announces the settled epoch (waited for at most CutoverWait at
//     a time, then retried), the old copies are deleted; then Done.
//
// Reads never wait: until the settled map a moving user is read from the
// old shard, which is exact up to the freeze and unchanged during it;
// after it, from the new one.
//
// # A released cutover
//
// A cutover that cannot finish lets go of the moving users' writes: a node
// does not announce the frozen epoch within CutoverWait, the last changes
// outlast CutoverBudget (a slow or hung shard included), or a source
// outbox has a gap. The decision is checkpointed first (back to
// CatchingUp, or to Copying for a pair to copy again), then a map without
// the freeze is committed: it keeps the joining/draining shards and
// becomes the workflow's Joined map. Copying, catching up and failing all
// begin by lifting a freeze the workflow left stored, or adopting the map
// that lifted it, so no crash or error in between leaves writes held: a
// workflow ends Failed only once its freeze is lifted (or, if the map was
// changed under it, with an error that says the freeze stays). The next
// cutover waits min(Cutovers × 1 s, 10 s) after the release, catching up
// meanwhile.
//
// # Surviving the coordinator
//
// The process running a workflow holds a lease on its row (owner: the
// node's name and a random tag of the process; lease_until on the
// database's clock) and renews it every LeaseTTL/6, each attempt bounded
// by LeaseTTL/3; every step checkpoints its state there (the copy at most
// every 250 ms). It counts the lease as its own only until LeaseTTL/2
// after the start of its last successful renewal, and stops the run then,
// even while a renewal hangs on the global database: it has stopped before
// any other node can take the lease. Every node looks every PollInterval
// for a running workflow whose lease expired (a restarted node's own
// included) and takes it over: it resumes from the checkpoint, redoing at
// most the work since the last one, which move's steps make harmless
// (upserts, whole-user recopies, idempotent deletes). Map commits are
// compare-and-set on the epoch, and a resumed step that finds its own map
// already committed goes on: the frozen map, the settled one (its
// SettledAt was checkpointed before the commit, so the grace still runs
// from it), or the map that released a cutover, told from the settled one
// by its joining/draining shards. A node that loses its lease stops at
// once: its next checkpoint fails. Status reports the owner's node name.
//
// While a workflow runs, the relay (replication/relay, Config.Keep = Keep)
// keeps the source outbox rows the catch-up has not read, and from the
// end of the cutover until a pair is verified the target's rows after
// TargetHead. If retention deletes a source's rows anyway (a missing
// sequence number, or rows ending below the head the catch-up read), the
// pair's copy starts over instead of skipping changes; a target's, the
// verification fails rather than guess whom the target wrote.
package reshard
