package ring_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// equalMembers returns n weight-1 members named prefix0..prefix(n-1).
func equalMembers(prefix string, n int) []ring.Member {
	ms := make([]ring.Member, n)
	for i := range ms {
		ms[i] = ring.Member{ID: fmt.Sprintf("%s%d", prefix, i), Weight: 1}
	}
	return ms
}

func mustNew(t testing.TB, ms []ring.Member, opts ring.Options) *ring.Ring {
	t.Helper()
	r, err := ring.New(ms, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		members []ring.Member
		opts    ring.Options
		want    error
		index   int // of the MemberError, when want is a member problem
	}{
		{"no members", nil, ring.Options{}, ring.ErrNoMembers, -1},
		{"empty id", []ring.Member{{"a", 1}, {"", 1}}, ring.Options{}, ring.ErrEmptyID, 1},
		{"duplicate", []ring.Member{{"a", 1}, {"b", 1}, {"a", 2}}, ring.Options{}, ring.ErrDuplicateID, 2},
		{"weight 0", []ring.Member{{"a", 0}}, ring.Options{}, ring.ErrWeight, 0},
		{"weight negative", []ring.Member{{"a", -1}}, ring.Options{}, ring.ErrWeight, 0},
		{"weight too big", []ring.Member{{"a", ring.MaxWeight + 1}}, ring.Options{}, ring.ErrWeight, 0},
		{"negative vnodes", []ring.Member{{"a", 1}}, ring.Options{VirtualNodes: -1}, ring.ErrVirtualNodes, -1},
		{"too many points", []ring.Member{{"a", 2}}, ring.Options{VirtualNodes: ring.MaxPoints}, ring.ErrTooLarge, -1},
		{"overflowing vnodes", []ring.Member{{"a", 1}}, ring.Options{VirtualNodes: math.MaxInt}, ring.ErrTooLarge, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ring.New(tt.members, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New error = %v, want %v", err, tt.want)
			}
			var me *ring.MemberError
			if got := errors.As(err, &me); got != (tt.index >= 0) {
				t.Fatalf("errors.As(MemberError) = %v for %v", got, err)
			}
			if me != nil && me.Index != tt.index {
				t.Errorf("MemberError.Index = %d, want %d", me.Index, tt.index)
			}
		})
	}
}

func TestMaxWeightAccepted(t *testing.T) {
	r := mustNew(t, []ring.Member{{"a", ring.MaxWeight}, {"b", 1}}, ring.Options{VirtualNodes: 4})
	if got, want := r.Len(), 4*(ring.MaxWeight+1); got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

// naiveRing is the definition the prefix table must agree with: sorted
// points, ties to the smaller ID, binary search, wrap to the first point.
type naiveRing []naivePoint

type naivePoint struct {
	p  uint64
	id string
}

func newNaiveRing(r *ring.Ring) naiveRing {
	var pts naiveRing
	for _, m := range r.Members() {
		for rep := range m.Weight * vnodesOf(r) {
			pts = append(pts, naivePoint{ring.VnodePoint(m.ID, rep), m.ID})
		}
	}
	slices.SortFunc(pts, func(a, b naivePoint) int {
		return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.id, b.id))
	})
	return pts
}

func (pts naiveRing) owner(p uint64) string {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].p >= p })
	if i == len(pts) {
		i = 0
	}
	return pts[i].id
}

// vnodesOf recovers the virtual nodes per weight unit from the point count;
// valid for the small rings of these tests, whose points do not collide.
func vnodesOf(r *ring.Ring) int {
	w := 0
	for _, m := range r.Members() {
		w += m.Weight
	}
	return r.Len() / w
}

func TestOwnerMatchesDefinition(t *testing.T) {
	tests := []struct {
		name    string
		members []ring.Member
		vnodes  int
	}{
		{"one member one point", []ring.Member{{"solo", 1}}, 1},
		{"two members", []ring.Member{{"a", 1}, {"b", 1}}, 1},
		{"weights, few points per bucket", []ring.Member{{"a", 3}, {"b", 1}, {"c", 2}}, 5},
		{"many points", equalMembers("s-", 7), 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.members, ring.Options{VirtualNodes: tt.vnodes})
			naive := newNaiveRing(r)
			for _, p := range probePoints(r) {
				got := r.Members()[r.OwnerOfPoint(p)].ID
				if want := naive.owner(p); got != want {
					t.Fatalf("OwnerOfPoint(%#x) = %s, want %s", p, got, want)
				}
			}
		})
	}
}

