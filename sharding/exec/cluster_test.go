package exec

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
	"github.com/cangqiong/cangqiong/sharding/vschema"
)

// cluster is an Executor over private MariaDB servers: one per shard plus
// one for the global keyspace (which also holds a "ref" database: a single
// unsharded copy of the data to compare merged results with).
type cluster struct {
	e       *Executor
	servers map[string]*shardserver.Server // by shard id, and "global"
	direct  map[string]*sql.DB             // straight to each shard's database
	ref     *sql.DB
}

const testSchema = `CREATE TABLE IF NOT EXISTS orders (
	id BIGINT NOT NULL PRIMARY KEY,
	user_id BIGINT NOT NULL,
	status VARCHAR(32) NOT NULL,
	amount DECIMAL(12,2) NOT NULL,
	total_cents BIGINT NOT NULL,
	note VARCHAR(64) NULL,
	score DOUBLE NULL,
	created_at DATETIME(6) NOT NULL,
	KEY by_user (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

const usersSchema = `CREATE TABLE IF NOT EXISTS users (
	user_id BIGINT NOT NULL PRIMARY KEY,
	name VARCHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`

func testVSchema(t testing.TB) *vschema.VSchema {
	vs, err := vschema.New(map[string]vschema.Table{
		"users":  {Kind: vschema.Sharded, Column: "user_id"},
		"orders": {Kind: vschema.Sharded, Column: "user_id"},
		"shops":  {Kind: vschema.Global},
		"seqs":   {Kind: vschema.Local},
	})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func startCluster(t testing.TB, shards int) *cluster {
	t.Helper()
	return newCluster(t, testenv.MariaDB(t, shards+1))
}

// newCluster builds a cluster over servers: one per shard, the last for
// the global keyspace. A server may appear more than once.
func newCluster(t testing.TB, servers []*shardserver.Server) *cluster {
	t.Helper()
	shards := len(servers) - 1
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: servers[shards].Addr(), Database: "cq"}}
	c := &cluster{servers: map[string]*shardserver.Server{"global": servers[shards]}, direct: map[string]*sql.DB{}}
	for i := range shards {
		id := fmt.Sprintf("shard-%d", i)
		m.Shards = append(m.Shards, shardmap.Shard{ID: id, Address: servers[i].Addr(), Database: "cq", State: shardmap.Serving, Weight: 1})
		c.servers[id] = servers[i]
	}
	for _, s := range servers {
		for _, db := range []string{"cq", "ref"} {
			if err := dbconn.EnsureDatabase(ctx, s.Addr(), db, dbconn.Credentials{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.e, err = New(Config{Topology: topo, VSchema: testVSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.e.Close() })
	for _, s := range m.Shards {
		c.direct[s.ID] = openDirect(t, s.Address, "cq")
	}
	c.ref = openDirect(t, servers[shards].Addr(), "ref")
	for _, ddl := range []string{testSchema, usersSchema} {
		if _, err := c.e.Exec(ctx, ddl); err != nil {
			t.Fatalf("broadcast DDL: %v", err)
		}
		if _, err := c.ref.ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func openDirect(t testing.TB, addr, db string) *sql.DB {
	d, err := dbconn.Open(addr, db, dbconn.Credentials{}, dbconn.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// usersOn returns n user ids owned by shard, and m owned by other shards.
func usersOn(topo *shardmap.Topology, shard string, n int) []int64 {
	var ids []int64
	for u := int64(1); len(ids) < n; u++ {
		if topo.Owner(u) == shard {
			ids = append(ids, u)
		}
	}
	return ids
}

func dbconnEnsure(ctx context.Context, addr, db string) error {
	return dbconn.EnsureDatabase(ctx, addr, db, dbconn.Credentials{})
}

func compile(m *shardmap.Map) (*shardmap.Topology, error) { return shardmap.Compile(m, ring.Options{}) }
