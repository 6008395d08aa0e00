package shardmap_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// These tests follow a reshard the way replication/reshard drives it: the
// new shard joins, Diff(m, m.Settled()) says who moves, and the settled map
// is compiled. They check the owners of a million users one by one against
// both topologies and against the Delta. (sharding/ring's own property tests
// cover balance and weights.)

func sampleSize() int {
	if testing.Short() {
		return 200_000
	}
	return 1_000_000
}

// userSets: a counter, time-ordered app ids (ms timestamp, worker,
// sequence), and fixed-seed random positive ids.
var userSets = []struct {
	name string
	ids  func() []int64 // shared: do not modify
}{
	{"sequential", sync.OnceValue(func() []int64 {
		return gen(func(i int) int64 { return int64(i) + 1 })
	})},
	{"time-ordered", sync.OnceValue(func() []int64 {
		return gen(func(i int) int64 { return int64(1_767_225_600_000+i/50)<<22 | 7<<12 | int64(i%50) })
	})},
	{"random", sync.OnceValue(func() []int64 {
		rng := rand.New(rand.NewPCG(20260418, 2))
		return gen(func(int) int64 { return rng.Int64N(math.MaxInt64) + 1 })
	})},
}

func gen(f func(i int) int64) []int64 {
	ids := make([]int64, sampleSize())
	for i := range ids {
		ids[i] = f(i)
	}
	return ids
}

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
	for _, set := range userSets {
		t.Run(set.name, func(t *testing.T) {
			ids := set.ids()
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
	for _, set := range userSets {
		t.Run(set.name, func(t *testing.T) {
			for _, id := range set.ids() {
				from, to := a.Owner(id), b.Owner(id)
				if from != "shard-5" && from != to {
					t.Fatalf("user %d of %s moved to %s when shard-5 left", id, from, to)
				}
				checkDelta(t, d, id, from, to)
			}
		})
	}
}
