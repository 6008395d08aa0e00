package changes

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/replication/stream"
)

func TestApplyFrames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frames  []stream.Frame
		want    []string // the recorder's log
		cursors stream.Cursors
		dups    uint64
		resets  uint64
		gaps    uint64
	}{{
		name:    "in order",
		frames:  []stream.Frame{change("shard-0", 1, "user:9:cart"), change("shard-0", 2, "user:9:orders", "order:9-1")},
		want:    []string{"apply shard-0.1 user:9:cart", "apply shard-0.2 user:9:orders order:9-1"},
		cursors: stream.Cursors{"shard-0": 2},
	}, {
		name:    "duplicates are skipped",
		frames:  []stream.Frame{change("global", 1), change("global", 2), change("global", 2), change("global", 1), change("global", 3)},
		want:    []string{"apply global.1 k:1", "apply global.2 k:2", "apply global.3 k:3"},
		cursors: stream.Cursors{"global": 3},
		dups:    2,
	}, {
		name:    "a keyspace without a cursor starts anywhere",
		frames:  []stream.Frame{change("shard-1", 900), change("shard-1", 901)},
		want:    []string{"apply shard-1.900 k:900", "apply shard-1.901 k:901"},
		cursors: stream.Cursors{"shard-1": 901},
	}, {
		name:    "keyspaces are independent",
		frames:  []stream.Frame{change("shard-0", 5), change("global", 1), change("shard-0", 6), change("global", 1)},
		want:    []string{"apply shard-0.5 k:5", "apply global.1 k:1", "apply shard-0.6 k:6"},
		cursors: stream.Cursors{"shard-0": 6, "global": 1},
		dups:    1,
	}, {
		name:    "a gap flushes the keyspace",
		frames:  []stream.Frame{change("shard-0", 1), change("shard-0", 2), change("shard-0", 5)},
		want:    []string{"apply shard-0.1 k:1", "apply shard-0.2 k:2", "reset shard-0", "apply shard-0.5 k:5"},
		cursors: stream.Cursors{"shard-0": 5},
		resets:  1, gaps: 1,
	}, {
		name:    "a reset flushes and moves the cursor to oldest-1",
		frames:  []stream.Frame{change("shard-0", 3), reset("shard-0", 10), change("shard-0", 10)},
		want:    []string{"apply shard-0.3 k:3", "reset shard-0", "apply shard-0.10 k:10"},
		cursors: stream.Cursors{"shard-0": 10},
		resets:  1,
	}, {
		name:    "a reset without a cursor flushes",
		frames:  []stream.Frame{reset("global", 1), change("global", 1)},
		want:    []string{"reset global", "apply global.1 k:1"},
		cursors: stream.Cursors{"global": 1},
		resets:  1,
	}, {
		name:    "a reset again is a duplicate",
		frames:  []stream.Frame{change("shard-0", 4), reset("shard-0", 9), reset("shard-0", 9), change("shard-0", 9)},
		want:    []string{"apply shard-0.4 k:4", "reset shard-0", "apply shard-0.9 k:9"},
		cursors: stream.Cursors{"shard-0": 9},
		dups:    1, resets: 1,
	}, {
		name:    "a reset behind the cursor moves it back (a rebuilt outbox)",
		frames:  []stream.Frame{change("shard-0", 40), change("shard-0", 41), reset("shard-0", 3), change("shard-0", 3)},
		want:    []string{"apply shard-0.40 k:40", "apply shard-0.41 k:41", "reset shard-0", "apply shard-0.3 k:3"},
		cursors: stream.Cursors{"shard-0": 3},
		resets:  1,
	}, {
		name:    "heads move no cursor",
		frames:  []stream.Frame{head("shard-0", 7, 1), change("shard-0", 1)},
		want:    []string{"apply shard-0.1 k:1"},
		cursors: stream.Cursors{"shard-0": 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			s := bare(t, rec)
			n, err := s.consume(context.Background(), strings.NewReader(ndjson(t, tc.frames...)))
			if !errors.Is(err, io.EOF) || n != len(tc.frames) {
				t.Fatalf("consume = %d, %v; want %d, EOF", n, err, len(tc.frames))
			}
			if got := rec.got(); !slices.Equal(got, tc.want) {
				t.Errorf("applied\n%q\nwant\n%q", got, tc.want)
			}
			if got := s.Cursors(); !equalCursors(got, tc.cursors) {
				t.Errorf("cursors %v, want %v", got, tc.cursors)
			}
			for ks, c := range tc.cursors {
				if got := s.Applied(ks); got != c {
					t.Errorf("Applied(%s) = %d, want %d", ks, got, c)
				}
			}
			st := s.Stats()
			if st.Duplicates != tc.dups || st.Resets != tc.resets || st.Gaps != tc.gaps {
				t.Errorf("duplicates %d resets %d gaps %d, want %d %d %d", st.Duplicates, st.Resets, st.Gaps, tc.dups, tc.resets, tc.gaps)
			}
		})
	}
}

