package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Parallelism bounds how many targets Migrate works on at once.
const Parallelism = 8

// LockTimeout bounds how long Migrate waits for another migrator of the same
// database to finish.
const LockTimeout = time.Minute

// ErrLocked is returned for a target whose migration lock another migrator
// held for longer than LockTimeout.
var ErrLocked = errors.New("schema: another migration holds the lock")

// Target is one keyspace: the global keyspace or one shard.
type Target struct {
	Kind     Kind
	ShardID  string // empty for the global keyspace
	Address  string // host:port
	Database string
}

func (t Target) String() string {
	if t.Kind == Global {
		return fmt.Sprintf("global keyspace at %s/%s", t.Address, t.Database)
	}
	return fmt.Sprintf("shard %s at %s/%s", t.ShardID, t.Address, t.Database)
}

// TargetError is the failure of one target. Its message names the target.
type TargetError struct {
	Target Target
	Err    error
}

func (e *TargetError) Error() string { return fmt.Sprintf("schema: %s: %v", e.Target, e.Err) }
func (e *TargetError) Unwrap() error { return e.Err }

// Applied names a migration a run applied.
type Applied struct {
	Version int
	Name    string
}

// TargetReport is what Migrate did to one target.
type TargetReport struct {
	Target Target
	// Applied lists the migrations this run applied, in order; empty when
	// the target was up to date.
	Applied []Applied
	// Version is the highest migration recorded in the target afterwards.
	Version int
	// Err is the target's *TargetError, nil if it is fully migrated.
	Err error
	// ShardMapEpoch is the epoch of the map stored in the control table
	// afterwards (global keyspace only).
	ShardMapEpoch uint64
	// ShardMapCreated says this run stored the given map because the
	// control table had none (global keyspace only).
	ShardMapCreated bool
}

// Report lists every target, the global keyspace first, then the shards in
// map order.
type Report struct {
	Targets []TargetReport
}

// Failed returns the targets that failed.
func (r *Report) Failed() []TargetReport {
	var failed []TargetReport
	for _, t := range r.Targets {
		if t.Err != nil {
			failed = append(failed, t)
		}
	}
	return failed
}

// Targets returns the global keyspace and every shard of m (all states).
func Targets(m *shardmap.Map) []Target {
	targets := []Target{{Kind: Global, Address: m.Global.Address, Database: m.Global.DatabaseName()}}
	for _, s := range m.Shards {
		targets = append(targets, Target{Kind: Shard, ShardID: s.ID, Address: s.Address, Database: s.DatabaseName()})
	}
	return targets
}

// Migrate creates the database of the global keyspace and of every shard of
// m (whatever its state) if missing, and applies the migrations each lacks,
// up to Parallelism targets at once. A target that fails does not stop the
// others: the returned error joins one *TargetError per failed target, and
// the report says what happened everywhere.
//
// In the global keyspace Migrate also stores m as the shard map if the
// control table has none yet. A stored map is never overwritten; the report
// gives its epoch.
func Migrate(ctx context.Context, m *shardmap.Map, creds dbconn.Credentials, logger *slog.Logger) (*Report, error) {
	if m == nil {
		return nil, errors.New("schema: nil shard map")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("schema: shard map: %w", err)
	}
	targets := Targets(m)
	if err := checkDistinct(targets); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "sharding.schema")

	report := &Report{Targets: make([]TargetReport, len(targets))}
	var g errgroup.Group
	g.SetLimit(Parallelism)
	for i, t := range targets {
		g.Go(func() error {
			report.Targets[i] = migrateTarget(ctx, t, m, creds, logger.With("target", t.String()))
			return nil
		})
	}
	_ = g.Wait() // goroutines report through report.Targets
	var errs []error
	for _, t := range report.Targets {
		errs = append(errs, t.Err)
	}
	return report, errors.Join(errs...)
}

