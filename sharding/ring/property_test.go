package ring_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/ring/ringtest"
)

// load counts the users owned by each member index.
func load(r *ring.Ring, ids []int64) []int {
	counts := make([]int, len(r.Members()))
	for _, id := range ids {
		counts[r.OwnerIndex(id)]++
	}
	return counts
}

func TestPropertyBalance(t *testing.T) {
	r := mustNew(t, equalMembers("shard-", 16), ring.Options{})
	// The user shapes a ring must spread evenly (see ringtest.Kinds).
	for _, kind := range ringtest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ids := ringtest.Sample(kind)
			counts := load(r, ids)
			mean := float64(len(ids)) / float64(len(counts))
			ratio := float64(slices.Max(counts)) / mean
			t.Logf("16 shards, %d users: max/mean %.4f, min/mean %.4f",
				len(ids), ratio, float64(slices.Min(counts))/mean)
			if ratio > 1.05 {
				t.Errorf("most loaded shard holds %.4f × the mean, want ≤ 1.05", ratio)
			}
		})
	}
}

func TestPropertyWeighted(t *testing.T) {
	ms := equalMembers("shard-", 16)
	ms[3].Weight = 2
	r := mustNew(t, ms, ring.Options{})
	heavy := slices.IndexFunc(r.Members(), func(m ring.Member) bool { return m.Weight == 2 })
	for _, kind := range ringtest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			counts := load(r, ringtest.Sample(kind))
			others := 0
			for i, c := range counts {
				if i != heavy {
					others += c
				}
			}
			ratio := float64(counts[heavy]) / (float64(others) / float64(len(counts)-1))
			t.Logf("weight-2 shard holds %.4f × a weight-1 shard's mean", ratio)
			if ratio < 1.8 || ratio > 2.2 {
				t.Errorf("weight-2 shard holds %.4f × the weight-1 mean, want 2 ± 10%%", ratio)
			}
		})
	}
}

// Stability is checked exactly, over the whole circle, by walking the range
// lists of both rings; sharding/shardmap checks the same per user for a
// million users, and that Diff agrees.

func TestPropertyAddMovesOnlyToNewMember(t *testing.T) {
	ms := equalMembers("shard-", 16)
	before := mustNew(t, ms, ring.Options{})
	after := mustNew(t, append(slices.Clone(ms), ring.Member{ID: "shard-16", Weight: 1}), ring.Options{})
	moved := changes(before, after, func(start, end uint64, from, to string) {
		if to != "shard-16" {
			t.Fatalf("[%#x, %#x] moved %s → %s, between old shards", start, end, from, to)
		}
	})
	t.Logf("adding a 17th shard moves %.4f of the circle (1/17 = %.4f)", moved, 1.0/17)
	if moved < 0.9/17 || moved > 1.1/17 {
		t.Errorf("moved share %.4f, want within 1/17 ± 10%%", moved)
	}
}

func TestPropertyRemoveMovesOnlyItsUsers(t *testing.T) {
	ms := equalMembers("shard-", 16)
	before := mustNew(t, ms, ring.Options{})
	const gone = "shard-5"
	after := mustNew(t, slices.DeleteFunc(slices.Clone(ms), func(m ring.Member) bool { return m.ID == gone }), ring.Options{})
	moved := changes(before, after, func(start, end uint64, from, to string) {
		if from != gone {
			t.Fatalf("[%#x, %#x] of %s moved to %s when %s left", start, end, from, to, gone)
		}
	})
	if share := shares(before)[gone]; math.Abs(moved-share) > 1e-9 {
		t.Errorf("moved share %.6f, want exactly %s's share %.6f", moved, gone, share)
	}
}

func TestPropertyWeightIncreaseMovesOnlyToThatMember(t *testing.T) {
	ms := equalMembers("shard-", 8)
	before := mustNew(t, ms, ring.Options{})
	ms[2].Weight = 2
	after := mustNew(t, ms, ring.Options{})
	changes(before, after, func(start, end uint64, from, to string) {
		if to != ms[2].ID {
			t.Fatalf("[%#x, %#x] moved %s → %s, not to the heavier member", start, end, from, to)
		}
	})
}

// changes calls f for every stretch of the circle whose owner differs
// between a and b, and returns the share of the circle that changes.
func changes(a, b *ring.Ring, f func(start, end uint64, from, to string)) float64 {
	ra, rb := a.Ranges(), b.Ranges()
	moved := 0.0
	var start uint64
	for i, j := 0, 0; ; {
		end := min(ra[i].End, rb[j].End)
		if ra[i].Owner != rb[j].Owner {
			f(start, end, ra[i].Owner, rb[j].Owner)
			moved += (float64(end-start) + 1) / math.Exp2(64)
		}
		if end == math.MaxUint64 {
			return moved
		}
		if ra[i].End == end {
			i++
		}
		if rb[j].End == end {
			j++
		}
		start = end + 1
	}
}

// The balance bound must not depend on lucky shard names: check the share
// of the circle (exact, no sampling) for several naming schemes.
func TestPropertyBalanceAcrossNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds many rings; the 1M-user balance test covers -short")
	}
	worst := 0.0
	for set := range 8 {
		r := mustNew(t, equalMembers(fmt.Sprintf("tidb-%d-", set), 16), ring.Options{})
		for _, share := range shares(r) {
			worst = max(worst, share*16)
		}
	}
	t.Logf("worst max/mean share over 8 name sets: %.4f", worst)
	if worst > 1.05 {
		t.Errorf("max/mean share %.4f, want ≤ 1.05", worst)
	}
}

// shares returns the fraction of the circle each member owns.
func shares(r *ring.Ring) map[string]float64 {
	share := make(map[string]float64)
	for _, rg := range r.Ranges() {
		share[rg.Owner] += (float64(rg.End-rg.Start) + 1) / math.Exp2(64)
	}
	return share
}
