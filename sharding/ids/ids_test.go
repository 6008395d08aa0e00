package ids

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a wall clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// withClock returns a generator for node reading clock; a wait over MaxLead
// fails the test unless the test installs its own wait.
func withClock(t *testing.T, node uint16, clock *fakeClock) *Generator {
	t.Helper()
	g, err := New(node)
	if err != nil {
		t.Fatal(err)
	}
	g.now = clock.Now
	g.wait = func(d time.Duration) { t.Fatalf("unexpected wait of %v", d) }
	return g
}

var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

func TestNew(t *testing.T) {
	tests := []struct {
		node    uint16
		wantErr bool
	}{
		{0, false},
		{1, false},
		{MaxNode, false},
		{MaxNode + 1, true},
		{65535, true},
	}
	for _, tt := range tests {
		g, err := New(tt.node)
		if tt.wantErr {
			if !errors.Is(err, ErrNodeOutOfRange) || g != nil {
				t.Errorf("New(%d) = %v, %v; want ErrNodeOutOfRange", tt.node, g, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("New(%d): %v", tt.node, err)
		}
		if id := g.Next(); Node(id) != tt.node || id <= 0 {
			t.Errorf("New(%d).Next() = %d with node %d", tt.node, id, Node(id))
		}
	}
}

func TestDecode(t *testing.T) {
	clock := &fakeClock{t: t0}
	g := withClock(t, 777, clock)
	first, second := g.Next(), g.Next()
	if got := Time(first); !got.Equal(t0) || got.Location() != time.UTC {
		t.Errorf("Time = %v, want %v", got, t0)
	}
	if Node(first) != 777 || Sequence(first) != 0 || Sequence(second) != 1 {
		t.Errorf("node %d seq %d,%d; want 777 seq 0,1", Node(first), Sequence(first), Sequence(second))
	}
	clock.Advance(time.Millisecond)
	if third := g.Next(); Sequence(third) != 0 || !Time(third).Equal(t0.Add(time.Millisecond)) {
		t.Errorf("after a tick: seq %d time %v", Sequence(third), Time(third))
	}
}

func TestConcurrentUniqueAndIncreasing(t *testing.T) {
	const goroutines, perGoroutine = 8, 125_000 // 1M ids
	g, err := New(3)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			ids := make([]int64, perGoroutine)
			for j := range ids {
				ids[j] = g.Next()
			}
			got[i] = ids
		})
	}
	wg.Wait()
	var all []int64
	for i, ids := range got {
		for j := 1; j < len(ids); j++ {
			if ids[j] <= ids[j-1] {
				t.Fatalf("goroutine %d: id %d after %d", i, ids[j], ids[j-1])
			}
		}
		all = append(all, ids...)
	}
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != goroutines*perGoroutine {
		t.Fatalf("%d unique ids, want %d", n, goroutines*perGoroutine)
	}
}

func TestNodesNeverCollide(t *testing.T) {
	// Both generators read the same frozen clock, the worst case: they make
	// the same timestamps and sequences and differ only in the node bits.
	clock := &fakeClock{t: t0}
	a, b := withClock(t, 1, clock), withClock(t, 2, clock)
	seen := make(map[int64]uint16)
	for range 3 * 4096 {
		for _, g := range []*Generator{a, b} {
			id := g.Next()
			if other, dup := seen[id]; dup {
				t.Fatalf("id %d made by node %d and node %d", id, other, Node(id))
			}
			seen[id] = Node(id)
		}
		clock.Advance(time.Millisecond / 8)
	}
}

func TestClockStepsBack(t *testing.T) {
	clock := &fakeClock{t: t0}
	g := withClock(t, 9, clock)
	steps := []time.Duration{0, time.Millisecond, -time.Hour, time.Second, -10 * time.Millisecond, 2 * time.Hour}
	last := int64(-1)
	for _, step := range steps {
		clock.Advance(step)
		for range 5000 { // more than one millisecond's sequence
			id := g.Next()
			if id <= last {
				t.Fatalf("after step %v: id %d not above %d", step, id, last)
			}
			last = id
		}
	}
	if got, want := Time(last), t0.Add(time.Millisecond+time.Second+2*time.Hour-time.Hour-10*time.Millisecond); got.Before(want) {
		t.Errorf("last id time %v, want at least %v", got, want)
	}
}

func TestSequenceExhaustionAdvancesLogically(t *testing.T) {
	clock := &fakeClock{t: t0} // frozen: Next must not wait for it
	g := withClock(t, 0, clock)
	var id int64
	for range 3 * 4096 {
		id = g.Next()
	}
	if got, want := Time(id), t0.Add(2*time.Millisecond); !got.Equal(want) {
		t.Errorf("3×4096th id at %v, want %v", got, want)
	}
	if Sequence(id) != seqMask {
		t.Errorf("sequence %d, want %d", Sequence(id), seqMask)
	}
}

func TestLeadIsBounded(t *testing.T) {
	clock := &fakeClock{t: t0}
	g := withClock(t, 5, clock)
	var waited time.Duration
	g.wait = func(d time.Duration) {
		waited += d
		clock.Advance(d)
	}
	leadMillis := int(MaxLead / time.Millisecond)
	for i := range (leadMillis + 50) * 4096 {
		id := g.Next()
		if lead := Time(id).Sub(clock.Now().Truncate(time.Millisecond)); lead > MaxLead {
			t.Fatalf("id %d: lead %v over MaxLead", i, lead)
		}
	}
	if waited < 49*time.Millisecond {
		t.Errorf("waited %v in total, want about 50ms", waited)
	}
}

func TestClockOutsideLayout(t *testing.T) {
	clock := &fakeClock{t: Epoch.Add(-time.Hour)}
	g := withClock(t, 1, clock)
	if got := Time(g.Next()); !got.Equal(Epoch) {
		t.Errorf("clock before Epoch: id at %v, want Epoch", got)
	}

	clock.Set(Epoch.Add(maxMilli * time.Millisecond))
	if got := Time(g.Next()); !got.Equal(time.Date(2094, time.September, 7, 15, 47, 35, 551_000_000, time.UTC)) {
		t.Errorf("last representable time = %v", got)
	}
	clock.Advance(time.Millisecond)
	defer func() {
		if recover() == nil {
			t.Error("Next past the end of the layout did not panic")
		}
	}()
	g.Next()
}

// BenchmarkNext runs Next flat out on the real clock. Past 4096 ids per
// millisecond the generator is rate-limited by design (see MaxLead), so this
// reports about 244ns/op: the layout's capacity, not the cost of a call.
func BenchmarkNext(b *testing.B) {
	g, err := New(1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}

// BenchmarkNextCost measures the cost of a call below the rate limit: the
// clock moves a microsecond per reading.
func BenchmarkNextCost(b *testing.B) {
	g, err := New(1)
	if err != nil {
		b.Fatal(err)
	}
	var ticks atomic.Int64
	g.now = func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}

func BenchmarkNextParallel(b *testing.B) {
	g, err := New(1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Next()
		}
	})
}

func TestNextDoesNotAllocate(t *testing.T) {
	g, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { g.Next() }); n != 0 {
		t.Errorf("Next allocates %v times per call", n)
	}
}
