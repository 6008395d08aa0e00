package app

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseOrderRef(t *testing.T) {
	for _, c := range []struct {
		in   string
		want OrderRef
		ok   bool
	}{
		{"42-7001", OrderRef{42, 7001}, true},
		{"9223372036854775807-1", OrderRef{1<<63 - 1, 1}, true},
		{"9223372036854775808-1", OrderRef{}, false}, // overflows int64
		{"0-1", OrderRef{}, false},
		{"1-0", OrderRef{}, false},
		{"01-5", OrderRef{}, false},
		{"+1-5", OrderRef{}, false},
		{"-1-5", OrderRef{}, false},
		{"1--5", OrderRef{}, false},
		{"1-5-6", OrderRef{}, false},
		{"1-", OrderRef{}, false},
		{"-5", OrderRef{}, false},
		{"15", OrderRef{}, false},
		{"1 -5", OrderRef{}, false},
		{"", OrderRef{}, false},
		{"a-b", OrderRef{}, false},
	} {
		got, err := ParseOrderRef(c.in)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("ParseOrderRef(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, ErrBadOrderRef) {
			t.Errorf("ParseOrderRef(%q): %v does not wrap ErrBadOrderRef", c.in, err)
		}
		if err == nil && got.String() != c.in {
			t.Errorf("%q round-trips to %q", c.in, got.String())
		}
	}
}

func TestCursors(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	c := timeCursor{At: at, ID: 12345}
	got, ok := decodeTimeCursor(c.String())
	if !ok || !got.At.Equal(at) || got.ID != 12345 {
		t.Fatalf("time cursor round trip: %v %v", got, ok)
	}
	if id, ok := decodeIDCursor(encodeIDCursor(77)); !ok || id != 77 {
		t.Fatalf("id cursor round trip: %d %v", id, ok)
	}
	for _, bad := range []string{"", "!!", "MTI", "MDc", "LTE", "MTIzLjQ1Ng==", "YWJj", "MTIzLg", "LjEy", "MTIzLjA"} {
		if _, ok := decodeTimeCursor(bad); ok {
			t.Errorf("time cursor %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "MDc", "LTE", "YWJj", "MTI=", "MTIK"} {
		if _, ok := decodeIDCursor(bad); ok {
			t.Errorf("id cursor %q accepted", bad)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for _, c := range []struct {
		q    string
		want int
		ok   bool
	}{
		{"", DefaultPageLimit, true}, {"limit=1", 1, true}, {"limit=100", 100, true},
		{"limit=0", 0, false}, {"limit=101", 0, false}, {"limit=-1", 0, false}, {"limit=x", 0, false}, {"limit=07", 0, false},
	} {
		got, err := pageLimit(httptest.NewRequest("GET", "/?"+c.q, nil))
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("%q: %d, %v", c.q, got, err)
		}
	}
}

func TestStateMachine(t *testing.T) {
	all := []Status{StatusPendingPayment, StatusPaid, StatusAccepted, StatusDelivering, StatusCompleted, StatusCancelled}
	legal := map[[2]Status]bool{
		{StatusPendingPayment, StatusPaid}: true, {StatusPendingPayment, StatusCancelled}: true,
		{StatusPaid, StatusAccepted}: true, {StatusPaid, StatusCancelled}: true,
		{StatusAccepted, StatusDelivering}: true, {StatusDelivering, StatusCompleted}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := from.CanBecome(to); got != legal[[2]Status{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
	}
}

func TestFields(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(f *fields)
		ok   bool
	}{
		{"text ok", func(f *fields) { f.text("n", "Zoë", 1, 3) }, true},
		{"text too long in runes", func(f *fields) { f.text("n", "Zoëy", 1, 3) }, false},
		{"text blank", func(f *fields) { f.text("n", "   ", 1, 10) }, false},
		{"text control", func(f *fields) { f.text("n", "a\x00b", 1, 10) }, false},
		{"text invalid utf8", func(f *fields) { f.text("n", "a\xffb", 1, 10) }, false},
		{"optional empty", func(f *fields) { f.text("n", "", 0, 10) }, true},
		{"between", func(f *fields) { f.between("q", 0, 1, 99) }, false},
		{"id", func(f *fields) { f.id("id", 0) }, false},
		{"email", func(f *fields) { f.check(validEmail("a@b.co"), "e", "x") }, true},
		{"email without domain dot", func(f *fields) { f.check(validEmail("a@b"), "e", "x") }, false},
		{"email two ats", func(f *fields) { f.check(validEmail("a@b@c.co"), "e", "x") }, false},
		{"phone", func(f *fields) { f.check(validPhone("+1 (555) 010-0000"), "p", "x") }, true},
		{"phone letters", func(f *fields) { f.check(validPhone("call me"), "p", "x") }, false},
		{"country", func(f *fields) { f.check(validCountry("us"), "c", "x") }, false},
	} {
		var f fields
		c.run(&f)
		if c.ok != (f.err == nil) {
			t.Errorf("%s: %v", c.name, f.err)
		}
	}
}

func TestCachePolicyHeader(t *testing.T) {
	for _, c := range []struct {
		p    CachePolicy
		want string
	}{
		{CachePolicy{}, "public, s-maxage=60, stale-while-revalidate=30, stale-if-error=600"},
		{CachePolicy{SMaxAge: 5 * time.Second, StaleWhileRevalidate: -1, StaleIfError: time.Hour}, "public, s-maxage=5, stale-if-error=3600"},
	} {
		if got := c.p.Header(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

func TestNewNeedsExecAndIDs(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Exec") {
		t.Fatalf("New without an executor: %v", err)
	}
}

func TestRequestHashSeparatesParts(t *testing.T) {
	if string(requestHash("ab", "c")) == string(requestHash("a", "bc")) {
		t.Fatal("parts run together")
	}
}

func FuzzParseOrderRef(f *testing.F) {
	for _, s := range []string{"42-7001", "0-1", "01-5", "-", "9223372036854775808-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseOrderRef(s)
		if err == nil && (ref.String() != s || ref.UserID <= 0 || ref.OrderID <= 0) {
			t.Fatalf("%q parsed to %v", s, ref)
		}
	})
}

func FuzzCursors(f *testing.F) {
	f.Add(timeCursor{At: time.Now(), ID: 5}.String())
	f.Add(encodeIDCursor(9))
	f.Add("MTIzLjQ1Ng")
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := decodeTimeCursor(s); ok && (c.String() != s || c.ID <= 0) {
			t.Fatalf("time cursor %q decoded to %v", s, c)
		}
		if id, ok := decodeIDCursor(s); ok && (encodeIDCursor(id) != s || id <= 0) {
			t.Fatalf("id cursor %q decoded to %d", s, id)
		}
	})
}

// TestUnrouted: what the mux does not route is answered in the API's
// error format, without touching a shard.
func TestUnrouted(t *testing.T) {
	a := &App{log: slog.Default()}
	h := a.routes()
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nope", 404, codeNotFound, ""},
		{"GET", "/", 404, codeNotFound, ""},
		{"DELETE", "/api/v1/me", 405, codeMethodNotAllowed, "GET, HEAD, PUT"},
		{"POST", "/api/v1/shops/1/menu", 405, codeMethodNotAllowed, "GET, HEAD"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status || errorCode(t, w) != c.code || w.Header().Get("Allow") != c.allow ||
			w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: %d %v %s", c.method, c.path, w.Code, w.Header(), w.Body)
		}
	}
}
