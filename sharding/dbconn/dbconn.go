// Package dbconn is how every part of the product connects to a shard or to
// the global keyspace: one DSN shape (TCP, UTC, parsed times, client-side
// parameter interpolation, binary utf8mb4 collation), one pool shape, and
// the statement that creates a keyspace's database.
//
// Every connection runs with time_zone '+00:00' and collation utf8mb4_bin so
// that timestamps mean UTC everywhere and string comparison on the server
// matches Go's byte order, which is what merging results of several shards
// in Go relies on.
//
// Credentials never appear in a shard map, a log line or an error: they come
// from the node's configuration and Credentials redacts its password when
// formatted or logged.
package dbconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultUser is the user of Credentials with an empty User.
const DefaultUser = "root"

// ConnectTimeout bounds dialing and the MySQL handshake of a new connection.
const ConnectTimeout = 5 * time.Second

// Credentials authenticate to a shard or keyspace. The zero value is root
// with no password.
type Credentials struct {
	User     string // empty: DefaultUser
	Password string // never logged or formatted
}

func (c Credentials) user() string {
	if c.User == "" {
		return DefaultUser
	}
	return c.User
}

// String describes c without its password.
func (c Credentials) String() string {
	if c.Password == "" {
		return c.user() + " (no password)"
	}
	return c.user() + " (password set)"
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return "dbconn.Credentials{" + c.String() + "}" }

// LogValue keeps slog from printing the password.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.user()), slog.Bool("password_set", c.Password != ""))
}

// DSN returns the go-sql-driver/mysql data source name for database on the
// server at address (host:port). An empty database connects to no schema.
// The DSN contains the password: do not log it.
func DSN(address, database string, c Credentials) string {
	return config(address, database, c).FormatDSN()
}

func config(address, database string, c Credentials) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = address
	cfg.DBName = database
	cfg.User = c.user()
	cfg.Passwd = c.Password
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	cfg.Loc = time.UTC
	cfg.Timeout = ConnectTimeout
	cfg.Collation = "utf8mb4_bin"
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	return cfg
}

// Pool sizes a connection pool. Zero fields take the defaults below.
type Pool struct {
	// MaxOpen bounds open connections to one server. Default 32.
	MaxOpen int
	// MaxIdle bounds idle connections kept for reuse. Default 8, and never
	// more than MaxOpen.
	MaxIdle int
	// ConnMaxLifetime retires a connection after this long so that pools
	// follow load balancers and server restarts. Default 5 minutes.
	ConnMaxLifetime time.Duration
}

// Pool defaults.
const (
	DefaultMaxOpen         = 32
	DefaultMaxIdle         = 8
	DefaultConnMaxLifetime = 5 * time.Minute
)

// withDefaults fills zero fields.
func (p Pool) withDefaults() Pool {
	if p.MaxOpen <= 0 {
		p.MaxOpen = DefaultMaxOpen
	}
	if p.MaxIdle <= 0 {
		p.MaxIdle = DefaultMaxIdle
	}
	p.MaxIdle = min(p.MaxIdle, p.MaxOpen)
	if p.ConnMaxLifetime <= 0 {
		p.ConnMaxLifetime = DefaultConnMaxLifetime
	}
	return p
}

// ErrInvalidDatabase is returned for a database name that is not a plain
// identifier.
var ErrInvalidDatabase = errors.New("dbconn: invalid database name")

// Open returns a pool for database on the server at address. Like sql.Open
// it does not connect: the first use (or PingContext) does. The caller
// closes the pool.
func Open(address, database string, c Credentials, p Pool) (*sql.DB, error) {
	if database != "" {
		if err := CheckDatabaseName(database); err != nil {
			return nil, err
		}
	}
	connector, err := mysql.NewConnector(config(address, database, c))
	if err != nil {
		return nil, fmt.Errorf("dbconn: connector for %s: %w", address, err)
	}
	db := sql.OpenDB(connector)
	p = p.withDefaults()
	db.SetMaxOpenConns(p.MaxOpen)
	db.SetMaxIdleConns(p.MaxIdle)
	db.SetConnMaxLifetime(p.ConnMaxLifetime)
	return db, nil
}

// CheckDatabaseName accepts names of 1 to 64 ASCII letters, digits, '_',
// '$' and '-' (the names a shard map admits). None of them can break out of
// the back-quoted identifier the package writes.
func CheckDatabaseName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: %q: want 1 to 64 characters", ErrInvalidDatabase, name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '$', r == '-':
		default:
			return fmt.Errorf("%w: %q: want letters, digits, '_', '$' and '-'", ErrInvalidDatabase, name)
		}
	}
	return nil
}

// createDatabaseSQL creates a checked database name with the product's
// character set; the name is quoted anyway.
func createDatabaseSQL(name string) string {
	return "CREATE DATABASE IF NOT EXISTS `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
}

// EnsureDatabase creates database on the server at address unless it exists.
// An existing database is left as it is, whatever its character set.
func EnsureDatabase(ctx context.Context, address, database string, c Credentials) error {
	if err := CheckDatabaseName(database); err != nil {
		return err
	}
	db, err := Open(address, "", c, Pool{MaxOpen: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, createDatabaseSQL(database)); err != nil {
		return fmt.Errorf("dbconn: create database %s on %s: %w", database, address, err)
	}
	return nil
}
