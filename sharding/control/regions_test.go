package control_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardtest"
)

// recordingDB passes statements to a real pool and remembers each one, so
// a test can parse with TiDB's parser exactly what the store issued.
type recordingDB struct {
	*sql.DB
	mu   sync.Mutex
	seen map[string]bool
}

func (r *recordingDB) record(q string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[q] = true
}

func (r *recordingDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r.record(q)
	return r.DB.ExecContext(ctx, q, args...)
}

func (r *recordingDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	r.record(q)
	return r.DB.QueryContext(ctx, q, args...)
}

func (r *recordingDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	r.record(q)
	return r.DB.QueryRowContext(ctx, q, args...)
}

func (r *recordingDB) statements() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for q := range r.seen {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// newRegionStore returns a store over the global keyspace of a freshly
// migrated deployment, and the recorder of the statements it issues.
func newRegionStore(t *testing.T) (*control.RegionStore, *recordingDB) {
	t.Helper()
	c := shardtest.Start(t, shardtest.Options{Shards: 1})
	rec := &recordingDB{DB: c.Exec.Global()}
	return control.NewRegionStore(rec), rec
}

func frankfurt() control.Region {
	return control.Region{
		Name: "eu-central", Location: "Frankfurt, DE", Latitude: 50.11, Longitude: 8.68,
		Weight: 40, Edges: []string{"10.1.0.1:8443", "edge-2.fra.example:8443"}, State: control.RegionActive,
	}
}

func TestRegionValidate(t *testing.T) {
	edges := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("10.0.%d.%d:443", i/250, i%250+1))
		}
		return out
	}
	for _, c := range []struct {
		name   string
		change func(*control.Region)
		want   []error // nil: valid
	}{
		{"valid", func(*control.Region) {}, nil},
		{"weight 0 without edges", func(r *control.Region) { r.Weight, r.Edges = 0, nil }, nil},
		{"weight 100", func(r *control.Region) { r.Weight = 100 }, nil},
		{"poles and date line", func(r *control.Region) { r.Latitude, r.Longitude = -90, 180 }, nil},
		{"IPv6 edge", func(r *control.Region) { r.Edges = []string{"[2001:db8::1]:443"} }, nil},
		{"unicode location", func(r *control.Region) { r.Location = "東京, JP" }, nil},
		{"64 edges", func(r *control.Region) { r.Edges = edges(control.MaxRegionEdges) }, nil},
		{"64-byte name", func(r *control.Region) { r.Name = strings.Repeat("a", 64) }, nil},
		{"disabled", func(r *control.Region) { r.State = control.RegionDisabled }, nil},
		{"draining", func(r *control.Region) { r.State = control.RegionDraining }, nil},

		{"empty name", func(r *control.Region) { r.Name = "" }, []error{control.ErrInvalidRegionName}},
		{"upper-case name", func(r *control.Region) { r.Name = "EU" }, []error{control.ErrInvalidRegionName}},
		{"65-byte name", func(r *control.Region) { r.Name = strings.Repeat("a", 65) }, []error{control.ErrInvalidRegionName}},
		{"name with slash", func(r *control.Region) { r.Name = "eu/west" }, []error{control.ErrInvalidRegionName}},
		{"empty location", func(r *control.Region) { r.Location = "" }, []error{control.ErrInvalidRegionLocation}},
		{"long location", func(r *control.Region) { r.Location = strings.Repeat("é", 129) }, []error{control.ErrInvalidRegionLocation}},
		{"location with newline", func(r *control.Region) { r.Location = "a\nb" }, []error{control.ErrInvalidRegionLocation}},
		{"location not UTF-8", func(r *control.Region) { r.Location = "\xff" }, []error{control.ErrInvalidRegionLocation}},
		{"latitude 90.5", func(r *control.Region) { r.Latitude = 90.5 }, []error{control.ErrInvalidLatitude}},
		{"latitude NaN", func(r *control.Region) { r.Latitude = math.NaN() }, []error{control.ErrInvalidLatitude}},
		{"longitude -181", func(r *control.Region) { r.Longitude = -181 }, []error{control.ErrInvalidLongitude}},
		{"longitude +Inf", func(r *control.Region) { r.Longitude = math.Inf(1) }, []error{control.ErrInvalidLongitude}},
		{"weight -1", func(r *control.Region) { r.Weight = -1 }, []error{control.ErrInvalidRegionWeight}},
		{"weight 101", func(r *control.Region) { r.Weight = 101 }, []error{control.ErrInvalidRegionWeight}},
		{"weight without edges", func(r *control.Region) { r.Edges = nil }, []error{control.ErrNoEdges}},
		{"edge without port", func(r *control.Region) { r.Edges = []string{"10.0.0.1"} }, []error{control.ErrInvalidEdge}},
		{"edge port 0", func(r *control.Region) { r.Edges = []string{"10.0.0.1:0"} }, []error{control.ErrInvalidEdge}},
		{"edge port 65536", func(r *control.Region) { r.Edges = []string{"10.0.0.1:65536"} }, []error{control.ErrInvalidEdge}},
		{"edge as URL", func(r *control.Region) { r.Edges = []string{"https://x:443"} }, []error{control.ErrInvalidEdge}},
		{"edge with user", func(r *control.Region) { r.Edges = []string{"u@x:443"} }, []error{control.ErrInvalidEdge}},
		{"edge empty host", func(r *control.Region) { r.Edges = []string{":443"} }, []error{control.ErrInvalidEdge}},
		{"duplicate edge", func(r *control.Region) { r.Edges = []string{"x:1", "x:1"} }, []error{control.ErrDuplicateEdge}},
		{"65 edges", func(r *control.Region) { r.Edges = edges(control.MaxRegionEdges + 1) }, []error{control.ErrTooManyEdges}},
		{"unknown state", func(r *control.Region) { r.State = "paused" }, []error{control.ErrInvalidRegionState}},
		{"empty state", func(r *control.Region) { r.State = "" }, []error{control.ErrInvalidRegionState}},
		{"everything at once", func(r *control.Region) {
			*r = control.Region{Name: "X", Latitude: 91, Longitude: 181, Weight: 101, State: "on"}
		}, []error{
			control.ErrInvalidRegionName, control.ErrInvalidRegionLocation, control.ErrInvalidLatitude,
			control.ErrInvalidLongitude, control.ErrInvalidRegionWeight, control.ErrNoEdges, control.ErrInvalidRegionState,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := frankfurt()
			c.change(&r)
			err := r.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var invalid *control.InvalidRegionError
			if !errors.As(err, &invalid) || !errors.Is(err, control.ErrInvalidRegion) {
				t.Fatalf("Validate = %v, want an *InvalidRegionError", err)
			}
			if len(invalid.Problems) != len(c.want) {
				t.Errorf("problems %q, want %d of them", invalid.Problems, len(c.want))
			}
			for _, want := range c.want {
				if !errors.Is(err, want) {
					t.Errorf("Validate = %v, want it to match %q", err, want)
				}
			}
		})
	}
}

