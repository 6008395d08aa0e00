package httpcache

import (
	"slices"
	"testing"
)

func TestInvalidationTargets(t *testing.T) {
	for _, tc := range []struct {
		name, method string
		status       int
		path         string
		resp         fieldList
		want         []string
	}{
		{"4.4 POST 201 invalidates the target", "POST", 201, "/orders", nil, []string{"url:example.com/orders"}},
		{"4.4 query is part of the target", "PUT", 200, "/cart?id=1", nil, []string{"url:example.com/cart?id=1"}},
		{"4.4 3xx is not an error", "DELETE", 303, "/cart", nil, []string{"url:example.com/cart"}},
		{"4.4 unknown methods are unsafe", "PURGEX", 200, "/a", nil, []string{"url:example.com/a"}},
		{"4.4 error status invalidates nothing", "POST", 500, "/orders", nil, nil},
		{"4.4 4xx invalidates nothing", "POST", 409, "/orders", nil, nil},
		{"4.4 safe method invalidates nothing", "GET", 200, "/orders", nil, nil},
		{"9.2.1 OPTIONS is safe", "OPTIONS", 200, "/orders", nil, nil},
		{"4.4 Location same host", "POST", 201, "/orders", hdr("Location", "/orders/17"),
			[]string{"url:example.com/orders", "url:example.com/orders/17"}},
		{"4.4 relative Location", "POST", 201, "/orders/", hdr("Location", "17?x=1"),
			[]string{"url:example.com/orders/", "url:example.com/orders/17?x=1"}},
		{"4.4 absolute Location same host", "POST", 201, "/orders", hdr("Location", "https://EXAMPLE.com/orders/17#frag"),
			[]string{"url:example.com/orders", "url:example.com/orders/17"}},
		{"4.4 other host is not invalidated", "POST", 201, "/orders", hdr("Location", "https://evil.test/orders/17"),
			[]string{"url:example.com/orders"}},
		{"4.4 Content-Location too", "PUT", 200, "/me", hdr("Content-Location", "/users/42", "Location", "/me"),
			[]string{"url:example.com/me", "url:example.com/users/42"}},
		{"4.4 malformed Location ignored", "POST", 201, "/o", hdr("Location", "http://[::1"), []string{"url:example.com/o"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp Header
			if tc.resp != nil {
				resp = tc.resp
			}
			got := InvalidationTargets([]byte(tc.method), tc.status, []byte("example.com"), []byte(tc.path), resp)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
