// Package gossip is the core cluster's membership and the spreading of the
// versioned shard map between core nodes (DESIGN.md: "memberlist gossip of
// shard map").
//
// # Model
//
// Each core node runs one Gossip: a hashicorp/memberlist LAN pool whose
// packets and streams are encrypted and authenticated with the cluster's
// key (Config.SecretKey, required). A node's metadata carries its region,
// tunnel and admin addresses and the epoch it serves; Members reports them
// with each member's state (alive, dead, left).
//
// The authoritative shard map lives in the control tables of the global
// keyspace (sharding/control) and changes only by compare-and-set on its
// epoch. Commit performs that compare-and-set through Config.Store and, if
// it wins, pushes the new map to the other members and then serves it
// itself. Every node learns new epochs four ways (see spread.go): a direct
// push from the committing node, epidemic gossip (every node re-broadcasts
// the epoch it starts serving, as one named broadcast so a newer map
// replaces an older one in the queue), memberlist's push/pull state
// exchange (anti-entropy, also on join), and re-reading the store:
// periodically, and soon after hearing of an epoch whose map did not
// arrive.
//
// Once its OnChange returned for an epoch, a node announces that it serves
// it two ways: straight to every other member that has not left (a small
// serving announcement over memberlist's reliable channel, one round
// trip), and in its metadata (spread by gossip rounds and push/pull: it
// covers lost announcements and late joiners). Members reports the higher
// of the two for each member, so a committer learns that the whole
// cluster switched within a round trip of the slowest OnChange rather than
// after several gossip rounds.
//
// # Guarantees
//
//   - A node serves a map from the moment Start returns: the store's, or if
//     the store is unreachable, the one a seed hands over on join.
//   - A node never applies bytes it cannot trust: a map from the network is
//     strictly parsed, validated and compiled first, and a map no newer than
//     the served one is ignored. The served epoch only increases
//     (shardmap.Holder.Advance), and OnChange is called serially in epoch
//     order.
//   - A node announces an epoch only after OnChange returned for it: its
//     metadata and its serving announcements, hence Member.Epoch as any
//     node reports it, never run ahead of what OnChange has done, so a
//     member reported at epoch e has finished switching to e. The map
//     itself may already be gossiped onwards while OnChange runs. What a
//     member announced directly is forgotten when it fails, leaves or
//     rejoins, or its metadata epoch goes back (a restarted process that
//     memberlist did not see fail): a restarted node is reported from its
//     own announcements again.
//   - Topology and Epoch take no locks; Commit, Members and Shutdown are
//     safe for concurrent use; Shutdown is idempotent, and after it
//     Topology keeps returning the last map served.
//   - Members' epochs and states are eventually consistent: a serving
//     announcement usually arrives within a round trip, metadata within a
//     few gossip rounds, and push/pull repairs what both missed.
//
// # Wire format
//
// Messages are a 10-byte header (version 1, kind, big-endian epoch) and,
// for a map, its compact JSON document, for a serving announcement, the
// sender's node name (wire.go). Maps over 1000 bytes are
// gossiped as an epoch-only notice because memberlist's UDP packets are
// 1400 bytes; direct pushes and push/pull run over TCP and carry any size.
// Node metadata is a compact binary record (meta.go) bounded by
// memberlist.MetaMaxSize.
//
// # Pitfalls
//
//   - All nodes must use the same RingOptions and SecretKey.
//   - memberlist does not expose "suspect": a suspect member shows as
//     alive until declared dead.
//   - Every hop pays for a map's size: one freezing 8000 ring ranges is
//     about 400 KB, which decodes in 27 ms on an idle machine but took
//     200–460 ms per node in a loaded, race-enabled reshard test. The
//     committer encodes while the store answers, and a receiver serves on
//     the bytes it decoded rather than encoding them again.
//   - A restarted node should reuse its name and address: memberlist
//     refuses a known name from another address until it forgets the
//     dead node (Config.NodeName).
//
// memberlist does the membership, failure detection and transport; this
// package adds only what is Cangqiong's own: which map to serve and how it
// travels.
package gossip
