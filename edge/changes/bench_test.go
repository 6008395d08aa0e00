package changes

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkConsume is the subscriber's own cost per change: reading the
// line, parsing the frame, the cursor's checks, with an Apply that does
// nothing (the edge's purge costs what edge/cache says).
func BenchmarkConsume(b *testing.B) {
	var in bytes.Buffer
	for i := range b.N {
		fmt.Fprintf(&in, `{"t":"change","ks":"shard-%d","seq":%d,"keys":["user:%d:cart","user:%d:orders"]}`+"\n", i%4, i/4+1, i, i)
	}
	s := bare(b, &recorder{})
	s.cfg.Apply = func(context.Context, string, uint64, []string) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	frames, _ := s.consume(context.Background(), &in)
	if frames != b.N {
		b.Fatalf("%d frames of %d", frames, b.N)
	}
}

// BenchmarkApplied is the read-your-writes check's lookup, on every cache
// hit of a request that carries a version token.
func BenchmarkApplied(b *testing.B) {
	s := bare(b, &recorder{})
	for _, ks := range []string{"global", "shard-0", "shard-1", "shard-2"} {
		s.keyspace(ks).cursor.Store(42)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Applied("shard-1") != 42 {
			b.Fatal("lost")
		}
	}
}
