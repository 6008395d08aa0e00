package httpcache

import "testing"

func TestAppendKey(t *testing.T) {
	for _, tc := range []struct {
		name, method, host, path string
		owner                    int64
		want                     string
	}{
		{"GET shared", "GET", "example.com", "/menu?shop=12", 0, "GET 0 11:example.com/menu?shop=12"},
		{"HEAD shares GET's entry", "HEAD", "example.com", "/menu?shop=12", 0, "GET 0 11:example.com/menu?shop=12"},
		{"host lowered, trailing dot dropped", "GET", "Example.COM.", "/a", 0, "GET 0 11:example.com/a"},
		{"port kept", "GET", "example.com:8443", "/a", 0, "GET 0 16:example.com:8443/a"},
		{"query kept as sent", "GET", "h", "/a?b=2&a=1", 0, "GET 0 1:h/a?b=2&a=1"},
		{"path case kept", "GET", "h", "/A%2f", 0, "GET 0 1:h/A%2f"},
		{"per user", "GET", "h", "/me", 42, "GET 42 1:h/me"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendKey(nil, []byte(tc.method), []byte(tc.host), []byte(tc.path), tc.owner)
			if string(got) != tc.want {
				t.Errorf("AppendKey = %q, want %q", got, tc.want)
			}
		})
	}
	// The host's length prefix keeps hostile hosts from forging keys.
	a := AppendKey(nil, []byte("GET"), []byte("h/x"), []byte("/y"), 0)
	b := AppendKey(nil, []byte("GET"), []byte("h"), []byte("/x/y"), 0)
	if string(a) == string(b) {
		t.Error("host/path boundary is ambiguous")
	}
	if Hash(a) == Hash(b) || Hash(a) != Hash([]byte(string(a))) {
		t.Error("Hash")
	}
}

func TestURLKey(t *testing.T) {
	if got := URLKey("Example.com", "/menu?shop=12"); got != "url:example.com/menu?shop=12" {
		t.Errorf("URLKey = %q", got)
	}
}

func TestXCache(t *testing.T) {
	if HitFrom(1) != HitL1 || HitFrom(2) != HitL2 || StaleFrom(1) != StaleL1 || StaleFrom(2) != StaleL2 {
		t.Error("levels")
	}
}