// checkDistinct refuses two targets in one database: their
// cq_schema_migrations would mix.
func checkDistinct(targets []Target) error {
	seen := make(map[[2]string]Target, len(targets))
	for _, t := range targets {
		key := [2]string{t.Address, t.Database}
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("schema: %s and %s share one database", prev, t)
		}
		seen[key] = t
	}
	return nil
}

// migrateTarget migrates one target and never panics on its failure.
func migrateTarget(ctx context.Context, t Target, m *shardmap.Map, creds dbconn.Credentials, logger *slog.Logger) TargetReport {
	r := TargetReport{Target: t}
	err := func() error {
		if err := dbconn.EnsureDatabase(ctx, t.Address, t.Database, creds); err != nil {
			return err
		}
		db, err := dbconn.Open(t.Address, t.Database, creds, dbconn.Pool{MaxOpen: 2})
		if err != nil {
			return err
		}
		defer db.Close()
		if err := apply(ctx, db, t.Kind, &r, logger); err != nil {
			return err
		}
		if t.Kind == Global {
			stored, created, err := control.NewStore(db).Bootstrap(ctx, m)
			if err != nil {
				return err
			}
			r.ShardMapEpoch, r.ShardMapCreated = stored.Epoch, created
		}
		return nil
	}()
	if err != nil {
		r.Err = &TargetError{Target: t, Err: err}
		logger.Warn("target failed; Migrate returns the error", "err", err)
		return r
	}
	logger.Info("migrated", "applied", len(r.Applied), "version", r.Version)
	return r
}

// apply runs the migrations of kind that db lacks, holding the database's
// migration lock, and records them in r.
func apply(ctx context.Context, db *sql.DB, kind Kind, r *TargetReport, logger *slog.Logger) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	release, err := lock(ctx, conn, r.Target.Database)
	if err != nil {
		return err
	}
	defer release()

	if _, err := conn.ExecContext(ctx, createMigrationsTableSQL); err != nil {
		return fmt.Errorf("create cq_schema_migrations: %w", err)
	}
	done, err := recorded(ctx, conn)
	if err != nil {
		return err
	}
	for v := range done {
		r.Version = max(r.Version, v)
	}
	for _, mig := range Migrations(kind) {
		if done[mig.Version] {
			continue
		}
		if err := run(ctx, conn, mig); err != nil {
			return err
		}
		r.Applied = append(r.Applied, Applied{Version: mig.Version, Name: mig.Name})
		r.Version = max(r.Version, mig.Version)
		logger.Info("applied migration", "version", mig.Version, "name", mig.Name)
	}
	return nil
}

// run applies one migration and records it.
func run(ctx context.Context, conn *sql.Conn, mig Migration) error {
	for i, stmt := range mig.Statements {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migration %d (%s), statement %d: %w", mig.Version, mig.Name, i+1, err)
		}
	}
	_, err := conn.ExecContext(ctx, insertMigrationSQL, mig.Version, mig.Name, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("record migration %d (%s): %w", mig.Version, mig.Name, err)
	}
	return nil
}

// recorded returns the versions cq_schema_migrations holds.
func recorded(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, selectMigrationsSQL)
	if err != nil {
		return nil, fmt.Errorf("read cq_schema_migrations: %w", err)
	}
	defer rows.Close()
	done := make(map[int]bool)
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("read cq_schema_migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cq_schema_migrations: %w", err)
	}
	return done, nil
}

// lock takes the server-wide named lock of database on conn. The returned
// func releases it; closing conn releases it too.
func lock(ctx context.Context, conn *sql.Conn, database string) (release func(), err error) {
	name := "cq_schema." + database
	name = name[:min(len(name), 64)] // the server's limit on lock names
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, getLockSQL, name, int(LockTimeout/time.Second)).Scan(&got); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("%w %q after %v", ErrLocked, name, LockTimeout)
	}
	return func() {
		// A failed release leaves the lock to the connection's close.
		var released sql.NullInt64
		_ = conn.QueryRowContext(context.WithoutCancel(ctx), releaseLockSQL, name).Scan(&released)
	}, nil
}
