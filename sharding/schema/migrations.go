package schema

import "strings"

// Kind is the kind of keyspace a migration list builds.
type Kind string

const (
	// Global is the unsharded keyspace: catalog and control tables.
	Global Kind = "global"
	// Shard is every shard: per-user tables and the outbox.
	Shard Kind = "shard"
)

// Migration is one step of a keyspace's schema. Versions start at 1 and
// increase by one; a released migration never changes (add a new one).
// Every statement is idempotent on its own (CREATE … IF NOT EXISTS, ALTER …
// ADD COLUMN IF NOT EXISTS, …) so that a migration cut off half way re-runs
// cleanly.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// tableOptions end every CREATE TABLE: InnoDB, and utf8mb4 with a binary
// collation so that the server orders strings as Go's byte comparison does
// and results merged from several shards in Go keep one order.
const tableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

// Bookkeeping statements Migrate runs on every target besides the
// migrations themselves.
const (
	// cq_schema_migrations is keyspace-local: it records what ran in the
	// database it lives in.
	createMigrationsTableSQL = `CREATE TABLE IF NOT EXISTS cq_schema_migrations (
  version INT UNSIGNED NOT NULL,
  name VARCHAR(64) NOT NULL,
  applied_at DATETIME(6) NOT NULL,
  PRIMARY KEY (version)
)` + tableOptions
	selectMigrationsSQL = "SELECT version, name FROM cq_schema_migrations ORDER BY version"
	insertMigrationSQL  = "INSERT INTO cq_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
	// Concurrent migrators of one database (several nodes starting at
	// once) take turns; the lock goes with the connection.
	getLockSQL     = "SELECT GET_LOCK(?, ?)"
	releaseLockSQL = "SELECT RELEASE_LOCK(?)"
)

// Migrations returns the migrations of a keyspace kind in order, or nil for
// an unknown kind. The slice is a copy; the statements are shared strings.
func Migrations(kind Kind) []Migration {
	var ms []Migration
	switch kind {
	case Global:
		ms = globalMigrations
	case Shard:
		ms = shardMigrations
	default:
		return nil
	}
	out := make([]Migration, len(ms))
	for i, m := range ms {
		m.Statements = append([]string(nil), m.Statements...)
		out[i] = m
	}
	return out
}

// Statements returns every statement Migrate may run on a keyspace of the
// given kind: bookkeeping first, then the migrations in order. Tests parse
// each with TiDB's parser and run each on MariaDB. Statements with
// placeholders take their arguments through client-side interpolation.
func Statements(kind Kind) []string {
	ms := Migrations(kind)
	if ms == nil {
		return nil
	}
	stmts := []string{getLockSQL, releaseLockSQL, createMigrationsTableSQL, selectMigrationsSQL, insertMigrationSQL}
	for _, m := range ms {
		stmts = append(stmts, m.Statements...)
	}
	return stmts
}

// Tables returns the tables a keyspace of the given kind has after
// migrating, cq_schema_migrations included, in creation order.
func Tables(kind Kind) []string {
	ms := Migrations(kind)
	if ms == nil {
		return nil
	}
	names := []string{"cq_schema_migrations"}
	for _, m := range ms {
		for _, s := range m.Statements {
			if rest, ok := strings.CutPrefix(s, "CREATE TABLE IF NOT EXISTS "); ok {
				names = append(names, strings.Fields(rest)[0])
			}
		}
	}
	return names
}
