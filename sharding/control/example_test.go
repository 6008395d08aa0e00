package control_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func ExampleEpochConflictError() {
	var err error = &control.EpochConflictError{Expected: 4, Current: 5}
	fmt.Println(errors.Is(err, control.ErrEpochConflict))
	fmt.Println(err)
	// Output:
	// true
	// control: shard map epoch conflict: expected epoch 4, stored epoch is 5
}

// A writer reads the map, derives the next one and swaps; on a conflict it
// reloads and decides again from the newer map.
func ExampleStore_CompareAndSwap() {
	var store *control.Store // control.NewStore(globalKeyspaceDB)
	ctx := context.Background()
	addShard := func(m *shardmap.Map) *shardmap.Map {
		next := *m
		next.Epoch++
		next.Shards = append(append([]shardmap.Shard(nil), m.Shards...),
			shardmap.Shard{ID: "shard-9", Address: "10.0.0.9:4000", State: shardmap.Joining, Weight: 1})
		return &next
	}
	for {
		current, err := store.Load(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		err = store.CompareAndSwap(ctx, current.Epoch, addShard(current))
		if errors.Is(err, control.ErrEpochConflict) {
			continue // someone else changed the map first
		}
		fmt.Println(err)
		return
	}
}
