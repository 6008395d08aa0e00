package route

import (
	"errors"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, method, path string
		want                  bool
		param, value          string
	}{
		{"GET /api/v1/shops/{shop}/menu", "GET", "/api/v1/shops/12/menu", true, "shop", "12"},
		{"GET /api/v1/shops/{shop}/menu", "POST", "/api/v1/shops/12/menu", false, "", ""},
		{"GET /api/v1/shops/{shop}/menu", "GET", "/api/v1/shops//menu", false, "", ""},
		{"GET /api/v1/shops/{shop}/menu", "GET", "/api/v1/shops/12/menu/x", false, "", ""},
		{"GET /api/v1/shops/{shop}/menu", "GET", "/api/v1/shops/12", false, "", ""},
		{"* /api/v1/me/**", "DELETE", "/api/v1/me/cart/items/5", true, "", ""},
		{"* /api/v1/me/**", "GET", "/api/v1/me", true, "", ""},
		{"* /api/v1/me/**", "GET", "/api/v1/mess", false, "", ""},
		{"GET /", "GET", "/", true, "", ""},
		{"GET /api/v1/shops", "GET", "/api/v1/shops/", false, "", ""},
	} {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		var ps Params
		if got := p.Match([]byte(c.method), []byte(c.path), &ps); got != c.want {
			t.Errorf("%s matches %s %s = %v, want %v", c.pattern, c.method, c.path, got, c.want)
		}
		if c.param != "" && string(ps.Get(c.param)) != c.value {
			t.Errorf("%s on %s: %s = %q, want %q", c.pattern, c.path, c.param, ps.Get(c.param), c.value)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, bad := range []string{"", "GET", "get /x", "GET x", "GET /a{b}", "GET /{}", "GET /a/**/b"} {
		if _, err := Parse(bad); !errors.Is(err, ErrPattern) {
			t.Errorf("Parse(%q) = %v, want ErrPattern", bad, err)
		}
	}
}

func TestTableFirstMatchWinsWithoutAllocating(t *testing.T) {
	var tb Table[string]
	for _, r := range [][2]string{{"GET /api/v1/shops/{shop}/menu", "menu"}, {"GET /api/v1/shops/{shop}", "shop"}, {"* /api/v1/**", "api"}} {
		if err := tb.Add(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	var ps Params
	method, path := []byte("GET"), []byte("/api/v1/shops/7")
	if v, _, ok := tb.Lookup(method, path, &ps); !ok || v != "shop" || string(ps.Get("shop")) != "7" {
		t.Fatalf("lookup = %q %v", v, ok)
	}
	if n := testing.AllocsPerRun(100, func() { tb.Lookup(method, path, &ps) }); n != 0 {
		t.Fatalf("Lookup allocates %.0f times", n)
	}
}