func equalCursors(a, b stream.Cursors) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestLagAndLastApplied(t *testing.T) {
	s := bare(t, &recorder{})
	if _, err := s.consume(context.Background(), strings.NewReader(ndjson(t, change("shard-0", 1), head("shard-0", 7, 1), head("shard-0", 6, 1)))); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	st := s.Stats()
	if len(st.Keyspaces) != 1 {
		t.Fatalf("%+v", st)
	}
	ks := st.Keyspaces[0]
	if ks.Head != 7 || ks.Cursor != 1 || ks.Lag != 6 || ks.Oldest != 1 || ks.LastApplied.IsZero() || st.LastApplied.IsZero() || st.Applied != 1 {
		t.Fatalf("keyspace %+v, stats %+v: want head 7 (an older head does not move it back), cursor 1, lag 6", ks, st)
	}
	if s.Applied("shard-9") != 0 {
		t.Fatal("Applied of an unknown keyspace")
	}
}

func TestMalformedInput(t *testing.T) {
	ok := ndjson(t, change("shard-0", 1))
	for _, tc := range []struct {
		name      string
		input     string
		frames    int
		malformed bool
		err       error
	}{
		{"garbage after a frame", ok + "{not json}\n", 1, true, stream.ErrFrame},
		{"an unknown field", ok + `{"t":"change","ks":"shard-0","seq":2,"keys":["a"],"x":1}` + "\n", 1, true, stream.ErrFrame},
		{"a bad keyspace", `{"t":"head","ks":"Shard 0","seq":2}` + "\n", 0, true, stream.ErrFrame},
		{"a line too long", ok + strings.Repeat("x", stream.MaxFrameBytes+10) + "\n", 1, true, nil},
		{"blank lines and CRLF are fine", "\n" + strings.TrimSuffix(ok, "\n") + "\r\n\r\n", 1, false, io.EOF},
		{"cut within a frame", ok + `{"t":"chan`, 1, false, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bare(t, &recorder{})
			n, err := s.consume(context.Background(), strings.NewReader(tc.input))
			if n != tc.frames || errors.Is(err, ErrMalformed) != tc.malformed || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Fatalf("consume = %d, %v; want %d frames, malformed %v, %v", n, err, tc.frames, tc.malformed, tc.err)
			}
			if got := s.Stats().Malformed; got != map[bool]uint64{true: 1}[tc.malformed] {
				t.Fatalf("malformed counted %d times", got)
			}
			if s.Applied("shard-0") != 1 && tc.frames == 1 {
				t.Fatal("the good frame before was not applied")
			}
		})
	}
}

func TestAFailedApplyKeepsTheCursor(t *testing.T) {
	rec := &recorder{}
	s := bare(t, rec)
	if _, err := s.consume(context.Background(), strings.NewReader(ndjson(t, change("shard-0", 1)))); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	boom := errors.New("redis is down")
	rec.failNext(boom)
	n, err := s.consume(context.Background(), strings.NewReader(ndjson(t, change("shard-0", 2), change("shard-0", 3))))
	var ae *ApplyError
	if n != 0 || !errors.As(err, &ae) || !errors.Is(err, boom) || ae.Keyspace != "shard-0" || ae.Seq != 2 {
		t.Fatalf("consume = %d, %v; want an ApplyError for shard-0.2", n, err)
	}
	if s.Applied("shard-0") != 1 {
		t.Fatalf("the cursor moved past a change that was not applied: %d", s.Applied("shard-0"))
	}
	// The next subscription brings it again.
	if _, err := s.consume(context.Background(), strings.NewReader(ndjson(t, change("shard-0", 2), change("shard-0", 3)))); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if want := []string{"apply shard-0.1 k:1", "apply shard-0.2 k:2", "apply shard-0.3 k:3"}; !slices.Equal(rec.got(), want) {
		t.Fatalf("applied %q, want %q", rec.got(), want)
	}
	// A failed flush keeps the cursor too.
	rec.failNext(boom)
	if _, err := s.consume(context.Background(), strings.NewReader(ndjson(t, reset("shard-0", 50)))); !errors.As(err, &ae) || ae.Seq != 0 {
		t.Fatalf("a failed reset: %v", err)
	}
	if s.Applied("shard-0") != 3 || s.Stats().Resets != 0 {
		t.Fatalf("cursor %d resets %d after a failed flush", s.Applied("shard-0"), s.Stats().Resets)
	}
}

// A frame applied twice (delivery is at least once) leaves the same state.
func TestApplyingTwiceIsHarmless(t *testing.T) {
	frames := []stream.Frame{change("shard-0", 1), change("shard-0", 2), head("shard-0", 2, 1), reset("shard-0", 5), change("shard-0", 5)}
	once, twice := bare(t, &recorder{}), bare(t, &recorder{})
	once.consume(context.Background(), strings.NewReader(ndjson(t, frames...)))
	var doubled []stream.Frame
	for _, f := range frames {
		doubled = append(doubled, f, f)
	}
	twice.consume(context.Background(), strings.NewReader(ndjson(t, doubled...)))
	a, b := once.Stats(), twice.Stats()
	if !equalCursors(once.Cursors(), twice.Cursors()) || a.Applied != b.Applied || a.Resets != b.Resets || b.Duplicates != a.Duplicates+4 {
		t.Fatalf("once %+v %v, twice %+v %v", a, once.Cursors(), b, twice.Cursors())
	}
}
