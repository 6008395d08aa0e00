package shardmap_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestCompileRingMembership(t *testing.T) {
	m := newMap(3,
		shard("c-serving", shardmap.Serving),
		shard("a-joining", shardmap.Joining),
		shard("b-draining", shardmap.Draining),
	)
	top := mustCompile(t, m)
	if got, want := top.RingShards(), []string{"b-draining", "c-serving"}; !slices.Equal(got, want) {
		t.Errorf("RingShards = %v, want %v", got, want)
	}
	if got, want := top.AllShards(), []string{"a-joining", "b-draining", "c-serving"}; !slices.Equal(got, want) {
		t.Errorf("AllShards = %v, want %v", got, want)
	}
	for id := range int64(2000) {
		owner := top.Owner(id)
		if owner == "a-joining" {
			t.Fatalf("user %d routed to a joining shard", id)
		}
		if s := top.OwnerShard(id); s.ID != owner {
			t.Fatalf("OwnerShard(%d) = %s, Owner = %s", id, s.ID, owner)
		}
	}
	if s, ok := top.Shard("a-joining"); !ok || s.State != shardmap.Joining {
		t.Errorf("Shard(a-joining) = %+v, %v", s, ok)
	}
	if _, ok := top.Shard("nope"); ok {
		t.Error("Shard(nope) found")
	}
	if top.Epoch() != 3 {
		t.Errorf("Epoch = %d", top.Epoch())
	}
}

func TestCompileIsolatedFromCaller(t *testing.T) {
	m := newMap(1, serving(2)...)
	top := mustCompile(t, m)
	m.Shards[0].Address = "changed:1"
	if s, _ := top.Shard("shard-0"); s.Address == "changed:1" {
		t.Error("topology shares the caller's map")
	}
	ids := top.RingShards()
	ids[0] = "x"
	if top.RingShards()[0] == "x" {
		t.Error("RingShards exposes internal state")
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := shardmap.Compile(newMap(1), ring.Options{}); !errors.Is(err, shardmap.ErrNoOwner) {
		t.Errorf("Compile(no shards) = %v, want ErrNoOwner", err)
	}
	_, err := shardmap.Compile(newMap(1, serving(2)...), ring.Options{VirtualNodes: -1})
	if !errors.Is(err, ring.ErrVirtualNodes) {
		t.Errorf("Compile(bad options) = %v, want ring.ErrVirtualNodes", err)
	}
}

func TestHolderAdvance(t *testing.T) {
	var h shardmap.Holder
	t5, t6 := mustCompile(t, newMap(5, serving(1)...)), mustCompile(t, newMap(6, serving(1)...))
	steps := []struct {
		top       *shardmap.Topology
		advanced  bool
		wantEpoch uint64
	}{
		{t5, true, 5},
		{t5, false, 5}, // duplicate delivery
		{t6, true, 6},
		{t5, false, 6}, // late, older delivery
	}
	for i, s := range steps {
		if got := h.Advance(s.top); got != s.advanced || h.Load().Epoch() != s.wantEpoch {
			t.Fatalf("step %d: Advance = %v, epoch %d; want %v, %d", i, got, h.Load().Epoch(), s.advanced, s.wantEpoch)
		}
	}
}

func TestHolderConcurrentAdvance(t *testing.T) {
	var h shardmap.Holder
	tops := make([]*shardmap.Topology, 8)
	for i := range tops {
		tops[i] = mustCompile(t, newMap(uint64(i+1), shard("s", shardmap.Serving)))
	}
	var wg sync.WaitGroup
	for _, top := range tops {
		wg.Go(func() {
			h.Advance(top)
			_ = h.Load().Owner(42)
		})
	}
	wg.Wait()
	if h.Load().Epoch() != 8 {
		t.Errorf("epoch after concurrent Advance = %d, want 8", h.Load().Epoch())
	}
}
