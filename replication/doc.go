// Package replication carries every committed change from the shards' outbox
// tables to every edge, and moves users between shards online when shards are
// added or removed (DESIGN.md, step 8 and Resharding).
//
// The relay and the resharding workflow arrive with a later issue; this
// package marks their place in the layout.
package replication