// probePoints returns the edges of the circle, every range boundary and its
// neighbours, and some random positions.
func probePoints(r *ring.Ring) []uint64 {
	ps := []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1, 1 << 63}
	for _, rg := range r.Ranges() {
		ps = append(ps, rg.Start, rg.End, rg.Start-1, rg.End+1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		ps = append(ps, rng.Uint64())
	}
	return ps
}

func TestOrderDoesNotMatter(t *testing.T) {
	ms := []ring.Member{{"c", 1}, {"a", 2}, {"d", 1}, {"b", 3}}
	opts := ring.Options{VirtualNodes: 64}
	want := mustNew(t, ms, opts)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10 {
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		got := mustNew(t, ms, opts)
		if !slices.Equal(got.Ranges(), want.Ranges()) {
			t.Fatalf("ranges differ for member order %v", ms)
		}
		if !slices.Equal(got.Members(), want.Members()) {
			t.Fatalf("Members = %v, want %v", got.Members(), want.Members())
		}
	}
}

func TestMembersSorted(t *testing.T) {
	r := mustNew(t, []ring.Member{{"b", 1}, {"c", 1}, {"a", 1}}, ring.Options{VirtualNodes: 2})
	ids := []string{}
	for _, m := range r.Members() {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Errorf("Members IDs = %v", ids)
	}
}

func TestRangesCoverCircle(t *testing.T) {
	tests := []struct {
		name    string
		members []ring.Member
		vnodes  int
	}{
		{"single member", []ring.Member{{"solo", 3}}, 10},
		{"three members", []ring.Member{{"a", 1}, {"b", 2}, {"c", 1}}, 50},
		{"default vnodes", equalMembers("shard-", 4), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustNew(t, tt.members, ring.Options{VirtualNodes: tt.vnodes})
			checkRanges(t, r)
		})
	}
}

func checkRanges(t *testing.T, r *ring.Ring) {
	t.Helper()
	rs := r.Ranges()
	if rs[0].Start != 0 || rs[len(rs)-1].End != math.MaxUint64 {
		t.Fatalf("ranges span [%#x, %#x], want the whole circle", rs[0].Start, rs[len(rs)-1].End)
	}
	for i, rg := range rs {
		if rg.End < rg.Start {
			t.Fatalf("range %d is inverted: %+v", i, rg)
		}
		if i > 0 && rg.Start != rs[i-1].End+1 {
			t.Fatalf("gap or overlap before range %d: %+v after %+v", i, rg, rs[i-1])
		}
		if i > 0 && rg.Owner == rs[i-1].Owner {
			t.Fatalf("ranges %d and %d not coalesced: owner %s", i-1, i, rg.Owner)
		}
		for _, p := range []uint64{rg.Start, rg.End, rg.Start + (rg.End-rg.Start)/2} {
			if got := r.Members()[r.OwnerOfPoint(p)].ID; got != rg.Owner {
				t.Fatalf("OwnerOfPoint(%#x) = %s inside range %+v", p, got, rg)
			}
		}
	}
	if len(rs) > 1 && rs[0].Owner != rs[len(rs)-1].Owner {
		t.Errorf("wrap-around ranges differ: first %s, last %s", rs[0].Owner, rs[len(rs)-1].Owner)
	}
}

func TestOwnerDoesNotAllocate(t *testing.T) {
	r := mustNew(t, equalMembers("shard-", 8), ring.Options{VirtualNodes: 256})
	var id int64
	allocs := testing.AllocsPerRun(1000, func() {
		id++
		_ = r.Owner(id)
	})
	if allocs != 0 {
		t.Errorf("Owner allocates %v times per call", allocs)
	}
}

func TestHolderConcurrent(t *testing.T) {
	var h ring.Holder
	if h.Load() != nil {
		t.Fatal("zero Holder is not empty")
	}
	rings := []*ring.Ring{
		mustNew(t, equalMembers("a-", 2), ring.Options{VirtualNodes: 16}),
		mustNew(t, equalMembers("b-", 3), ring.Options{VirtualNodes: 16}),
	}
	h.Store(rings[0])
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				if g == 0 {
					h.Store(rings[i%2])
					continue
				}
				_ = h.Load().Owner(int64(i))
			}
		})
	}
	wg.Wait()
}
