package httpcache

import (
	"testing"
	"time"
)

func TestRefreshed(t *testing.T) {
	base := func() *Entry {
		x := exchange(200, hdr("Accept-Language", "de"), hdr("Cache-Control", "max-age=60", "Date", httpDate(t0),
			"ETag", `"v1"`, "Last-Modified", httpDate(t0.Add(-time.Hour)), "Content-Type", "text/plain",
			"X-Old", "1", "Surrogate-Key", "shop:1", "Vary", "Accept-Language", "Cq-Version", "global.1"))
		x.RequestTime = t0
		return store(t, x, nil, "body")
	}
	later := t0.Add(10 * time.Minute)
	revalidation := func(resp fieldList) *Exchange {
		x := exchange(304, hdr("Accept-Language", "de"), resp)
		x.RequestTime, x.ResponseTime = later, later
		return x
	}
	for _, tc := range []struct {
		name     string
		resp     fieldList
		selected bool
		store    bool
		check    func(t *testing.T, n *Entry)
	}{
		{name: "4.3.4 same strong ETag freshens", resp: hdr("ETag", `"v1"`, "Date", httpDate(later), "Cache-Control", "max-age=120"),
			selected: true, store: true, check: func(t *testing.T, n *Entry) {
				if n.State(later.Add(100*time.Second)) != Fresh || n.Age(later) != 0 {
					t.Errorf("state %v age %d", n.State(later.Add(100*time.Second)), n.Age(later))
				}
				if cc := fieldList(n.Header()).Peek("Cache-Control"); string(cc) != "max-age=120" {
					t.Errorf("Cache-Control %q", cc)
				}
			}},
		{name: "4.3.4 stored fields kept when the 304 omits them", resp: hdr("ETag", `"v1"`, "Date", httpDate(later)),
			selected: true, store: true, check: func(t *testing.T, n *Entry) {
				h := fieldList(n.Header())
				if string(h.Peek("X-Old")) != "1" || string(h.Peek("Cache-Control")) != "max-age=60" || n.Version() != "global.1" {
					t.Errorf("header %v version %q", h, n.Version())
				}
				if len(n.SurrogateKeys()) != 3 || n.SurrogateKeys()[0] != "shop:1" || n.SurrogateKeys()[2] != "ks:global" {
					t.Errorf("keys %q", n.SurrogateKeys())
				}
				if !n.Matches(hdr("Accept-Language", "de")) || n.Matches(hdr("Accept-Language", "fr")) {
					t.Error("vary lost")
				}
				if n.State(later.Add(59*time.Second)) != Fresh {
					t.Error("not freshened")
				}
			}},
		{name: "3.2 Content-Type and ETag are not updated", resp: hdr("ETag", `W/"v1"`, "Content-Type", "text/html", "X-Old", "2", "Cq-Version", "global.2"),
			selected: true, store: true, check: func(t *testing.T, n *Entry) {
				h := fieldList(n.Header())
				if string(h.Peek("Content-Type")) != "text/plain" || string(h.Peek("X-Old")) != "2" || string(h.Peek("ETag")) != `"v1"` {
					t.Errorf("header %v", h)
				}
				if n.Version() != "global.2" {
					t.Errorf("version %q", n.Version())
				}
			}},
		{name: "4.3.4 new surrogate keys replace", resp: hdr("Surrogate-Key", "shop:2"), selected: true, store: true,
			check: func(t *testing.T, n *Entry) {
				if keys := n.SurrogateKeys(); len(keys) != 3 || keys[0] != "shop:2" || keys[2] != "ks:global" {
					t.Errorf("keys %q", keys)
				}
			}},
		{name: "4.3.4 no validators selects", resp: hdr("Date", httpDate(later)), selected: true, store: true},
		{name: "4.3.4 same Last-Modified selects", resp: hdr("Last-Modified", httpDate(t0.Add(-time.Hour))), selected: true, store: true},
		{name: "4.3.4 other Last-Modified does not select", resp: hdr("Last-Modified", httpDate(t0))},
		{name: "4.3.4 other strong ETag does not select", resp: hdr("ETag", `"v2"`)},
		{name: "4.3.4 malformed ETag does not select", resp: hdr("ETag", `v1`)},
		{name: "4.1 other Vary does not select", resp: hdr("ETag", `"v1"`, "Vary", "Cookie")},
		{name: "4.1 same Vary selects", resp: hdr("ETag", `"v1"`, "Vary", "accept-language"), selected: true, store: true},
		{name: "5.2.2.5 now no-store: use once, do not keep", resp: hdr("ETag", `"v1"`, "Cache-Control", "no-store"), selected: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base()
			n, store := e.Refreshed(revalidation(tc.resp), nil)
			if (n != nil) != tc.selected || store != tc.store {
				t.Fatalf("Refreshed = %v, %v; want selected %v store %v", n != nil, store, tc.selected, tc.store)
			}
			if n != nil && (string(n.bodies[identity]) != "body" || string(n.Key()) != string(e.Key())) {
				t.Error("body or key changed")
			}
			if tc.check != nil {
				tc.check(t, n)
			}
			if e.State(later) != Stale {
				t.Error("the old entry changed")
			}
		})
	}
	if n, _ := base().Refreshed(exchange(200, nil, hdr()), nil); n != nil {
		t.Error("a 200 refreshed the entry")
	}
}
