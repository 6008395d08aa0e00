// Package exec runs routed statements on the shards: one database/sql pool
// per shard (go-sql-driver/mysql) and one for the global keyspace.
//
// An Executor asks sharding/router where a statement runs and then runs it
// there. Single-shard and global statements go straight to their pool and
// their *sql.Rows are handed through. Scatter and multi-shard SELECTs run on
// their shards in parallel under the caller's context (so its deadline
// bounds all of them); their rows are read into memory, bounded by
// Config.MaxMergeRows, and merged as the Route's Merge says: ORDER BY,
// LIMIT/OFFSET, or COUNT/SUM/MIN/MAX. A shard that fails fails the whole
// query with a *ShardError naming it. DDL broadcast runs on every shard,
// joining ones included, and reports every shard that failed.
//
// # Rows a shard does not own
//
// A reshard copies the rows of moving users to their new shard, switches
// the map, and deletes the old copies only after a grace period, so for a
// while some users' rows sit on two shards. Keyed statements reach the
// owner only, and a multi-shard SELECT sends each shard only the keys it
// owns. A scatter whose plan knows the result column of the shard key
// (router.Merge.ShardKey: the key is selected, or comes with a wildcard)
// drops every row whose key the shard it came from does not own in the
// topology the statement was routed with: one ring lookup per row, no
// allocation. It does so before ORDER BY, LIMIT and OFFSET, so each row
// comes back once, from its owner. When the dropped rows leave a shard
// short of the rows its LIMIT asked for, that shard is read again with
// twice the LIMIT until it runs out of rows or enough of its own are in.
// Not checked, and so returned twice during a grace period: the rows of a
// scatter that does not select the key (select it: the shop order listing
// in core/app does), rows whose key is NULL (the outer side of a join),
// and aggregates (COUNT/SUM/MIN/MAX merge per-shard totals, which count
// the copies).
//
// Ordering merged rows compares values in Go: integers, decimals and floats
// by value, times by instant, strings byte by byte. That matches a single
// server because the product's schema uses the utf8mb4_bin collation.
//
// A transaction (Begin) is pinned to the shard (or the global keyspace) of
// its first statement. A later statement that routes anywhere else fails
// with an error wrapping router.ErrCrossShard and the transaction is rolled
// back, so nothing is half-written.
//
// The shard map can change under a running Executor (SetTopology): pools of
// unchanged shards are kept, new ones opened, removed ones closed. Every
// statement and transaction uses one snapshot of the map from start to end.
//
// A reshard's cutover freezes the users it moves (shardmap.Map.Freeze):
// any statement of a transaction, and any write through Exec, that
// involves a frozen user fails with ErrFrozen before it reaches a shard,
// and the transaction is rolled back. The caller holds the request and
// runs it again when Changed reports a newer map. Checking costs nothing
// while the map freezes nobody. Drain waits until every transaction (and
// Exec) begun under an older map has ended, so that a node which switched
// to a freezing map and drained can promise that nothing writes its frozen
// users any more: the reshard then copies their last changes and moves
// them.
//
// An Executor is safe for concurrent use; a Tx is not.
package exec
