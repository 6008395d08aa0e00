package changes

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
)

// FuzzConsume feeds arbitrary bytes as a subscription's stream: nothing
// panics, and per keyspace the applied sequences only grow and the cursor
// never moves back, but for a reset.
func FuzzConsume(f *testing.F) {
	f.Add([]byte(`{"t":"change","ks":"shard-0","seq":1,"keys":["user:9:cart"]}` + "\n" + `{"t":"head","ks":"shard-0","seq":1,"oldest":1}` + "\n"))
	f.Add([]byte(`{"t":"change","ks":"global","seq":3,"keys":["a"]}` + "\n" + `{"t":"reset","ks":"global","oldest":9}` + "\n" + `{"t":"change","ks":"global","seq":2,"keys":["b"]}` + "\n"))
	f.Add([]byte("\r\n\n{\"t\":\"change\",\"ks\":\"x\",\"seq\":5,\"keys\":[\"k\"]}\r\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		s := bare(t, rec)
		// Half the input, then all of it again: the second pass is a
		// reconnect that repeats what the first delivered.
		half := data[:len(data)/2]
		for _, in := range [][]byte{half, data} {
			before, resets := s.Cursors(), s.Stats().Resets
			s.consume(context.Background(), bytes.NewReader(in))
			if s.Stats().Resets != resets {
				continue
			}
			for ks, c := range before {
				if s.Applied(ks) < c {
					t.Fatalf("the cursor of %s moved back from %d to %d", ks, c, s.Applied(ks))
				}
			}
		}
		last := map[string]uint64{}
		for _, e := range rec.got() {
			if ks, ok := strings.CutPrefix(e, "reset "); ok {
				delete(last, ks) // a reset may start the keyspace over
				continue
			}
			tok := strings.Fields(e)[1]
			i := strings.LastIndexByte(tok, '.')
			seq, _ := strconv.ParseUint(tok[i+1:], 10, 64)
			if prev, ok := last[tok[:i]]; ok && seq <= prev {
				t.Fatalf("%s applied after %s.%d", tok, tok[:i], prev)
			}
			last[tok[:i]] = seq
		}
	})
}
