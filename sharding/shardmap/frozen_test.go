package shardmap

import (
	"errors"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

func TestFrozenRanges(t *testing.T) {
	m := &Map{Epoch: 3, Global: Keyspace{Address: "127.0.0.1:3400"}, Shards: []Shard{
		{ID: "shard-0", Address: "127.0.0.1:3401", State: Serving, Weight: 1},
	}}
	var frozen, thawed int64
	for u := int64(1); frozen == 0 || thawed == 0; u++ {
		if ring.Point(u) < 1<<63 {
			frozen = u
		} else {
			thawed = u
		}
	}
	m.Frozen = []Range{{Start: 0, End: 1<<63 - 1}}
	topo, err := Compile(m, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !topo.Frozen(frozen) || topo.Frozen(thawed) {
		t.Fatalf("Frozen(%d) = %v, Frozen(%d) = %v", frozen, topo.Frozen(frozen), thawed, topo.Frozen(thawed))
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil || !back.Equal(m) {
		t.Fatalf("round trip: %v", err)
	}
	if s := m.Settled(); len(s.Frozen) != 0 {
		t.Fatal("a settled map keeps frozen ranges")
	}
	m.Frozen = []Range{{Start: 10, End: 5}}
	if err := m.Validate(); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("an empty range: %v", err)
	}
	m.Frozen = []Range{{Start: 10, End: 20}, {Start: 15, End: 30}}
	if err := m.Validate(); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("overlapping ranges: %v", err)
	}
}
