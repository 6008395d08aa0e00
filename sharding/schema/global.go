package schema

// globalMigrations build the global keyspace: the catalog every user reads
// (shops, their categories and dishes) and the control tables that hold the
// authoritative shard map (package control).
var globalMigrations = []Migration{
	{Version: 1, Name: "catalog", Statements: []string{
		`CREATE TABLE IF NOT EXISTS shops (
  id BIGINT NOT NULL,
  owner_user_id BIGINT NOT NULL,
  name VARCHAR(200) NOT NULL,
  region VARCHAR(64) NOT NULL,
  is_open BOOLEAN NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_shops_owner (owner_user_id, id),
  KEY idx_shops_region (region, id)
)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS categories (
  id BIGINT NOT NULL,
  shop_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  position INT NOT NULL,
  PRIMARY KEY (id),
  KEY idx_categories_shop (shop_id, position, id)
)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS dishes (
  id BIGINT NOT NULL,
  shop_id BIGINT NOT NULL,
  category_id BIGINT NOT NULL,
  name VARCHAR(200) NOT NULL,
  description VARCHAR(2000) NOT NULL,
  price_cents BIGINT NOT NULL,
  on_sale BOOLEAN NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_dishes_shop_category (shop_id, category_id, id),
  KEY idx_dishes_category (category_id, id)
)` + tableOptions,
	}},
	{Version: 2, Name: "control", Statements: []string{
		// singleton is always 1: the table holds the current map only.
		`CREATE TABLE IF NOT EXISTS cq_shard_map (
  singleton TINYINT UNSIGNED NOT NULL,
  epoch BIGINT UNSIGNED NOT NULL,
  body JSON NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (singleton)
)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS cq_shard_map_history (
  epoch BIGINT UNSIGNED NOT NULL,
  body JSON NOT NULL,
  committed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (epoch)
)` + tableOptions,
	}},
	{Version: 3, Name: "outbox", Statements: []string{
		// The global keyspace's own outbox (catalog changes) and its
		// sequence, kept as the shards keep theirs (see cq_change_seq).
		`CREATE TABLE IF NOT EXISTS cq_global_changes (
  seq BIGINT UNSIGNED NOT NULL,
  surrogate_keys VARCHAR(1024) NOT NULL,
  payload JSON NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seq)
)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS cq_global_seq (
  singleton TINYINT UNSIGNED NOT NULL,
  seq BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (singleton)
)` + tableOptions,
		"INSERT IGNORE INTO cq_global_seq (singleton, seq) VALUES (1, 0)",
	}},
	{Version: 4, Name: "regions", Statements: []string{
		// The registry of edge regions the front door, drills and terraform
		// read and write through the admin API. edges is a JSON array of
		// endpoints; version increases with every change (optimistic
		// concurrency for the admin API).
		`CREATE TABLE IF NOT EXISTS cq_regions (
  name VARCHAR(64) NOT NULL,
  location VARCHAR(128) NOT NULL,
  latitude DOUBLE NOT NULL,
  longitude DOUBLE NOT NULL,
  weight TINYINT UNSIGNED NOT NULL,
  edges JSON NOT NULL,
  state VARCHAR(16) NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (name)
)` + tableOptions,
	}},
	{Version: 5, Name: "relay", Statements: []string{
		// Which core node relays a keyspace's outbox (replication/relay).
		// keyspace is a shard id or "global"; owner is a core node's name,
		// '' once released. lease_until is written and compared with the
		// database's own clock, UTC_TIMESTAMP(6), not the application's:
		// the one clock every node agrees on is what makes a lease safe
		// when node clocks differ. version increases with every change.
		`CREATE TABLE IF NOT EXISTS cq_relay_leases (
  keyspace VARCHAR(64) NOT NULL,
  owner VARCHAR(64) NOT NULL,
  lease_until DATETIME(6) NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (keyspace)
)` + tableOptions,
		// The last change each edge applied, per keyspace: outbox rows
		// every registered region acknowledged may be deleted. The key
		// leads with keyspace: the relay reads one keyspace's rows.
		`CREATE TABLE IF NOT EXISTS cq_stream_acks (
  keyspace VARCHAR(64) NOT NULL,
  region VARCHAR(64) NOT NULL,
  edge VARCHAR(64) NOT NULL,
  acked_seq BIGINT UNSIGNED NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (keyspace, region, edge)
)` + tableOptions,
	}},
	{Version: 6, Name: "reshards", Statements: []string{
		// Online resharding workflows (replication/reshard). running is 1
		// while a workflow is not finished and NULL after: the unique key
		// lets one run at a time (NULLs do not collide). owner holds the
		// workflow while lease_until, on the database's clock, has not
		// passed; another core node takes an expired one over and resumes
		// it from state, the workflow's JSON checkpoint.
		`CREATE TABLE IF NOT EXISTS cq_reshards (
  id BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  shard VARCHAR(64) NOT NULL,
  phase VARCHAR(32) NOT NULL,
  running TINYINT NULL,
  owner VARCHAR(64) NOT NULL,
  lease_until DATETIME(6) NOT NULL,
  state LONGTEXT NOT NULL,
  error TEXT NULL,
  started_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY cq_reshards_running (running)
)` + tableOptions,
	}},
}
