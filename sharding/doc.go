// Package sharding groups the data layer: the consistent-hash ring
// (sharding/ring), the versioned shard map (sharding/shardmap), the SQL router
// that parses statements with TiDB's parser and plans where they run
// (sharding/router), the executor that runs plans on per-shard connection
// pools (sharding/exec), the takeout schema and its migrations
// (sharding/schema), app-generated ids (sharding/ids) and the private MariaDB
// servers used by tests and the local deployment (sharding/shardserver).
package sharding
