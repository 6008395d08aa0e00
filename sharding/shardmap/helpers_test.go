package shardmap_test

import (
	"fmt"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// serving returns n serving weight-1 shards named shard-0..shard-(n-1).
func serving(n int) []shardmap.Shard {
	ss := make([]shardmap.Shard, n)
	for i := range ss {
		ss[i] = shard(fmt.Sprintf("shard-%d", i), shardmap.Serving)
	}
	return ss
}

func shard(id string, st shardmap.State) shardmap.Shard {
	return shardmap.Shard{ID: id, Address: "db-" + id + ".internal:4000", State: st, Weight: 1}
}

func newMap(epoch uint64, ss ...shardmap.Shard) *shardmap.Map {
	return &shardmap.Map{
		Epoch:  epoch,
		Shards: ss,
		Global: shardmap.Keyspace{Address: "global.internal:4000"},
	}
}

func mustCompile(t testing.TB, m *shardmap.Map) *shardmap.Topology {
	t.Helper()
	top, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return top
}
