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
}
