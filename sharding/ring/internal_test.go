package ring

import (
	"slices"
	"testing"
)

// Real hash collisions between members are too rare to provoke, so the tie
// rule is tested on hand-made slots.
func TestEqualPositionsGoToSmallestID(t *testing.T) {
	const m = ownerMask
	slots := []uint64{pack(10<<16, 2), pack(10<<16, 0), pack(5<<16, 1), pack(10<<16|7, 1)}
	slices.Sort(slots)
	slots = slices.CompactFunc(slots, func(a, b uint64) bool { return position(a) == position(b) })
	r := &Ring{members: []Member{{"a", 1}, {"b", 1}, {"c", 1}}, slots: appendSentinel(slots)}
	r.buildTable()
	want := []uint64{pack(5<<16, 1), pack(10<<16, 0), pack(^uint64(0), 1)}
	if !slices.Equal(r.slots, want) {
		t.Fatalf("slots = %#x, want %#x", r.slots, want)
	}
	for p, want := range map[uint64]string{0: "b", 5<<16 | m: "b", 6 << 16: "a", 10<<16 | m: "a", 11 << 16: "b"} {
		if got := r.members[r.OwnerOfPoint(p)].ID; got != want {
			t.Errorf("OwnerOfPoint(%#x) = %s, want %s", p, got, want)
		}
	}
}

func TestTableBits(t *testing.T) {
	tests := []struct {
		points int
		want   uint
	}{
		{1, minTableBits},
		{2, minTableBits},
		{1 << 10, 10},
		{1<<10 + 1, 11},
		{1 << 19, 19},
		{MaxPoints, maxTableBits},
	}
	for _, tt := range tests {
		if got := tableBits(tt.points); got != tt.want {
			t.Errorf("tableBits(%d) = %d, want %d", tt.points, got, tt.want)
		}
	}
}

// Default tables hold about one point per bucket; a coarse table forces the
// scan over many points per bucket to agree as well.
func TestCoarseTableAgrees(t *testing.T) {
	fine, err := New([]Member{{"a", 1}, {"b", 2}, {"c", 1}}, Options{VirtualNodes: 100})
	if err != nil {
		t.Fatal(err)
	}
	coarse := *fine
	coarse.buildTableBits(2)
	for _, rg := range fine.Ranges() {
		for _, p := range []uint64{rg.Start, rg.End, rg.Start - 1, rg.End + 1} {
			if got, want := coarse.OwnerOfPoint(p), fine.OwnerOfPoint(p); got != want {
				t.Fatalf("coarse OwnerOfPoint(%#x) = %d, want %d", p, got, want)
			}
		}
	}
}
