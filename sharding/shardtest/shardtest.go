// Package shardtest starts a migrated sharded deployment for tests: private
// MariaDB servers for the global keyspace and N shards (internal/testenv),
// the takeout schema applied (sharding/schema), the shard map stored in the
// control tables, and an Executor over them. Everything stops with the test.
package shardtest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
)

// quiet keeps migration chatter out of test output; warnings still show.
var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// Options size the deployment.
type Options struct {
	Shards int // 0: 2
}

// Cluster is a migrated deployment.
type Cluster struct {
	Map      *shardmap.Map
	Topology *shardmap.Topology
	Exec     *exec.Executor
	// Servers by shard id, and exec.GlobalTarget for the global keyspace.
	Servers map[string]*shardserver.Server

	mu     sync.Mutex
	direct map[string]*sql.DB
}

// Start starts and migrates a deployment; t.Cleanup stops it.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Shards <= 0 {
		opts.Shards = 2
	}
	servers := testenv.MariaDB(t, opts.Shards+1)
	c := &Cluster{
		Map:     &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: servers[0].Addr()}},
		Servers: map[string]*shardserver.Server{exec.GlobalTarget: servers[0]},
		direct:  map[string]*sql.DB{},
	}
	for i, srv := range servers[1:] {
		id := fmt.Sprintf("shard-%d", i)
		c.Map.Shards = append(c.Map.Shards, shardmap.Shard{ID: id, Address: srv.Addr(), State: shardmap.Serving, Weight: 1})
		c.Servers[id] = srv
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := schema.Migrate(ctx, c.Map, dbconn.Credentials{}, quiet); err != nil {
		t.Fatalf("shardtest: migrate: %v", err)
	}
	var err error
	if c.Topology, err = shardmap.Compile(c.Map, ring.Options{}); err != nil {
		t.Fatal(err)
	}
	if c.Exec, err = exec.New(exec.Config{Topology: c.Topology, VSchema: schema.VSchema()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Exec.Close()
		for _, db := range c.direct {
			db.Close()
		}
	})
	return c
}

// Direct is a pool straight to one shard's database (or the global
// keyspace's, with exec.GlobalTarget), bypassing the router: for checking
// where rows really are. Safe for concurrent use.
func (c *Cluster) Direct(t testing.TB, id string) *sql.DB {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if db := c.direct[id]; db != nil {
		return db
	}
	addr, database := c.Map.Global.Address, c.Map.Global.DatabaseName()
	if id != exec.GlobalTarget {
		s, ok := c.Topology.Shard(id)
		if !ok {
			t.Fatalf("shardtest: no shard %q", id)
		}
		addr, database = s.Address, s.DatabaseName()
	}
	db, err := dbconn.Open(addr, database, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	c.direct[id] = db
	return db
}

// UserOn returns the smallest user id ≥ from that the ring places on shard.
func (c *Cluster) UserOn(shard string, from int64) int64 {
	for u := from; ; u++ {
		if c.Topology.Owner(u) == shard {
			return u
		}
	}
}
