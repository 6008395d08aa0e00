package exec

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

// The point-select pair runs the same statement against the same MariaDB
// server (started once for the package's benchmarks), through the executor
// and straight through database/sql with the same driver settings.
// bench/point-select.sh runs them interleaved and prints the ratio.
const pointSelect = "SELECT user_id, name FROM users WHERE user_id = ?"

const benchUsers = 1000

var shared struct {
	once sync.Once
	dir  string
	srv  *shardserver.Server
	err  error
}

// sharedServer starts the benchmarks' MariaDB server on first use;
// TestMain stops it.
func sharedServer(b *testing.B) *shardserver.Server {
	testenv.Require(b, "mariadbd", shardserver.Available())
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "cq-exec-bench-"); shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.srv, shared.err = shardserver.Start(ctx, shardserver.Options{Dir: shared.dir})
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		shared.srv.Stop(ctx)
		cancel()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// pointCluster is a one-shard cluster on the shared server with
// benchUsers users.
func pointCluster(b *testing.B) *cluster {
	srv := sharedServer(b)
	c := newCluster(b, []*shardserver.Server{srv, srv})
	ctx := context.Background()
	for u := int64(1); u <= benchUsers; u++ {
		if _, err := c.e.Exec(ctx, "INSERT IGNORE INTO users (user_id, name) VALUES (?, ?)", u, fmt.Sprint("user-", u)); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// scanner is what both QueryRow flavours return.
type scanner interface{ Scan(...any) error }

// benchPointSelect reads users round-robin through queryRow.
func benchPointSelect(b *testing.B, queryRow func(ctx context.Context, q string, args ...any) scanner) {
	ctx := context.Background()
	var id int64
	var name string
	u := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		u = u%benchUsers + 1
		if err := queryRow(ctx, pointSelect, u).Scan(&id, &name); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPointSelectRouted(b *testing.B) {
	c := pointCluster(b)
	benchPointSelect(b, func(ctx context.Context, q string, args ...any) scanner { return c.e.QueryRow(ctx, q, args...) })
}

func BenchmarkPointSelectDirect(b *testing.B) {
	db := pointCluster(b).direct["shard-0"]
	benchPointSelect(b, func(ctx context.Context, q string, args ...any) scanner { return db.QueryRowContext(ctx, q, args...) })
}
