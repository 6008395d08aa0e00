package ryw

import (
	"sync"
	"testing"
)

func tok(t *testing.T, s string) Token {
	t.Helper()
	tk, err := ParseToken([]byte(s))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return tk
}

func TestParse(t *testing.T) {
	if got := tok(t, "shard-3.1234"); got != (Token{"shard-3", 1234}) {
		t.Fatalf("got %+v", got)
	}
	for _, bad := range []string{"", "shard-3", ".5", "shard-3.", "shard-3.x", "Shard-3.5", "sh ard.5", "a.-1", "a.99999999999999999999"} {
		if _, err := ParseToken([]byte(bad)); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
	s := ParseSet([]byte("shard-1.5|global.7, shard-1.9 junk shard-2.1"))
	if got := string(s.AppendText(nil)); got != "shard-1.9|global.7|shard-2.1" {
		t.Fatalf("set %q", got)
	}
}

func TestSetKeepsNewestAndStaysBounded(t *testing.T) {
	var s Set
	for i, k := range []string{"a.5", "b.1", "c.9", "d.3", "a.2", "e.4"} {
		s.Add(tok(t, k))
		if s.Len() > MaxTokens {
			t.Fatalf("after %d adds the set holds %d tokens", i+1, s.Len())
		}
	}
	if got := string(s.AppendText(nil)); got != "a.5|e.4|c.9|d.3" {
		t.Fatalf("set %q: a keeps 5 (not 2), e replaces the lowest (b.1)", got)
	}
}

func TestAllows(t *testing.T) {
	set := func(s string) Set { return ParseSet([]byte(s)) }
	for _, c := range []struct {
		name    string
		tokens  string
		entry   string // "" = unversioned
		perUser bool
		want    bool
	}{
		{"no tokens", "", "", false, true},
		{"unversioned entry, a token", "shard-1.5", "", false, false},
		{"same keyspace, new enough", "shard-1.5", "shard-1.5", true, true},
		{"same keyspace, older", "shard-1.5", "shard-1.4", true, false},
		{"catalog entry, shard token", "shard-1.5", "global.2", false, true},
		{"catalog entry, older catalog token", "global.9", "global.8", false, false},
		{"user entry, catalog token", "global.9", "shard-1.1", true, true},
		{"user entry of another shard (moved)", "shard-1.5", "shard-2.9", true, false},
		{"shared entry of another shard", "shard-1.5", "shard-2.9", false, true},
		{"two tokens, both satisfied", "shard-1.5|global.3", "global.3", false, true},
	} {
		var e Token
		ok := c.entry != ""
		if ok {
			e = tok(t, c.entry)
		}
		s := set(c.tokens)
		if got := s.Allows(e, ok, c.perUser); got != c.want {
			t.Errorf("%s: Allows = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAllowsDoesNotAllocate(t *testing.T) {
	s := ParseSet([]byte("shard-1.5|global.3"))
	e := Token{"shard-1", 7}
	if n := testing.AllocsPerRun(100, func() { s.Allows(e, true, true) }); n != 0 {
		t.Fatalf("Allows allocates %.0f times", n)
	}
}

func TestMemory(t *testing.T) {
	m, err := NewMemory(1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				m.Add(42, ParseSet([]byte("shard-1."+string(rune('0'+j%10)))))
				m.Add(int64(1000+i*100+j), Set{})
			}
		})
	}
	wg.Wait()
	if got := m.Get(42); string(got.AppendText(nil)) != "shard-1.9" {
		t.Fatalf("user 42 remembers %q, want shard-1.9", got.AppendText(nil))
	}
	if got := m.Get(7); got.Len() != 0 {
		t.Fatal("an unknown user has tokens")
	}
}
