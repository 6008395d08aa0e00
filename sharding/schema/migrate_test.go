package schema

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newMap returns an epoch-1 map: global keyspace on the first server, one
// shard on each of the others, all in database db.
func newMap(db string, servers ...*shardserver.Server) *shardmap.Map {
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: servers[0].Addr(), Database: db}}
	for i, s := range servers[1:] {
		state := shardmap.Serving
		if i == 1 {
			state = shardmap.Joining // migrated too: every state gets schema
		}
		m.Shards = append(m.Shards, shardmap.Shard{
			ID: "shard-" + string(rune('a'+i)), Address: s.Addr(), Database: db, State: state, Weight: 1,
		})
	}
	return m
}

func openDB(t *testing.T, address, database string) *sql.DB {
	t.Helper()
	db, err := dbconn.Open(address, database, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// showCreate returns SHOW CREATE TABLE of every table of the target's kind.
func showCreate(t *testing.T, target Target) map[string]string {
	t.Helper()
	db := openDB(t, target.Address, target.Database)
	out := map[string]string{}
	for _, table := range Tables(target.Kind) {
		var name, ddl string
		if err := db.QueryRow("SHOW CREATE TABLE "+table).Scan(&name, &ddl); err != nil {
			t.Fatalf("%s: SHOW CREATE TABLE %s: %v", target, table, err)
		}
		out[table] = ddl
	}
	return out
}

func appliedVersions(r TargetReport) []int {
	var vs []int
	for _, a := range r.Applied {
		vs = append(vs, a.Version)
	}
	return vs
}

func allVersions(kind Kind) []int {
	var vs []int
	for _, m := range Migrations(kind) {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	servers := testenv.MariaDB(t, 3)
	ctx := testContext(t)
	m := newMap("cq_twice", servers...)

	r1, err := Migrate(ctx, m, dbconn.Credentials{}, testLogger)
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	if len(r1.Targets) != 3 || r1.Targets[0].Target.Kind != Global || r1.Targets[2].Target.ShardID != "shard-b" {
		t.Fatalf("report targets %+v", r1.Targets)
	}
	before := map[string]map[string]string{}
	for _, tr := range r1.Targets {
		if got, want := appliedVersions(tr), allVersions(tr.Target.Kind); !slices.Equal(got, want) {
			t.Errorf("%s: first run applied %v, want %v", tr.Target, got, want)
		}
		if tr.Version != len(Migrations(tr.Target.Kind)) {
			t.Errorf("%s: version %d", tr.Target, tr.Version)
		}
		before[tr.Target.String()] = showCreate(t, tr.Target)
	}
	if g := r1.Targets[0]; !g.ShardMapCreated || g.ShardMapEpoch != 1 {
		t.Errorf("global: shard map created %v epoch %d, want bootstrapped epoch 1", g.ShardMapCreated, g.ShardMapEpoch)
	}

	// A later map must not overwrite the stored one.
	m2 := *m
	m2.Epoch = 7
	r2, err := Migrate(ctx, &m2, dbconn.Credentials{}, testLogger)
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	for _, tr := range r2.Targets {
		if len(tr.Applied) != 0 {
			t.Errorf("%s: second run applied %v", tr.Target, tr.Applied)
		}
		after := showCreate(t, tr.Target)
		for table, ddl := range before[tr.Target.String()] {
			if after[table] != ddl {
				t.Errorf("%s: %s changed:\n%s\n---\n%s", tr.Target, table, ddl, after[table])
			}
		}
	}
	if g := r2.Targets[0]; g.ShardMapCreated || g.ShardMapEpoch != 1 {
		t.Errorf("global: second run created %v epoch %d, want stored epoch 1 kept", g.ShardMapCreated, g.ShardMapEpoch)
	}
	var rows int
	if err := openDB(t, servers[1].Addr(), "cq_twice").QueryRow("SELECT COUNT(*) FROM cq_schema_migrations").Scan(&rows); err != nil || rows != len(shardMigrations) {
		t.Errorf("shard cq_schema_migrations rows = %d, %v", rows, err)
	}
}

func TestMigrateSchemaOnMariaDB(t *testing.T) {
	servers := testenv.MariaDB(t, 2)
	ctx := testContext(t)
	if _, err := Migrate(ctx, newMap("cq_rules", servers...), dbconn.Credentials{}, testLogger); err != nil {
		t.Fatal(err)
	}
	for _, target := range []Target{
		{Kind: Global, Address: servers[0].Addr(), Database: "cq_rules"},
		{Kind: Shard, Address: servers[1].Addr(), Database: "cq_rules"},
	} {
		db := openDB(t, target.Address, target.Database)
		rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name, engine, coll string
			if err := rows.Scan(&name, &engine, &coll); err != nil {
				t.Fatal(err)
			}
			tables = append(tables, name)
			if engine != "InnoDB" || coll != "utf8mb4_bin" {
				t.Errorf("%s %s: engine %s collation %s", target, name, engine, coll)
			}
		}
		rows.Close()
		if want := slices.Sorted(slices.Values(Tables(target.Kind))); !slices.Equal(slices.Sorted(slices.Values(tables)), want) {
			t.Errorf("%s: tables %v, want %v", target, tables, want)
		}
		var bad []string
		rows, err = db.QueryContext(ctx, `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE, ' ', EXTRA, ' ', COALESCE(COLLATION_NAME, '-'))
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
AND (EXTRA LIKE '%auto_increment%' OR (COLLATION_NAME IS NOT NULL AND COLLATION_NAME <> 'utf8mb4_bin'))`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			bad = append(bad, s)
		}
		rows.Close()
		if len(bad) > 0 {
			t.Errorf("%s: columns breaking the rules: %v", target, bad)
		}
	}
}

// TestEveryStatementRunsOnMariaDB runs every statement Statements lists, in
// order, twice: each must run on MariaDB and the DDL must be idempotent.
func TestEveryStatementRunsOnMariaDB(t *testing.T) {
	srv := testenv.MariaDB(t, 1)[0]
	ctx := testContext(t)
	for _, kind := range kinds {
		database := "cq_stmts_" + string(kind)
		if err := dbconn.EnsureDatabase(ctx, srv.Addr(), database, dbconn.Credentials{}); err != nil {
			t.Fatal(err)
		}
		conn, err := openDB(t, srv.Addr(), database).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for pass := range 2 {
			for _, stmt := range Statements(kind) {
				var args []any
				switch stmt {
				case getLockSQL:
					args = []any{"cq_test_lock", 1}
				case releaseLockSQL:
					args = []any{"cq_test_lock"}
				case insertMigrationSQL:
					args = []any{1000 + pass, "test", time.Now().UTC()}
				}
				if strings.Count(stmt, "?") != len(args) {
					t.Fatalf("no test arguments for %q", stmt)
				}
				rows, err := conn.QueryContext(ctx, stmt, args...)
				if err != nil {
					t.Fatalf("%s pass %d:\n%s\n%v", kind, pass, stmt, err)
				}
				rows.Close()
			}
		}
		conn.Close()
	}
}

// TestMigrationCutOffHalfWay: a migration whose first statement ran but
// which was never recorded re-runs cleanly and ends like a clean run.
func TestMigrationCutOffHalfWay(t *testing.T) {
	srv := testenv.MariaDB(t, 1)[0]
	ctx := testContext(t)
	clean := Target{Kind: Shard, ShardID: "clean", Address: srv.Addr(), Database: "cq_clean"}
	cut := Target{Kind: Shard, ShardID: "cut", Address: srv.Addr(), Database: "cq_cut"}

	// Migrations 1 and 2 recorded, migration 3 cut off after its first
	// statement.
	if err := dbconn.EnsureDatabase(ctx, cut.Address, cut.Database, dbconn.Credentials{}); err != nil {
		t.Fatal(err)
	}
	conn, err := openDB(t, cut.Address, cut.Database).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTableSQL); err != nil {
		t.Fatal(err)
	}
	for _, mig := range shardMigrations[:2] {
		if err := run(ctx, conn, mig); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, shardMigrations[2].Statements[0]); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	for _, target := range []Target{clean, cut} {
		r := migrateTarget(ctx, target, nil, dbconn.Credentials{}, testLogger)
		if r.Err != nil {
			t.Fatalf("%s: %v", target, r.Err)
		}
		var rest []int // the cut migration (3) and every later one
		for v := 3; v <= len(shardMigrations); v++ {
			rest = append(rest, v)
		}
		if target == cut && !slices.Equal(appliedVersions(r), rest) {
			t.Errorf("cut: applied %v, want %v", appliedVersions(r), rest)
		}
	}
	want, got := showCreate(t, clean), showCreate(t, cut)
	for table := range want {
		if got[table] != want[table] {
			t.Errorf("%s differs after the re-run:\n%s\n---\n%s", table, want[table], got[table])
		}
	}
}

func TestUnreachableShardDoesNotStopOthers(t *testing.T) {
	servers := testenv.MariaDB(t, 2)
	ctx := testContext(t)
	m := newMap("cq_partial", servers...)
	dead := closedPort(t)
	m.Shards = append(m.Shards, shardmap.Shard{ID: "shard-dead", Address: dead, State: shardmap.Serving, Weight: 1})

	r, err := Migrate(ctx, m, dbconn.Credentials{}, testLogger)
	if err == nil {
		t.Fatal("Migrate with an unreachable shard returned no error")
	}
	var te *TargetError
	if !errors.As(err, &te) || te.Target.ShardID != "shard-dead" {
		t.Fatalf("error %v is not the dead shard's *TargetError", err)
	}
	for _, want := range []string{"shard-dead", dead} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if failed := r.Failed(); len(failed) != 1 || failed[0].Target.ShardID != "shard-dead" {
		t.Errorf("failed targets %+v", failed)
	}
	for _, tr := range r.Targets[:2] {
		if tr.Err != nil || !slices.Equal(appliedVersions(tr), allVersions(tr.Target.Kind)) {
			t.Errorf("%s: applied %v, err %v; want fully migrated", tr.Target, tr.Applied, tr.Err)
		}
	}
	if d := shardmap.DefaultDatabase; r.Targets[2].Target.Database != d {
		t.Errorf("shard without database got %q, want %q", r.Targets[2].Target.Database, d)
	}
}

// TestConcurrentMigrate: migrators started at once take turns; each
// migration is applied exactly once per target.
func TestConcurrentMigrate(t *testing.T) {
	servers := testenv.MariaDB(t, 2)
	ctx := testContext(t)
	m := newMap("cq_race", servers...)
	const migrators = 4
	reports := make([]*Report, migrators)
	var wg sync.WaitGroup
	for i := range migrators {
		wg.Go(func() {
			r, err := Migrate(ctx, m, dbconn.Credentials{}, testLogger)
			if err != nil {
				t.Errorf("migrator %d: %v", i, err)
			}
			reports[i] = r
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	created := 0
	for ti, target := range Targets(m) {
		var applied []int
		for _, r := range reports {
			applied = append(applied, appliedVersions(r.Targets[ti])...)
			if r.Targets[ti].ShardMapCreated {
				created++
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(applied)), allVersions(target.Kind)) {
			t.Errorf("%s: migrations applied %v across migrators", target, applied)
		}
	}
	if created != 1 {
		t.Errorf("shard map bootstrapped %d times, want once", created)
	}
}

func TestMigrateRefusesBadMaps(t *testing.T) {
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "127.0.0.1:1"}, Shards: []shardmap.Shard{
		{ID: "shard-a", Address: "127.0.0.1:1", Database: shardmap.DefaultDatabase, State: shardmap.Serving, Weight: 1},
	}}
	_, err := Migrate(context.Background(), m, dbconn.Credentials{}, testLogger)
	if err == nil || !strings.Contains(err.Error(), "share one database") {
		t.Errorf("Migrate with global and shard in one database = %v", err)
	}
	if _, err := Migrate(context.Background(), nil, dbconn.Credentials{}, testLogger); err == nil {
		t.Error("Migrate(nil map) succeeded")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
