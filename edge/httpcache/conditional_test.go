package httpcache

import (
	"testing"
	"time"
)

func TestNotModified(t *testing.T) {
	lm := t0.Add(-time.Hour)
	withETag := func(etag string) *Entry {
		return store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "ETag", etag,
			"Last-Modified", httpDate(lm), "Content-Type", "image/png")), nil, "body")
	}
	strong, weak := withETag(`"v1"`), withETag(`W/"v1"`)
	noValidators := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "Date", httpDate(t0))), nil, "body")
	notFound := store(t, exchange(404, nil, hdr("Cache-Control", "max-age=60", "ETag", `"v1"`)), nil, "")
	for _, tc := range []struct {
		name string
		e    *Entry
		req  Header
		want bool
	}{
		{"13.1.2 strong tag matches", strong, hdr("If-None-Match", `"v1"`), true},
		{"13.1.2 weak comparison: W/ on the request", strong, hdr("If-None-Match", `W/"v1"`), true},
		{"13.1.2 weak comparison: W/ on the entry", weak, hdr("If-None-Match", `"v1"`), true},
		{"13.1.2 other tag", strong, hdr("If-None-Match", `"v2"`), false},
		{"13.1.2 list", strong, hdr("If-None-Match", `"a", "b" ,W/"v1"`), true},
		{"13.1.2 list over lines", strong, hdr("If-None-Match", `"a"`, "If-None-Match", `"v1"`), true},
		{"13.1.2 comma inside a tag", withETag(`"a,b"`), hdr("If-None-Match", `"x", "a,b"`), true},
		{"13.1.2 star", strong, hdr("If-None-Match", "*"), true},
		{"13.1.2 star without ETag", noValidators, hdr("If-None-Match", "*"), true},
		{"13.1.2 tag without entry ETag", noValidators, hdr("If-None-Match", `"v1"`), false},
		{"13.1.2 malformed list stops", strong, hdr("If-None-Match", `v1, "v1"`), false},
		{"13.1.2 tags are case-sensitive", strong, hdr("If-None-Match", `"V1"`), false},
		{"13.2.2 If-None-Match beats If-Modified-Since", strong,
			hdr("If-None-Match", `"v2"`, "If-Modified-Since", httpDate(t0)), false},
		{"13.1.3 not modified since", strong, hdr("If-Modified-Since", httpDate(lm)), true},
		{"13.1.3 later date", strong, hdr("If-Modified-Since", httpDate(t0)), true},
		{"13.1.3 modified since", strong, hdr("If-Modified-Since", httpDate(lm.Add(-time.Second))), false},
		{"13.1.3 invalid date ignored", strong, hdr("If-Modified-Since", "yesterday"), false},
		{"13.1.3 two dates ignored", strong, hdr("If-Modified-Since", httpDate(t0)+", "+httpDate(t0)), false},
		{"4.3.2 no Last-Modified: Date counts", noValidators, hdr("If-Modified-Since", httpDate(t0)), true},
		{"4.3.2 no Last-Modified: Date later", noValidators, hdr("If-Modified-Since", httpDate(t0.Add(-time.Second))), false},
		{"4.3.2 only 200 entries", notFound, hdr("If-None-Match", `"v1"`), false},
		{"no conditional fields", strong, hdr(), false},
		{"peek-only header", strong, peekOnly{hdr("If-None-Match", `"v1"`)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.NotModified(tc.req); got != tc.want {
				t.Errorf("NotModified = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidators(t *testing.T) {
	lm := httpDate(t0.Add(-time.Hour))
	// A compressed text entry serves a weak ETag but revalidates with the
	// origin's own.
	e := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "ETag", `"v1"`, "Last-Modified", lm,
		"Content-Type", "text/plain")), nil, string(make([]byte, 4096)))
	inm, ims := e.Validators()
	if string(inm) != `"v1"` || string(ims) != lm {
		t.Errorf("Validators = %q, %q", inm, ims)
	}
	if got := fieldList(e.Header()).Peek("ETag"); string(got) != `W/"v1"` {
		t.Errorf("served ETag %q, want weak", got)
	}
}