// sameRegion compares regions, UpdatedAt as an instant.
func sameRegion(t *testing.T, what string, got, want control.Region) {
	t.Helper()
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: updated at %v, want %v", what, got.UpdatedAt, want.UpdatedAt)
	}
	got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantConflict(t *testing.T, what string, err error, expected, current uint64) {
	t.Helper()
	var conflict *control.RegionConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, control.ErrRegionConflict) ||
		conflict.Expected != expected || conflict.Current != current {
		t.Errorf("%s = %v, want a conflict (expected %d, current %d)", what, err, expected, current)
	}
}

func TestRegionStore(t *testing.T) {
	s, rec := newRegionStore(t)
	ctx := context.Background()

	if got, err := s.List(ctx); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("List on an empty registry = %#v, %v; want an empty, non-nil list", got, err)
	}
	if _, err := s.Get(ctx, "eu-central"); !errors.Is(err, control.ErrRegionNotFound) {
		t.Fatalf("Get of a missing region = %v, want ErrRegionNotFound", err)
	}

	before := time.Now().UTC().Add(-time.Second)
	created, err := s.Put(ctx, frankfurt(), 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := frankfurt()
	want.Version, want.UpdatedAt = 1, created.UpdatedAt
	sameRegion(t, "created", created, want)
	if created.UpdatedAt.Location() != time.UTC || created.UpdatedAt.Before(before) {
		t.Errorf("updated at %v, want a recent UTC time", created.UpdatedAt)
	}
	got, err := s.Get(ctx, "eu-central")
	if err != nil {
		t.Fatal(err)
	}
	sameRegion(t, "Get after create", got, created)

	_, err = s.Put(ctx, frankfurt(), 0)
	wantConflict(t, "second create", err, 0, 1)

	drained := frankfurt()
	drained.Weight, drained.State, drained.Edges = 0, control.RegionDraining, nil
	drained.Version = 77 // ignored: the store owns versions
	updated, err := s.Put(ctx, drained, 1)
	if err != nil {
		t.Fatalf("update from version 1: %v", err)
	}
	if updated.Version != 2 || updated.Edges == nil || len(updated.Edges) != 0 {
		t.Errorf("updated = %+v, want version 2 and no edges", updated)
	}
	got, _ = s.Get(ctx, "eu-central")
	sameRegion(t, "Get after update", got, updated)

	_, err = s.Put(ctx, frankfurt(), 1)
	wantConflict(t, "stale update", err, 1, 2)
	if got, _ := s.Get(ctx, "eu-central"); got.Version != 2 || got.Weight != 0 {
		t.Errorf("a refused update changed the region: %+v", got)
	}

	ghost := frankfurt()
	ghost.Name = "ap-east"
	if _, err := s.Put(ctx, ghost, 3); !errors.Is(err, control.ErrRegionNotFound) {
		t.Errorf("update of a missing region = %v, want ErrRegionNotFound", err)
	}
	invalid := frankfurt()
	invalid.Name, invalid.Weight = "us-west", 101
	if _, err := s.Put(ctx, invalid, 0); !errors.Is(err, control.ErrInvalidRegionWeight) {
		t.Errorf("create of an invalid region = %v, want ErrInvalidRegionWeight", err)
	}

	west := frankfurt()
	west.Name, west.Location, west.Latitude, west.Longitude = "an-west", "Oregon, US", 45.6, -121.2
	if west, err = s.Put(ctx, west, 0); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v; want 2 regions", list, err)
	}
	sameRegion(t, "List[0]", list[0], west)
	sameRegion(t, "List[1]", list[1], updated)

	wantConflict(t, "stale delete", s.Delete(ctx, "eu-central", 1), 1, 2)
	wantConflict(t, "delete from version 0", s.Delete(ctx, "eu-central", 0), 0, 2)
	if err := s.Delete(ctx, "eu-central", 2); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Delete(ctx, "eu-central", 2); !errors.Is(err, control.ErrRegionNotFound) {
		t.Errorf("second delete = %v, want ErrRegionNotFound", err)
	}
	if _, err := s.Get(ctx, "eu-central"); !errors.Is(err, control.ErrRegionNotFound) {
		t.Errorf("Get after delete = %v, want ErrRegionNotFound", err)
	}
	if recreated, err := s.Put(ctx, frankfurt(), 0); err != nil || recreated.Version != 1 {
		t.Errorf("re-create after delete = %+v, %v; want version 1", recreated, err)
	}

	// Every path above ran on MariaDB; every statement it issued must also
	// parse with TiDB's parser, the production dialect.
	stmts := rec.statements()
	for _, prefix := range []string{"SELECT name", "SELECT version", "INSERT", "UPDATE", "DELETE"} {
		if !slices.ContainsFunc(stmts, func(q string) bool { return strings.HasPrefix(q, prefix) }) {
			t.Errorf("no %s statement was issued; the test misses a path", prefix)
		}
	}
	for _, q := range stmts {
		if _, _, err := parser.New().Parse(q, "", ""); err != nil {
			t.Errorf("TiDB parser rejects %q: %v", q, err)
		}
	}
}

