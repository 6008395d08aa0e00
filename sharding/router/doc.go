// Package router decides where a SQL statement runs. It parses the statement
// with TiDB's parser (github.com/pingcap/tidb/pkg/parser), finds the tables
// and the shard-key conditions, and builds a Plan: plain data, printable as
// JSON, that says how to route the statement for any arguments. Route then
// resolves a Plan against the placeholder arguments and a Topology into a
// Route: the shard or shards to run on, the text and arguments for each, and
// how to merge their rows.
//
// Parse, plan and execute are kept apart (as Vitess keeps planbuilder and
// engine apart): this package never touches a connection; sharding/exec runs
// Routes.
//
// # Plans
//
//   - keyed: the statement pins the shard key with = (or <=>) or IN, or an
//     INSERT names the key for every row. It resolves to one shard, or, for a
//     SELECT whose IN list spans shards, to a multi-shard route whose IN list
//     is split per shard.
//   - scatter: a SELECT on sharded tables without a key runs on every shard
//     that owns users; rows are merged honouring ORDER BY, LIMIT/OFFSET and
//     COUNT/SUM/MIN/MAX without GROUP BY. When the shard key is one of the
//     result columns, Merge.ShardKey says which (by index, or by name
//     after a wildcard), so the executor can drop rows a shard does not
//     own: the copies a reshard leaves on a user's old shard until its
//     grace period ends. Such a plan with a LIMIT keeps a per-shard
//     rewrite (Route.ShardSQL) to read a shard again with a larger LIMIT.
//     A scatter that does not select the key, and an aggregate one,
//     cannot be checked.
//   - global: every table is global (or there is none).
//   - broadcast: DDL on a sharded (or local) table runs on every shard.
//   - local: a statement on per-shard tables only; it runs on the shard the
//     caller's transaction is pinned to.
//
// # Refusals
//
// What cannot be routed correctly is refused with a typed error rather than
// guessed: a keyless UPDATE or DELETE (ErrNoShardKey), INSERT rows or write
// IN lists that span shards, joins that are not colocated by the shard key,
// or sharded and global tables in one statement (ErrCrossShard), a shard key
// compared with something the router cannot evaluate (ErrBadShardKey), a
// change of a row's shard key (ErrShardKeyChange), a scatter it cannot merge
// (ErrUnsupported), unknown tables (ErrUnknownTable) and text TiDB's parser
// rejects (ErrSyntax).
//
// # Plan cache
//
// Plans are cached by statement text in a bounded LRU, so a cache hit does no
// parsing; plans do not depend on the shard map, only on the VSchema, so a
// new shard-map epoch keeps the cache warm. A Router is safe for concurrent
// use.
package router
