package dbconn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
)

func TestOnMariaDB(t *testing.T) {
	srv := testenv.MariaDB(t, 1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	creds := dbconn.Credentials{} // root, no password

	for range 2 { // the second call finds the database and changes nothing
		if err := dbconn.EnsureDatabase(ctx, srv.Addr(), "cq_test", creds); err != nil {
			t.Fatalf("EnsureDatabase: %v", err)
		}
	}
	db, err := dbconn.Open(srv.Addr(), "cq_test", creds, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Stats().MaxOpenConnections; got != dbconn.DefaultMaxOpen {
		t.Errorf("MaxOpenConnections = %d, want %d", got, dbconn.DefaultMaxOpen)
	}

	t.Run("database", func(t *testing.T) {
		var charset, collation string
		err := db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", "cq_test").Scan(&charset, &collation)
		if err != nil {
			t.Fatal(err)
		}
		if charset != "utf8mb4" || collation != "utf8mb4_bin" {
			t.Errorf("database charset %s collation %s, want utf8mb4 utf8mb4_bin", charset, collation)
		}
	})

	t.Run("session", func(t *testing.T) {
		var tz, coll, name string
		if err := db.QueryRowContext(ctx, "SELECT @@session.time_zone, @@session.collation_connection, DATABASE()").Scan(&tz, &coll, &name); err != nil {
			t.Fatal(err)
		}
		if tz != "+00:00" || coll != "utf8mb4_bin" || name != "cq_test" {
			t.Errorf("session time_zone %q collation %q database %q", tz, coll, name)
		}
		// Binary collation: 'a' sorts after 'B', as in Go.
		var less bool
		if err := db.QueryRowContext(ctx, "SELECT ? < ?", "B", "a").Scan(&less); err != nil || !less {
			t.Errorf("'B' < 'a' = %v, %v; want true under utf8mb4_bin", less, err)
		}
	})

	t.Run("times are UTC", func(t *testing.T) {
		in := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.FixedZone("UTC+8", 8*3600))
		var out time.Time
		if err := db.QueryRowContext(ctx, "SELECT CAST(? AS DATETIME(6))", in).Scan(&out); err != nil {
			t.Fatal(err)
		}
		if !out.Equal(in) || out.Location() != time.UTC {
			t.Errorf("round trip %v → %v", in, out)
		}
	})

	t.Run("statements the package issues", func(t *testing.T) {
		// EnsureDatabase ran CREATE DATABASE above; the driver runs the
		// session SET on every new connection. Run it by hand too.
		if _, err := db.ExecContext(ctx, "SET time_zone = '+00:00'"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad password is not echoed", func(t *testing.T) {
		const secret = "not-the-password-42"
		err := dbconn.EnsureDatabase(ctx, srv.Addr(), "cq_test", dbconn.Credentials{User: "nobody", Password: secret})
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("EnsureDatabase with bad credentials = %v", err)
		}
	})

	t.Run("invalid name", func(t *testing.T) {
		err := dbconn.EnsureDatabase(ctx, srv.Addr(), "x`y", creds)
		if !errors.Is(err, dbconn.ErrInvalidDatabase) {
			t.Errorf("EnsureDatabase(x`y) = %v, want ErrInvalidDatabase", err)
		}
		if _, err := dbconn.Open(srv.Addr(), "x y", creds, dbconn.Pool{}); !errors.Is(err, dbconn.ErrInvalidDatabase) {
			t.Errorf("Open(x y) = %v, want ErrInvalidDatabase", err)
		}
	})
}
