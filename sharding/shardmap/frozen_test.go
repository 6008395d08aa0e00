package shardmap

import (
	"errors"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

func TestFreezeHoldsExactlyTheMovingUsers(t *testing.T) {
	m := &Map{Epoch: 3, Global: Keyspace{Address: "127.0.0.1:3400"}, Shards: []Shard{
		{ID: "shard-0", Address: "127.0.0.1:3401", State: Serving, Weight: 1},
		{ID: "shard-1", Address: "127.0.0.1:3402", State: Serving, Weight: 1},
		{ID: "shard-2", Address: "127.0.0.1:3403", State: Joining, Weight: 1},
	}, Freeze: true}
	topo, err := Compile(m, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	delta, err := Diff(m, m.Settled(), ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	frozen := 0
	for u := int64(1); u <= 100_000; u++ {
		_, _, moves := delta.Moves(u)
		if topo.Frozen(u) != moves {
			t.Fatalf("user %d: Frozen %v, moves %v", u, topo.Frozen(u), moves)
		}
		if moves {
			frozen++
		}
	}
	if frozen < 30_000 || frozen > 37_000 {
		t.Fatalf("%d of 100000 users frozen, want about a third (the new shard's share)", frozen)
	}

	thawed := m.Clone()
	thawed.Freeze = false
	if tt, err := Compile(thawed, ring.Options{}); err != nil || tt.Frozen(1) || tt.Frozen(2) {
		t.Fatalf("a map without Freeze freezes users (%v)", err)
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil || !back.Equal(m) || back.Equal(thawed) {
		t.Fatalf("round trip: %v", err)
	}
	if m.Settled().Freeze {
		t.Fatal("a settled map still freezes")
	}
	serving := m.Clone()
	serving.Shards = serving.Shards[:2]
	if err := serving.Validate(); !errors.Is(err, ErrInvalidFreeze) {
		t.Fatalf("a freeze where nobody moves: %v, want ErrInvalidFreeze", err)
	}
}

func BenchmarkFrozen(b *testing.B) {
	m := &Map{Epoch: 3, Global: Keyspace{Address: "127.0.0.1:3400"}, Freeze: true}
	for _, id := range []string{"a", "b", "c", "d"} {
		m.Shards = append(m.Shards, Shard{ID: id, Address: "127.0.0.1:3401", State: Serving, Weight: 1})
	}
	m.Shards = append(m.Shards, Shard{ID: "e", Address: "127.0.0.1:3401", State: Joining, Weight: 1})
	topo, err := Compile(m, ring.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if topo.Frozen(int64(i)) {
			n++
		}
	}
	_ = n
}
