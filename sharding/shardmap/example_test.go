package shardmap_test

import (
	"fmt"
	"os"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func Example() {
	data, err := os.ReadFile("testdata/map.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := shardmap.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	top, err := shardmap.Compile(m, ring.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var current shardmap.Holder
	current.Advance(top) // gossip hands newer maps to Advance as they arrive

	fmt.Println("epoch", current.Load().Epoch())
	fmt.Println("owning users:", top.RingShards())
	fmt.Println("all shards:", top.AllShards())
	owner := top.OwnerShard(42)
	fmt.Println("user 42 →", owner.ID, owner.Address, owner.DatabaseName())

	// What finishing the reshard in flight moves: shard-1 drains away and
	// shard-2 joins, taking some of shard-0's users too.
	delta, err := shardmap.Diff(m, m.Settled(), ring.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range delta.Summary {
		fmt.Printf("%s → %s: %.0f%% of users\n", f.From, f.To, 100*f.Fraction)
	}
	// Output:
	// epoch 7
	// owning users: [shard-0 shard-1]
	// all shards: [shard-0 shard-1 shard-2]
	// user 42 → shard-1 10.0.1.11:4000 takeout
	// shard-0 → shard-2: 8% of users
	// shard-1 → shard-0: 25% of users
	// shard-1 → shard-2: 42% of users
}
