// Package replication carries every committed change from the shards' outbox
// tables to every edge, and moves users between shards online when shards are
// added or removed (DESIGN.md, step 8 and Resharding). Its subpackages:
//
//   - outbox: a write's change record, appended in the write's transaction;
//   - stream: the wire contract of the change stream between core and edge;
//   - relay: the core side, tailing each keyspace's outbox on exactly one
//     node and streaming it to the edges;
//   - reshard: the online resharding workflow, and reshard/move, its data
//     mover.
//
// The edge side of the stream is edge/changes.
package replication