func TestRegionStoreConcurrentWriters(t *testing.T) {
	s, _ := newRegionStore(t)
	ctx := context.Background()
	const writers = 20

	// run starts every writer at once and returns the index of the only one
	// that succeeded; the others' errors go to check.
	run := func(what string, write func(i int) error, check func(i int, err error)) int {
		t.Helper()
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				<-start
				errs[i] = write(i)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("%s: writers %d and %d both won", what, winner, i)
			case err == nil:
				winner = i
			default:
				check(i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("%s: no writer won", what)
		}
		return winner
	}
	variant := func(i int) control.Region {
		r := frankfurt()
		r.Weight, r.Location = i, fmt.Sprintf("writer %d", i)
		return r
	}

	winner := run("create", func(i int) error {
		_, err := s.Put(ctx, variant(i), 0)
		return err
	}, func(i int, err error) {
		wantConflict(t, fmt.Sprintf("creator %d", i), err, 0, 1)
	})
	if got, err := s.Get(ctx, "eu-central"); err != nil || got.Location != variant(winner).Location || got.Version != 1 {
		t.Errorf("stored %+v, %v; want creator %d's region at version 1", got, err, winner)
	}

	winner = run("update", func(i int) error {
		_, err := s.Put(ctx, variant(i), 1)
		return err
	}, func(i int, err error) {
		wantConflict(t, fmt.Sprintf("updater %d", i), err, 1, 2)
	})
	got, err := s.Get(ctx, "eu-central")
	if err != nil || got.Location != variant(winner).Location || got.Weight != winner || got.Version != 2 {
		t.Errorf("stored %+v, %v; want updater %d's region at version 2", got, err, winner)
	}

	run("delete", func(int) error {
		return s.Delete(ctx, "eu-central", 2)
	}, func(i int, err error) {
		if !errors.Is(err, control.ErrRegionNotFound) {
			t.Errorf("deleter %d: %v, want ErrRegionNotFound", i, err)
		}
	})
}

func ExampleRegion_Validate() {
	r := control.Region{Name: "eu-central", Location: "Frankfurt, DE", Latitude: 50.11, Longitude: 8.68,
		Weight: 40, State: control.RegionActive}
	err := r.Validate()
	fmt.Println(errors.Is(err, control.ErrNoEdges))
	r.Edges = []string{"10.1.0.1:8443"}
	fmt.Println(r.Validate())
	// Output:
	// true
	// <nil>
}

// Ramping a region's weight is a read-modify-write guarded by the version
// read: on a conflict the writer reads again and decides again.
func ExampleRegionStore_Put() {
	var regions *control.RegionStore // control.NewRegionStore(globalKeyspaceDB)
	ctx := context.Background()
	for {
		r, err := regions.Get(ctx, "eu-central")
		if err != nil {
			fmt.Println(err)
			return
		}
		r.Weight = min(r.Weight+10, control.MaxRegionWeight)
		_, err = regions.Put(ctx, r, r.Version)
		if errors.Is(err, control.ErrRegionConflict) {
			continue // someone else changed the region first
		}
		fmt.Println(err)
		return
	}
}
