package ringtest_test

import (
	"slices"
	"testing"

	"github.com/cangqiong/cangqiong/sharding/ring/ringtest"
)

func TestUserIDs(t *testing.T) {
	for _, kind := range ringtest.Kinds() {
		t.Run(string(kind), func(t *testing.T) {
			ids := ringtest.UserIDs(kind, 10_000)
			if !slices.Equal(ids, ringtest.UserIDs(kind, 10_000)) {
				t.Fatal("two calls gave different ids")
			}
			seen := make(map[int64]bool, len(ids))
			for _, id := range ids {
				if id <= 0 || seen[id] {
					t.Fatalf("id %d is not positive or repeats", id)
				}
				seen[id] = true
			}
		})
	}
	if got := ringtest.UserIDs(ringtest.Sequential, 3); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("Sequential = %v, want [1 2 3]", got)
	}
}

func TestSample(t *testing.T) {
	a, b := ringtest.Sample(ringtest.Random), ringtest.Sample(ringtest.Random)
	if len(a) != ringtest.SampleSize() || &a[0] != &b[0] {
		t.Fatalf("Sample: %d ids, shared %v; want %d ids made once", len(a), &a[0] == &b[0], ringtest.SampleSize())
	}
}

func TestUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("UserIDs of an unknown kind did not panic")
		}
	}()
	ringtest.UserIDs("nope", 1)
}
