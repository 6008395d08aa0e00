package httpcache

import (
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	text := strings.Repeat("hello, menu! ", 100)
	all := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Type", "text/html; charset=utf-8")), nil, text)
	plain := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60", "Content-Type", "image/png")), nil, text)
	for _, tc := range []struct {
		name string
		e    *Entry
		ae   *string
		want string
	}{
		{"12.5.3 absent: identity", all, nil, ""},
		{"12.5.3 empty: identity", all, ptr(""), ""},
		{"12.5.3 br preferred on a tie", all, ptr("gzip, deflate, br"), "br"},
		{"12.5.3 gzip only", all, ptr("gzip"), "gzip"},
		{"8.4.1.3 x-gzip", all, ptr("x-gzip"), "gzip"},
		{"12.5.3 case-insensitive", all, ptr("GZIP"), "gzip"},
		{"12.4.2 q-values rank", all, ptr("br;q=0.5, gzip;q=0.9"), "gzip"},
		{"12.4.2 q=0 rules out", all, ptr("br;q=0, gzip"), "gzip"},
		{"12.4.2 all codings ruled out", all, ptr("br;q=0, gzip;q=0"), ""},
		{"12.5.3 star rates the rest", all, ptr("*"), "br"},
		{"12.5.3 star;q=0 with gzip", all, ptr("gzip;q=0.1, *;q=0"), "gzip"},
		{"12.5.3 identity preferred explicitly", all, ptr("identity, gzip;q=0.5"), ""},
		{"12.5.3 identity;q=0 still falls back", plain, ptr("identity;q=0"), ""},
		{"12.4.2 malformed q rules out", all, ptr("br;q=2, gzip;q=x, deflate"), ""},
		{"12.4.2 q with three decimals", all, ptr("br;q=0.001, gzip;q=0.002"), "gzip"},
		{"12.4.2 whitespace around ;", all, ptr("br ; q=0.4 , gzip ; q=0.3"), "br"},
		{"12.4.2 other parameters skipped", all, ptr("br;level=1;q=0.9, gzip;q=0.8"), "br"},
		{"12.5.3 first listing counts", all, ptr("br;q=0, br"), ""},
		{"no variants: identity", plain, ptr("br, gzip"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ae []byte
			if tc.ae != nil {
				ae = []byte(*tc.ae)
			}
			body, coding := tc.e.Pick(ae)
			if string(coding) != tc.want {
				t.Fatalf("coding %q, want %q", coding, tc.want)
			}
			if want := tc.e.bodies[codingIndex(tc.want)]; string(body) != string(want) || len(body) == 0 {
				t.Errorf("body is not the %q variant", tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func codingIndex(name string) int {
	switch name {
	case "gzip":
		return codingGzip
	case "br":
		return codingBr
	}
	return identity
}

func TestPickOpaque(t *testing.T) {
	e := store(t, exchange(200, nil, hdr("Cache-Control", "max-age=60, no-transform", "Content-Encoding", "gzip",
		"Content-Type", "text/plain")), nil, "not really gzip, kept as is")
	body, coding := e.Pick([]byte("br"))
	if string(coding) != "gzip" || string(body) != "not really gzip, kept as is" {
		t.Errorf("Pick = %q, %q", body, coding)
	}
}
