package stream

import (
	"errors"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range []Frame{
		{Type: TypeChange, Keyspace: "shard-0", Seq: 42, Keys: []string{"user:9:orders", "order:9-77"}},
		{Type: TypeHead, Keyspace: "global", Seq: 7, Oldest: 1},
		{Type: TypeReset, Keyspace: "shard-1", Oldest: 900},
	} {
		line, err := AppendFrame(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseFrame(line[:len(line)-1])
		if err != nil || got.Type != f.Type || got.Seq != f.Seq || len(got.Keys) != len(f.Keys) || got.Oldest != f.Oldest {
			t.Fatalf("%s → %+v, %v", line, got, err)
		}
	}
}

func TestParseFrameRefuses(t *testing.T) {
	for _, bad := range []string{
		``, `{}`, `{"t":"change","ks":"shard-0","seq":0,"keys":["a"]}`, `{"t":"change","ks":"shard-0","seq":1}`,
		`{"t":"change","ks":"Shard","seq":1,"keys":["a"]}`, `{"t":"gone","ks":"x"}`, `{"t":"head","ks":"x","extra":1}`,
		`{"t":"head","ks":"x"} {"t":"head","ks":"x"}`, `{"t":"change","ks":"x","seq":1,"keys":["a b"]}`,
	} {
		if _, err := ParseFrame([]byte(bad)); !errors.Is(err, ErrFrame) {
			t.Errorf("ParseFrame(%q) = %v, want ErrFrame", bad, err)
		}
	}
}

func TestCursors(t *testing.T) {
	c, err := ParseCursors("shard-1.7,global.12,shard-0.41")
	if err != nil || c["shard-0"] != 41 || c["global"] != 12 {
		t.Fatalf("%v %v", c, err)
	}
	if s := c.String(); s != "global.12,shard-0.41,shard-1.7" {
		t.Fatalf("String = %q", s)
	}
	for _, bad := range []string{"shard-1", ".5", "x.y", "X.1", "a.1,,b.2"} {
		if _, err := ParseCursors(bad); err == nil {
			t.Errorf("ParseCursors(%q) accepted", bad)
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"t":"change","ks":"shard-0","seq":42,"keys":["user:9:orders"]}`))
	f.Add([]byte(`{"t":"reset","ks":"global","oldest":3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			return
		}
		line, err := AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("a parsed frame does not encode: %v", err)
		}
		if _, err := ParseFrame(line[:len(line)-1]); err != nil {
			t.Fatalf("re-encoded frame does not parse: %v", err)
		}
	})
}
