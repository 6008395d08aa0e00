package move

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestCopyMovesExactlyTheFilteredUsersAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	all, moving, staying := f.users(90)
	f.seed(t, all)
	if len(moving) == 0 || len(staying) == 0 {
		t.Fatalf("%d moving and %d staying users: the ring gave a useless sample", len(moving), len(staying))
	}
	want := dump(t, f.src, f.tables, f.moves)
	if len(want) != 15*len(moving) {
		t.Fatalf("source holds %d rows of %d moving users, want 15 each", len(want), len(moving))
	}
	var reports []Progress
	p := f.copyAll(t, Config{ReadBatch: 40, WriteBatch: 7, OnProgress: func(_ context.Context, p Progress) error {
		reports = append(reports, p)
		return nil
	}})
	sameRows(t, "target after the copy", dump(t, f.dst, f.tables, nil), want)

	total := len(dump(t, f.src, f.tables, nil))
	if !p.Complete || p.Scanned != int64(total) || p.Rows != int64(len(want)) || p.Users != int64(len(moving)) {
		t.Fatalf("final progress %+v: want complete, %d scanned, %d rows, %d users", p, total, len(want), len(moving))
	}
	last := reports[len(reports)-1]
	if len(last.Done) != len(f.tables) || last.Table != "" || !last.Complete || last.Rows != p.Rows {
		t.Fatalf("last report %+v: want every table done, complete", last)
	}
	for _, r := range reports[:len(reports)-1] {
		if r.Complete {
			t.Fatalf("report %v before the last says complete", r)
		}
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Scanned <= reports[i-1].Scanned && len(reports[i].Done) == len(reports[i-1].Done) {
			t.Fatalf("report %d (%v) did not advance past %v", i, reports[i], reports[i-1])
		}
	}

	// Again, from the start: the same rows, nothing more.
	f.copyAll(t, Config{ReadBatch: 40})
	sameRows(t, "target after a second copy", dump(t, f.dst, f.tables, nil), want)
	// The source is untouched.
	if got := len(dump(t, f.src, f.tables, nil)); got != total {
		t.Fatalf("source holds %d rows after the copy, had %d", got, total)
	}
}

// errStop stands for the coordinator dying.
var errStop = errors.New("coordinator stopped")

func TestCopyResumesFromPersistedProgress(t *testing.T) {
	f := newFixture(t)
	all, _, _ := f.users(60)
	f.seed(t, all)
	want := dump(t, f.src, f.tables, f.moves)
	total := int64(len(dump(t, f.src, f.tables, nil)))
	const readBatch = 16
	cases := []struct {
		name string
		stop int // the coordinator dies at this batch's report
		// persisted: it died after persisting that report (else before: the
		// batch is on the target, the persisted progress one batch behind).
		persisted bool
	}{
		{"first table, persisted", 2, true},
		{"first table, not persisted", 2, false},
		{"mid copy, persisted", 17, true},
		{"mid copy, not persisted", 31, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearTables(t, f.dst, f.tables)
			persisted := stopAt(t, f, readBatch, tc.stop, tc.persisted)
			var p Progress
			if err := json.Unmarshal(persisted, &p); err != nil {
				t.Fatal(err)
			}
			if p.Table == "" || p.After == nil {
				t.Fatalf("persisted %s: want a position inside a table", persisted)
			}
			c, err := NewCopier(Config{Source: f.src, Target: f.dst, Tables: f.tables, Filter: f.moves, Logger: quiet, ReadBatch: readBatch})
			if err != nil {
				t.Fatal(err)
			}
			done, err := c.Copy(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			sameRows(t, "target after resuming", dump(t, f.dst, f.tables, nil), want)
			// Nothing was scanned twice but, when the last report was
			// lost, that one batch.
			redo := int64(0)
			if !tc.persisted {
				redo = readBatch
			}
			if !done.Complete || done.Scanned < total || done.Scanned > total+redo {
				t.Fatalf("resumed copy ended at %v; want complete with %d..%d scanned", done, total, total+redo)
			}
		})
	}
}

// stopAt runs a copy that dies at the stop-th report and returns the last
// progress it persisted, as JSON.
func stopAt(t *testing.T, f *fixture, readBatch, stop int, persistLast bool) []byte {
	t.Helper()
	var persisted []byte
	n := 0
	c, err := NewCopier(Config{Source: f.src, Target: f.dst, Tables: f.tables, Filter: f.moves, Logger: quiet, ReadBatch: readBatch,
		OnProgress: func(_ context.Context, p Progress) error {
			n++
			if n < stop || persistLast {
				b, err := json.Marshal(p)
				if err != nil {
					return err
				}
				persisted = b
			}
			if n == stop {
				return errStop
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Copy(context.Background(), Progress{}); !errors.Is(err, errStop) {
		t.Fatalf("copy: got %v, want it stopped at report %d", err, stop)
	}
	return persisted
}

func TestCopyRefusesProgressOfOtherTables(t *testing.T) {
	tables := []Table{{Name: "users", Columns: []string{"user_id"}, Key: []string{"user_id"}}}
	c, err := NewCopier(Config{Source: nopDB{}, Target: nopDB{}, Tables: tables, Filter: func(int64) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Progress{
		{Table: "gone", After: Key{int64(1)}},
		{Table: "users", After: Key{int64(1), int64(2)}},
	} {
		if _, err := c.Copy(context.Background(), p); !errors.Is(err, ErrBadProgress) {
			t.Errorf("Copy(%v): got %v, want ErrBadProgress", p, err)
		}
	}
	if p, err := c.Copy(context.Background(), Progress{Complete: true}); err != nil || !p.Complete {
		t.Errorf("Copy of a complete progress: %v, %v", p, err)
	}
}

func TestNewCopierNeedsSourceTargetAndFilter(t *testing.T) {
	for _, cfg := range []Config{
		{Target: nopDB{}, Filter: func(int64) bool { return true }},
		{Source: nopDB{}, Filter: func(int64) bool { return true }},
		{Source: nopDB{}, Target: nopDB{}},
	} {
		if _, err := NewCopier(cfg); err == nil {
			t.Errorf("NewCopier(%+v) accepted an incomplete config", cfg)
		}
	}
}
