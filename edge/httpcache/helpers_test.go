package httpcache

import (
	"testing"
	"time"
)

// t0 is the tests' "now" at the origin.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func httpDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") }

// hdr is a fake header from name/value pairs; a name may repeat.
func hdr(kv ...string) fieldList {
	if len(kv)%2 != 0 {
		panic("hdr: odd number of strings")
	}
	var l fieldList
	for i := 0; i < len(kv); i += 2 {
		l = append(l, Field{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return l
}

// peekOnly hides PeekAll and All: a Header that sees one line per field.
type peekOnly struct{ h Header }

func (p peekOnly) Peek(key string) []byte { return p.h.Peek(key) }

// exchange is a GET to example.com/menu answered at t0 with resp.
func exchange(status int, req, resp fieldList) *Exchange {
	return &Exchange{
		Method: []byte("GET"), Host: []byte("example.com"), Path: []byte("/menu?shop=12"),
		Request: req, Status: status, Response: resp,
		RequestTime: t0.Add(-100 * time.Millisecond), ResponseTime: t0,
	}
}

// store runs Decide and NewEntry and fails the test if either refuses.
func store(t testing.TB, x *Exchange, p *Policy, body string) *Entry {
	t.Helper()
	d := Decide(x, p)
	if !d.Store {
		t.Fatalf("Decide: not stored: %v", d.Reason)
	}
	e, err := NewEntry(x, &d, []byte(body), nil)
	if err != nil {
		t.Fatalf("NewEntry: %v", err)
	}
	return e
}

// params is a fake route capture set.
type params map[string]string

func (p params) Get(name string) []byte {
	if v, ok := p[name]; ok {
		return []byte(v)
	}
	return nil
}
