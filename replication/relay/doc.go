// Package relay is the core side of the change stream (DESIGN.md, the
// request's path, step 8): it tails the outbox of every keyspace this node
// holds the lease of and streams its changes to the edges subscribed here,
// in the wire format of replication/stream; it records the edges'
// acknowledgements and deletes outbox rows nobody needs any more.
//
// # Who relays what
//
// Exactly one core node relays a keyspace (a shard id, or "global" for the
// catalog) at a time: the holder of its lease in cq_relay_leases
// (sharding/control). Each node runs a lease loop every LeaseTTL/3 over
// the keyspaces of the current topology (ring shards and joining ones) and
// the global one:
//
//   - it renews the leases it holds; one it cannot renew before its local
//     expiry (the start of the last successful renewal + LeaseTTL, which is
//     never later than the database's lease_until) stops being relayed at
//     once — the tailer checks before it publishes each batch;
//   - a keyspace's preferred owner is the alive gossip member whose rank
//     (members sorted by name) is the keyspace's index (keyspaces sorted)
//     modulo the number of members. The preferred owner takes a free or
//     expired lease at once; any other node takes it only once it has been
//     expired for LeaseGrace, which covers a preferred owner that is gone
//     but still listed as alive;
//   - a node holding a keyspace whose preferred owner is another member,
//     alive for at least LeaseTTL, releases it (the lease expires at once)
//     so that the preferred owner takes it on its next round: leases
//     spread over the nodes as they join. A lease taken over through the
//     grace is kept for RebalanceHold first, so that a preferred owner that
//     never takes its keyspaces cannot make it flap.
//
// Lease times are the database's clock (UTC_TIMESTAMP(6)): node clocks do
// not matter. A node that dies stops renewing; its keyspaces are taken
// over within LeaseTTL + LeaseGrace + LeaseTTL/3 (about 5 s by default), or
// about LeaseGrace + LeaseTTL/3 after a graceful Shutdown, which releases
// them. No change is skipped across a hand-over: the new owner starts from
// the outbox and every edge resumes from its own cursor.
//
// # Streams: one per node, each with the keyspaces it owns
//
// Of the ways to serve a keyspace to an edge connected to a node that does
// not own it — every node tailing every outbox, owners forwarding changes
// to the other nodes, or edges subscribing to every node — this package
// does the last: an edge keeps one subscription to each alive core node
// (GET /tunnel/v1/nodes lists them) and each node streams only the
// keyspaces whose lease it holds. Only the owner ever reads an outbox and
// there is no node-to-node hop on the path of a change, which keeps the
// purge latency to one poll and one write. An edge learns which node
// streams a keyspace from the head frames every keyspace gets at least
// every Heartbeat.
//
// A subscription streams the keyspaces the node owned when it began.
// When the node loses one, the subscription stops sending it (another
// node's subscription carries it on). When the node gains one, the
// subscription ends, cleanly: the edge's cursor for that keyspace moved on
// through another node since it subscribed, so only the edge knows where to
// resume. The edge subscribes again at once with its cursors. A keyspace
// the node lost and regained continues from the subscription's own cursor.
//
// # Delivery
//
// Each owned keyspace has a tailer that polls
// SELECT seq, surrogate_keys FROM cq_changes WHERE seq > ? ORDER BY seq
// every PollInterval (10 ms), reading the outbox in sequence order, which
// is commit order without gaps (replication/outbox). It encodes each change
// into its NDJSON frame once and keeps the last BufferSize of them in a
// ring that every subscription reads; it never waits for a subscriber. A
// subscription whose cursor is older than the ring reads the outbox itself
// in batches until it reaches the ring. A gap in what it reads (rows
// deleted by pruning or retention) is a reset frame naming the oldest
// retained sequence. A keyspace whose outbox a subscription cannot read
// is tried again a Heartbeat later while the others go on. A subscriber
// that does not take a batch within WriteTimeout is disconnected and
// resumes from its cursor; there is no per-subscriber queue, so a slow
// edge costs database reads, not memory, and never holds a tailer up.
//
// A change whose surrogate keys do not fit a frame (a key longer than
// replication/stream allows) is sent with the keyspace's key
// (stream.KeyspaceKey) instead, which purges everything the keyspace's
// changes could have touched: never less than the change asked for.
//
// # Acknowledgements and pruning
//
// POST /tunnel/v1/changes/ack stores each edge's cursors in cq_stream_acks.
// Every PruneInterval the owner of a keyspace deletes, in batches of
// PruneBatch in sequence order, the outbox rows that every registered
// region (state active or draining in cq_regions) has acknowledged, and
// rows older than Retention regardless. A region has acknowledged a
// change when every one of its edges that acknowledged within AckWindow
// has: the minimum over the region's recently heard edges, so that an edge
// that falls behind is not reset by its faster neighbours, while an edge
// gone quiet for AckWindow stops holding the region back. A region none of
// whose edges was heard within AckWindow counts with the highest sequence
// any of them acknowledged (0 if none). Deletion is always a prefix of the
// outbox, so "seq > cursor" reads stay gap-free but for the prefix.
// With no region registered at all only Retention deletes. Config.Keep
// lets another reader of an outbox (the resharding workflow's catch-up)
// hold acknowledged rows back; Retention deletes them all the same.
//
// # Trust
//
// Only edges subscribe and acknowledge (tunnel.PeerFrom: an edge
// certificate), and only for themselves: region and edge must be the
// certificate's. The routes are mounted with tunnel.Config.Routes, which
// exempts them from the tunnel's request timeout.
//
// # Lifecycle
//
// New checks the Config; Routes may be mounted at once (before Start a
// node owns nothing). Start runs the lease loop and the pruner. Shutdown
// ends every subscription, stops the tailers and releases the leases; it
// is idempotent. A Relay is safe for concurrent use.
//
// Leases are a hand-written compare-and-set on one table rather than a
// coordination library: the global keyspace is already the one place
// every node agrees on, and the lease needs nothing beyond one UPDATE.
package relay
