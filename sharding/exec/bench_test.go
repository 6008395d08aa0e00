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

func BenchmarkPointSelectRouted(b *testing.B) {
	c := pointCluster(b)
	ctx := context.Background()
	var id int64
	var name string
	u := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		u = u%benchUsers + 1
		if err := c.e.QueryRow(ctx, pointSelect, u).Scan(&id, &name); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPointSelectDirect(b *testing.B) {
	c := pointCluster(b)
	db := c.direct["shard-0"]
	ctx := context.Background()
	var id int64
	var name string
	u := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		u = u%benchUsers + 1
		if err := db.QueryRowContext(ctx, pointSelect, u).Scan(&id, &name); err != nil {
			b.Fatal(err)
		}
	}
}
