package router

import (
	"fmt"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// benchTopology is a real ring: 16 equal shards, default virtual nodes.
func benchTopology(tb testing.TB) Topology {
	m := &shardmap.Map{Epoch: 1, Global: shardmap.Keyspace{Address: "127.0.0.1:3400"}}
	for i := range 16 {
		m.Shards = append(m.Shards, shardmap.Shard{ID: fmt.Sprintf("shard-%d", i), Address: fmt.Sprintf("127.0.0.1:%d", 3401+i), State: shardmap.Serving, Weight: 1})
	}
	topo, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}
