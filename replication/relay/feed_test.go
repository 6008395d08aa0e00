package relay

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/replication/stream"
)

func changes(from, to uint64) []change {
	var cs []change
	for s := from; s <= to; s++ {
		cs = append(cs, change{seq: s, line: encodeChange("shard-0", s, fmt.Sprintf("user:%d", s))})
	}
	return cs
}

// seqsOf parses frames and returns their sequences.
func seqsOf(t *testing.T, b []byte) []uint64 {
	t.Helper()
	var out []uint64
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		f, err := stream.ParseFrame(line)
		if err != nil {
			t.Fatalf("frame %q: %v", line, err)
		}
		out = append(out, f.Seq)
	}
	return out
}

func TestFeedRead(t *testing.T) {
	f := newFeed("shard-0", 8, 10, 3) // head 10 at open: the ring starts at 11
	f.append(changes(11, 20))         // 20 changes > 8: the ring keeps 13..20
	if f.lo != 13 || f.head != 20 {
		t.Fatalf("ring bounds %d..%d, want 13..20", f.lo, f.head)
	}
	tests := []struct {
		name       string
		cursor     uint64
		limit      int
		want       readStatus
		wantCursor uint64
		wantSeqs   string
	}{
		{"up to date", 20, 10, upToDate, 20, "[]"},
		{"ahead of the head", 25, 10, ahead, 25, "[]"},
		{"older than the ring", 11, 10, needDB, 11, "[]"},
		{"just before the ring", 12, 10, fromRing, 20, "[13 14 15 16 17 18 19 20]"},
		{"inside the ring, limited", 14, 3, fromRing, 17, "[15 16 17]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, cursor, status, v := f.read(tc.cursor, nil, tc.limit)
			if status != tc.want || cursor != tc.wantCursor || fmt.Sprint(seqsOf(t, b)) != tc.wantSeqs {
				t.Fatalf("read(%d) = %v, cursor %d, %v; want %v, %d, %s", tc.cursor, status, cursor, seqsOf(t, b), tc.want, tc.wantCursor, tc.wantSeqs)
			}
			if v != (view{13, 20, 3}) {
				t.Fatalf("view %+v", v)
			}
		})
	}
}

// TestFeedGapRestartsTheRing: a change that does not follow the head makes
// the ring start at it, so a reader before it goes to the database.
func TestFeedGapRestartsTheRing(t *testing.T) {
	f := newFeed("shard-0", 8, 0, 1)
	f.append(changes(1, 3))
	f.append(changes(6, 7))
	if _, _, status, _ := f.read(3, nil, 10); status != needDB {
		t.Fatalf("a reader before the gap: %v, want needDB", status)
	}
	if b, _, status, _ := f.read(5, nil, 10); status != fromRing || fmt.Sprint(seqsOf(t, b)) != "[6 7]" {
		t.Fatalf("a reader at the gap: %v %v", status, seqsOf(t, b))
	}
}

func TestEncodeChange(t *testing.T) {
	line := encodeChange("shard-3", 42, "user:9:orders order:9-77")
	f, err := stream.ParseFrame(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil || f.Type != stream.TypeChange || f.Seq != 42 || fmt.Sprint(f.Keys) != "[user:9:orders order:9-77]" {
		t.Fatalf("%s → %+v, %v", line, f, err)
	}
	// A key the wire contract cannot carry purges the whole keyspace.
	line = encodeChange("global", 7, "menu:1 "+strings.Repeat("k", 300))
	f, err = stream.ParseFrame(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil || fmt.Sprint(f.Keys) != "[ks:global]" {
		t.Fatalf("%s → %+v, %v", line, f, err)
	}
}

func BenchmarkFeedRead(b *testing.B) {
	f := newFeed("shard-0", DefaultBufferSize, 0, 1)
	f.append(changes(1, 64))
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _, _ = f.read(0, buf[:0], 64)
	}
}

func BenchmarkEncodeChange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		encodeChange("shard-0", 123456, "user:42:orders order:42-9 shop:7:orders")
	}
}
