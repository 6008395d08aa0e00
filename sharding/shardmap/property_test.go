package shardmap_test

import (
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring/ringtest"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// These tests follow a reshard the way replication/reshard drives it: the
// new shard joins, Diff(m, m.Settled()) says who moves, and the settled map
// is compiled. They check the owners of a million users one by one against
// both topologies and against the Delta, for each of ringtest's id shapes
// (sharding/ring's own property tests cover balance and weights).

// reshard compiles from and from.Settled() and diffs them.
func reshard(t *testing.T, from *shardmap.Map) (a, b *shardmap.Topology, d *shardmap.Delta) {
	t.Helper()
	a, b = mustCompile(t, from), mustCompile(t, from.Settled())
	d = shardmap.DiffTopologies(a, b)
	checkDeltaShape(t, d)
	return a, b, d
}

func TestPropertyAddShard(t *testing.T) {
	a, b, d := reshard(t, newMap(1, append(serving(16), shard("shard-16", shardmap.Joining))...))
	for _, f := range d.Summary {
		if f.To != "shard-16" {
			t.Errorf("Diff moves %.4f from %s to %s, an old shard", f.Fraction, f.From, f.To)
		}
	}
	for _, kind := range ringtest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ids := ringtest.Sample(kind)
			moved := 0
			for _, id := range ids {
				from, to := a.Owner(id), b.Owner(id)
				if from != to {
					if to != "shard-16" {
						t.Fatalf("user %d moved %s → %s, between old shards", id, from, to)
					}
					moved++
				}
				checkDelta(t, d, id, from, to)
			}
			frac := float64(moved) / float64(len(ids))
			t.Logf("17th shard: %.4f of users moved, Delta.Fraction %.4f, 1/17 = %.4f", frac, d.Fraction, 1.0/17)
			if frac < 0.9/17 || frac > 1.1/17 {
				t.Errorf("moved fraction %.4f, want 1/17 ± 10%%", frac)
			}
		})
	}
}

func TestPropertyRemoveShard(t *testing.T) {
	m := newMap(1, serving(16)...)
	m.Shards[5].State = shardmap.Draining
	a, b, d := reshard(t, m)
	for _, f := range d.Summary {
		if f.From != "shard-5" {
			t.Errorf("Diff moves %.4f from %s, which stays", f.Fraction, f.From)
		}
	}
	for _, kind := range ringtest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			for _, id := range ringtest.Sample(kind) {
				from, to := a.Owner(id), b.Owner(id)
				if from != "shard-5" && from != to {
					t.Fatalf("user %d of %s moved to %s when shard-5 left", id, from, to)
				}
				checkDelta(t, d, id, from, to)
			}
		})
	}
}
