// Package schema is the takeout domain's schema: ordered, versioned
// migrations for the two kinds of keyspace, and Migrate, which applies them
// to the global keyspace and every shard of a shard map.
//
// # Keyspaces
//
// The global keyspace (unsharded) holds the catalog — shops, categories,
// dishes — and the control tables cq_shard_map and cq_shard_map_history
// (package control). Every shard holds per-user rows sharded by user_id:
// users, addresses, cart_items, orders, order_items, payments,
// idempotency_keys and the outbox cq_changes. Every shard table has a
// user_id column, and keys lead with it where the access path is one user.
//
// # Conventions
//
//   - Ids are BIGINT made by the application (package ids); nothing uses
//     AUTO_INCREMENT, so rows keep their ids when a reshard moves them.
//   - InnoDB, utf8mb4 with the binary collation utf8mb4_bin on every string
//     column: the server orders strings as Go compares them, so rows merged
//     from several shards in Go come out in the order one server would give.
//   - Money is integer cents (BIGINT); timestamps are DATETIME(6) in UTC,
//     always written by the application (no server-side defaults, which would
//     depend on the session time zone).
//   - No column has a default: every INSERT names every column.
//
// # Migrations
//
// Each database records what ran in its own cq_schema_migrations (version,
// name, applied_at). Every statement is idempotent on its own, so a migration
// cut off half way simply re-runs; a second Migrate applies nothing and
// changes nothing. Concurrent migrators of one database take turns on a
// named server lock (GET_LOCK). A released migration never changes: changes
// are new migrations with new versions, appended to the list.
//
// Every statement, bookkeeping included, is listed by Statements so that
// tests parse each with TiDB's parser and run each on MariaDB.
package schema
