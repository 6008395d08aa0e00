package shardserver_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

func open(t *testing.T, s *shardserver.Server, database string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", s.DSN(database))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestServersAreDistinct(t *testing.T) {
	servers := testenv.MariaDB(t, 3)
	addrs := map[string]bool{}
	for i, s := range servers {
		if addrs[s.Addr()] {
			t.Fatalf("server %d: address %s used twice", i, s.Addr())
		}
		addrs[s.Addr()] = true
		db := open(t, s, "")
		if got := count(t, db, "SELECT 1"); got != 1 {
			t.Fatalf("server %d: SELECT 1 = %d", i, got)
		}
		mustExec(t, db, "CREATE DATABASE cq", "CREATE TABLE cq.t (id BIGINT PRIMARY KEY, name VARCHAR(20))")
	}
	mustExec(t, open(t, servers[0], "cq"), "INSERT INTO t VALUES (1, 'only on 0')")
	for i, want := range []int{1, 0, 0} {
		if got := count(t, open(t, servers[i], "cq"), "SELECT COUNT(*) FROM t"); got != want {
			t.Errorf("server %d holds %d rows, want %d", i, got, want)
		}
	}
}

func TestDSN(t *testing.T) {
	s := testenv.MariaDB(t, 1)[0]
	for _, database := range []string{"", "cq"} {
		cfg, err := mysql.ParseDSN(s.DSN(database))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.User != "root" || cfg.Net != "tcp" || cfg.Addr != s.Addr() || cfg.DBName != database ||
			!cfg.ParseTime || !cfg.InterpolateParams {
			t.Errorf("DSN(%q) = %s", database, s.DSN(database))
		}
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr() = %s, want 127.0.0.1:PORT", s.Addr())
	}
	var charset, collation, tz string
	row := open(t, s, "").QueryRowContext(t.Context(), "SELECT @@character_set_server, @@collation_server, @@time_zone")
	if err := row.Scan(&charset, &collation, &tz); err != nil {
		t.Fatal(err)
	}
	if charset != "utf8mb4" || collation != "utf8mb4_bin" || tz != "+00:00" {
		t.Errorf("server runs %s/%s in %s, want utf8mb4/utf8mb4_bin in +00:00", charset, collation, tz)
	}
}

func TestStopIsIdempotentAndRestartKeepsData(t *testing.T) {
	s := testenv.MariaDB(t, 1)[0]
	addr := s.Addr()
	db := open(t, s, "")
	mustExec(t, db, "CREATE DATABASE cq", "CREATE TABLE cq.t (id BIGINT PRIMARY KEY)", "INSERT INTO cq.t VALUES (1)")
	db.Close()

	ctx := t.Context()
	for i := range 2 {
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("Kill after Stop: %v", err)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	db = open(t, s, "cq")
	if got := count(t, db, "SELECT COUNT(*) FROM t"); got != 1 {
		t.Fatalf("after Stop and Restart: %d rows, want 1", got)
	}

	// A crash loses no committed row.
	mustExec(t, db, "INSERT INTO t VALUES (2)")
	db.Close()
	for i := range 2 {
		if err := s.Kill(); err != nil {
			t.Fatalf("Kill #%d: %v", i+1, err)
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatalf("%s still accepts connections after Kill", addr)
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, open(t, s, "cq"), "SELECT COUNT(*) FROM t"); got != 2 {
		t.Fatalf("after Kill and Restart: %d rows, want 2", got)
	}
	// Restart of a running server stops it first.
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("Restart while running: %v", err)
	}
}

func TestFixedPortInUse(t *testing.T) {
	testenv.Require(t, "mariadbd", shardserver.Available())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := shardserver.Start(t.Context(), shardserver.Options{Dir: t.TempDir(), Port: port})
	if err == nil {
		s.Stop(t.Context())
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("error lacks the server log's reason: %v", err)
	}
}

func TestStartCanceledKillsAndReportsLog(t *testing.T) {
	testenv.MariaDB(t, 1) // the template exists from here on
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s, err := shardserver.Start(ctx, shardserver.Options{Dir: t.TempDir()})
	if err == nil {
		s.Stop(t.Context())
		t.Fatal("Start with a canceled context succeeded")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "tail of") {
		t.Fatalf("want context.Canceled and the log tail, got: %v", err)
	}
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := shardserver.Start(t.Context(), shardserver.Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

// A second Start on the same Dir keeps the data (cangqiong up restarts this
// way). The Dir is deep enough that the Unix socket must live elsewhere.
func TestStartReusesDirData(t *testing.T) {
	testenv.Require(t, "mariadbd", shardserver.Available())
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	start := func() *shardserver.Server {
		s, err := shardserver.Start(t.Context(), shardserver.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()) })
		return s
	}
	s := start()
	mustExec(t, open(t, s, ""), "CREATE DATABASE cq", "CREATE TABLE cq.t (id BIGINT PRIMARY KEY)", "INSERT INTO cq.t VALUES (7)")
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, open(t, start(), "cq"), "SELECT id FROM t"); got != 7 {
		t.Fatalf("second Start on %s: got id %d, want 7", dir, got)
	}
}
