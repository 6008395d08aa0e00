// Package changes is the edge's end of the change stream (DESIGN.md, the
// request's path, step 8): it subscribes to the core's change relay,
// applies every change's purge in order per keyspace, keeps the edge's
// cursor per keyspace, and acknowledges what it applied. The wire format
// is replication/stream's, imported from its owner.
//
// # Subscriptions
//
// Every core node streams the keyspaces whose lease it holds, and a lease
// moves when its node dies; so the Subscriber keeps one subscription to
// each alive core node (Core.Nodes, re-read every Config.NodesInterval),
// each one opened with the edge's current cursors. A node that leaves the
// list loses its subscription; a new one gets one.
//
// A subscription that fails or ends — refused, cut, a malformed frame, a
// purge that failed — is opened again after a pause: a random time in
// [d/2, d], d starting at Config.MinBackoff and doubling up to
// Config.MaxBackoff while attempts deliver nothing; once a subscription
// has delivered a frame, d starts over. A subscription that delivered
// frames and that the node ended cleanly (it began relaying another
// keyspace, and only the edge knows where that one should resume) is
// opened again at once, unless the previous one was too, less than
// Config.MinBackoff before. Each new subscription resumes from the
// cursors as they are then, so nothing is lost in between.
// Malformed input (a line replication/stream.ParseFrame refuses, or one
// longer than stream.MaxFrameBytes) drops that subscription, is logged
// and counted; an empty line is a keep-alive and is skipped.
//
// # Applying
//
// Frames of one keyspace are applied one at a time, whichever subscription
// brings them (during a lease hand-over, two may):
//
//   - change: a sequence at or below the cursor is a duplicate (delivery
//     is at least once) and is skipped. Otherwise Config.Apply purges its
//     surrogate keys and, once it returned nil, the cursor moves to the
//     change's sequence. When Apply fails the cursor stays, the
//     subscription is dropped, and the change comes again on the next one.
//     A sequence past cursor+1 is a gap (the relay promises none): it is
//     handled as a reset, so a lost change can never leave stale data.
//   - head: records the keyspace's newest and oldest retained sequences,
//     for Lag.
//   - reset: the edge's cursor is older than the oldest retained change,
//     so it missed changes (or, rarely, ahead of the outbox: one restored
//     or rebuilt). Config.Reset flushes everything the keyspace could have
//     touched (every cached entry of keyspace ks carries the surrogate key
//     stream.KeyspaceKey(ks)), the cursor moves to oldest-1 — back, in
//     the second case — and the reset is logged (Warn) and counted. A
//     reset that finds the cursor at oldest-1 already is a duplicate.
//
// Cursors move only over changes whose purges were applied, or flushed:
// Applied(ks) = A means every change of ks up to A has been purged here.
// The edge's read-your-writes builds on that.
// Cursors live in memory: an edge that restarts has none, and the relay
// starts it from the oldest retained change of each keyspace; applying
// those again is harmless.
//
// # Acknowledgements
//
// Every Config.AckInterval, if the cursors moved since the last
// acknowledgement that succeeded, they are all sent (POST
// stream.PathAck, through any node); a failed one is sent again on the
// next tick, and Close sends a last one, bounded by Config.AckTimeout.
//
// # Lifecycle
//
// New checks the Config; Start starts the subscriptions; Close stops them
// and is idempotent. A Subscriber is safe for concurrent use.
package changes
