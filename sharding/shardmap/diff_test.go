package shardmap_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestDiffNoChange(t *testing.T) {
	a := newMap(1, serving(3)...)
	b := a.Clone()
	b.Epoch = 2
	b.Shards[0].State = shardmap.Draining // still owns its users
	b.Shards[1].Address = "elsewhere:4000"
	b.Shards = append(b.Shards, shard("new", shardmap.Joining)) // not on the ring yet
	d, err := shardmap.Diff(a, b, ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Ranges) != 0 || len(d.Summary) != 0 || d.Fraction != 0 {
		t.Errorf("Diff = %+v, want no moves", d)
	}
	if d.FromEpoch != 1 || d.ToEpoch != 2 {
		t.Errorf("epochs %d → %d, want 1 → 2", d.FromEpoch, d.ToEpoch)
	}
}

func TestDiffWholeKeyspace(t *testing.T) {
	d, err := shardmap.Diff(newMap(1, shard("a", shardmap.Serving)), newMap(2, shard("b", shardmap.Serving)), ring.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := shardmap.Move{Start: 0, End: math.MaxUint64, From: "a", To: "b"}
	if len(d.Ranges) != 1 || d.Ranges[0] != want || d.Fraction != 1 {
		t.Fatalf("Diff = %+v, want the single move %+v", d, want)
	}
	if len(d.Summary) != 1 || d.Summary[0] != (shardmap.Flow{From: "a", To: "b", Fraction: 1, Ranges: 1}) {
		t.Errorf("Summary = %+v", d.Summary)
	}
}

func TestDiffAgreesWithOwners(t *testing.T) {
	opts := ring.Options{VirtualNodes: 64} // small rings: many users per range
	from := newMap(1, serving(4)...)
	to := from.Settled()
	to.Shards[1].Weight = 3
	to.Shards = append(to.Shards[:3], shard("shard-9", shardmap.Serving)) // shard-3 leaves
	d, err := shardmap.Diff(from, to, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := shardmap.Compile(from, opts)
	b, _ := shardmap.Compile(to, opts)
	moved := 0
	for id := range int64(50_000) {
		checkMove(t, d, a, b, id)
		if a.Owner(id) != b.Owner(id) {
			moved++
		}
	}
	frac := float64(moved) / 50_000
	if math.Abs(frac-d.Fraction) > 0.01 {
		t.Errorf("%.4f of users moved, Delta.Fraction = %.4f", frac, d.Fraction)
	}
	checkDeltaShape(t, d)
}

// checkMove fails unless d says exactly what the two topologies say about id.
func checkMove(t *testing.T, d *shardmap.Delta, a, b *shardmap.Topology, id int64) {
	t.Helper()
	checkDelta(t, d, id, a.Owner(id), b.Owner(id))
}

// checkDelta fails unless d moves id from owner to owner (or not at all
// when they are equal).
func checkDelta(t *testing.T, d *shardmap.Delta, id int64, owner, newOwner string) {
	from, to, moved := d.Moves(id)
	if moved != (owner != newOwner) || moved && (from != owner || to != newOwner) {
		t.Helper()
		t.Fatalf("Moves(%d) = %s, %s, %v; owners %s → %s", id, from, to, moved, owner, newOwner)
	}
}

// checkDeltaShape checks the invariants Diff promises about its output.
func checkDeltaShape(t *testing.T, d *shardmap.Delta) {
	t.Helper()
	sum := map[[2]string]float64{}
	for i, m := range d.Ranges {
		if m.End < m.Start || m.From == m.To {
			t.Fatalf("bad move %+v", m)
		}
		if i > 0 && m.Start <= d.Ranges[i-1].End {
			t.Fatalf("moves %d and %d overlap or are unsorted", i-1, i)
		}
		if i > 0 && m.Start == d.Ranges[i-1].End+1 && m.From == d.Ranges[i-1].From && m.To == d.Ranges[i-1].To {
			t.Fatalf("moves %d and %d not coalesced", i-1, i)
		}
		sum[[2]string{m.From, m.To}] += (float64(m.End-m.Start) + 1) / math.Exp2(64)
	}
	total := 0.0
	for _, f := range d.Summary {
		if math.Abs(sum[[2]string{f.From, f.To}]-f.Fraction) > 1e-9 {
			t.Errorf("flow %+v disagrees with its ranges (%.6f)", f, sum[[2]string{f.From, f.To}])
		}
		total += f.Fraction
	}
	if math.Abs(total-d.Fraction) > 1e-9 {
		t.Errorf("flows sum to %.6f, Fraction = %.6f", total, d.Fraction)
	}
}

func TestDeltaJSON(t *testing.T) {
	d, err := shardmap.Diff(newMap(1, serving(2)...), newMap(2, serving(3)...), ring.Options{VirtualNodes: 4})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back shardmap.Delta
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Ranges) != len(d.Ranges) || back.Ranges[0] != d.Ranges[0] || back.Summary[0] != d.Summary[0] {
		t.Errorf("JSON round trip changed the delta:\n%s", b)
	}
}

func TestSettled(t *testing.T) {
	m := newMap(4,
		shard("a", shardmap.Serving),
		shard("b", shardmap.Draining),
		shard("c", shardmap.Joining),
	)
	s := m.Settled()
	want := newMap(5, shard("a", shardmap.Serving), shard("c", shardmap.Serving))
	if !s.Equal(want) {
		t.Errorf("Settled = %+v, want %+v", s, want)
	}
	if m.Shards[1].State != shardmap.Draining || m.Epoch != 4 {
		t.Error("Settled modified its receiver")
	}
}

func TestDiffRejectsInvalidMaps(t *testing.T) {
	if _, err := shardmap.Diff(newMap(1, serving(1)...), newMap(2), ring.Options{}); err == nil {
		t.Error("Diff accepted a map without owners")
	}
}
