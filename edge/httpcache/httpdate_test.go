package httpcache

import (
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Unix()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"5.6.7 IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"5.6.7 surrounding whitespace", "  Sun, 06 Nov 1994 08:49:37 GMT ", true},
		{"5.6.7 obsolete RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"5.6.7 obsolete asctime", "Sun Nov  6 08:49:37 1994", true},
		{"5.6.7 not GMT", "Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"5.6.7 bad month", "Sun, 06 Foo 1994 08:49:37 GMT", false},
		{"5.6.7 bad day name", "Xyz, 06 Nov 1994 08:49:37 GMT", false},
		{"5.6.7 31 February", "Sun, 31 Feb 1994 08:49:37 GMT", false},
		{"5.6.7 hour 24", "Sun, 06 Nov 1994 24:49:37 GMT", false},
		{"5.6.7 lowercase month", "Sun, 06 nov 1994 08:49:37 GMT", false},
		{"5.3 zero", "0", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseHTTPDate([]byte(tc.in))
			if ok != tc.ok || ok && got != want {
				t.Errorf("parseHTTPDate(%q) = %d, %v", tc.in, got, ok)
			}
		})
	}
}
