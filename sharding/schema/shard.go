package schema

// shardMigrations build every shard. Rows are sharded by user_id: every table
// has it, and keys lead with it wherever the access path is one user's rows,
// so a user's rows cluster together and a reshard copies them by range.
var shardMigrations = []Migration{
	{Version: 1, Name: "users", Statements: []string{
		`CREATE TABLE IF NOT EXISTS users (
  user_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(254) NOT NULL,
  phone VARCHAR(32) NOT NULL,
  role VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id)
)` + tableOptions,
		`CREATE TABLE IF NOT EXISTS addresses (
  user_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  label VARCHAR(64) NOT NULL,
  recipient VARCHAR(100) NOT NULL,
  phone VARCHAR(32) NOT NULL,
  line1 VARCHAR(200) NOT NULL,
  line2 VARCHAR(200) NOT NULL,
  city VARCHAR(100) NOT NULL,
  region VARCHAR(100) NOT NULL,
  postal_code VARCHAR(20) NOT NULL,
  country CHAR(2) NOT NULL,
  is_default BOOLEAN NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id, id)
)` + tableOptions,
	}},
	{Version: 2, Name: "carts", Statements: []string{
		`CREATE TABLE IF NOT EXISTS cart_items (
  user_id BIGINT NOT NULL,
  dish_id BIGINT NOT NULL,
  shop_id BIGINT NOT NULL,
  quantity INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id, dish_id)
)` + tableOptions,
	}},
	{Version: 3, Name: "orders", Statements: []string{
		// The delivery address is copied into the order: editing or deleting
		// an address must not change where a past order went.
		`CREATE TABLE IF NOT EXISTS orders (
  user_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  shop_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  total_cents BIGINT NOT NULL,
  address_id BIGINT NOT NULL,
  delivery_recipient VARCHAR(100) NOT NULL,
  delivery_phone VARCHAR(32) NOT NULL,
  delivery_line1 VARCHAR(200) NOT NULL,
  delivery_line2 VARCHAR(200) NOT NULL,
  delivery_city VARCHAR(100) NOT NULL,
  delivery_region VARCHAR(100) NOT NULL,
  delivery_postal_code VARCHAR(20) NOT NULL,
  delivery_country CHAR(2) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id, id),
  KEY idx_orders_user_created (user_id, created_at, id),
  KEY idx_orders_shop_created (shop_id, created_at, id)
)` + tableOptions,
		// name and unit price are copied from the dish at order time.
		`CREATE TABLE IF NOT EXISTS order_items (
  user_id BIGINT NOT NULL,
  order_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  dish_id BIGINT NOT NULL,
  name VARCHAR(200) NOT NULL,
  unit_price_cents BIGINT NOT NULL,
  quantity INT NOT NULL,
  PRIMARY KEY (user_id, order_id, id)
)` + tableOptions,
		// kind is charge or refund; a refund names the order it pays back.
		`CREATE TABLE IF NOT EXISTS payments (
  user_id BIGINT NOT NULL,
  id BIGINT NOT NULL,
  order_id BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  amount_cents BIGINT NOT NULL,
  provider_ref VARCHAR(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id, id),
  KEY idx_payments_order (user_id, order_id, id)
)` + tableOptions,
	}},
	{Version: 4, Name: "idempotency", Statements: []string{
		// A key is claimed before the request runs (response_status NULL)
		// and completed with the response; request_hash (SHA-256 of the
		// request) refuses a reused key with a different request.
		`CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id BIGINT NOT NULL,
  idem_key VARCHAR(128) NOT NULL,
  request_hash BINARY(32) NOT NULL,
  response_status SMALLINT NULL,
  response_body MEDIUMBLOB NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (user_id, idem_key),
  KEY idx_idempotency_created (created_at)
)` + tableOptions,
	}},
	{Version: 5, Name: "outbox", Statements: []string{
		// seq orders a shard's changes; the writer assigns it inside the
		// transaction that commits the change (no AUTO_INCREMENT).
		// surrogate_keys is space-separated, as in the Surrogate-Key header.
		`CREATE TABLE IF NOT EXISTS cq_changes (
  seq BIGINT UNSIGNED NOT NULL,
  user_id BIGINT NOT NULL,
  surrogate_keys VARCHAR(1024) NOT NULL,
  payload JSON NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seq),
  KEY idx_changes_user (user_id, seq)
)` + tableOptions,
	}},
	{Version: 6, Name: "outbox_sequence", Statements: []string{
		// The shard's outbox sequence, one row. A writer bumps it with
		// UPDATE … SET seq = LAST_INSERT_ID(seq + 1) inside the transaction
		// that writes the change: the row lock orders the shard's writers,
		// so sequence order is commit order and a relay reading seq > cursor
		// never skips a change that commits late. A local table: it
		// describes the shard, not a user.
		`CREATE TABLE IF NOT EXISTS cq_change_seq (
  singleton TINYINT UNSIGNED NOT NULL,
  seq BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (singleton)
)` + tableOptions,
		"INSERT IGNORE INTO cq_change_seq (singleton, seq) VALUES (1, 0)",
	}},
	{Version: 7, Name: "write_fence", Statements: []string{
		// The oldest shard-map epoch whose writes the shard still takes.
		// Every write bumps the sequence row with "AND min_epoch <= <the
		// writer's epoch>"; a reshard's cutover raises it on the shards
		// users leave (replication/reshard/move.Fence), which waits for the
		// writers holding the row and refuses every later one of an older
		// map, whatever gossip says about the node that sends it.
		"ALTER TABLE cq_change_seq ADD COLUMN IF NOT EXISTS min_epoch BIGINT UNSIGNED NOT NULL DEFAULT 0",
	}},
}
