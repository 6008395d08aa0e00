// Package shardmap holds the versioned shard map: which shards exist, where
// they listen, in which state they are and how much of the user keyspace each
// should own. The map is plain data that round-trips through JSON; it is
// gossiped between core nodes and its authoritative copy lives in the control
// tables of the global keyspace.
//
// # Life of a map
//
// Bytes from gossip or the control tables go through Parse, which is strict
// (unknown, duplicate or mis-cased keys and trailing data are rejected) and
// validates. A node accepts a new map only if ValidateSuccessor(current,
// next) passes, i.e. its epoch is higher. Compile turns a map into an
// immutable Topology (the map plus its ring) that request handlers load from
// a Holder without locks; Holder.Advance never moves back to an older epoch.
//
// # Who owns users
//
// Serving and draining shards are on the ring; joining shards are not. A
// joining shard is being filled with copies of the rows that will move to it
// and must not be routed to until the cutover publishes a map where it
// serves. A draining shard keeps answering for its users until the map that
// removes it is published.
//
// # Resharding
//
// Diff(old, new) lists the hash ranges whose owner changes between two maps
// and which shard they leave and join; replication/reshard copies exactly
// those users. A map with Freeze set holds the writes of exactly those
// users (Topology.Frozen) during the reshard's cutover: it is stated as a
// flag, not as ring ranges, because adding one shard to a ring of 8192
// points per shard moves thousands of small ranges, and the map is
// gossiped. Because ring points depend only on a shard's ID and weight,
// adding a shard moves users only to it and removing one moves only its own.
//
// All nodes must compile maps with the same ring.Options, or they disagree
// about owners; the zero Options (ring defaults) is the norm.
package shardmap
