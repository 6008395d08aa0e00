package edge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFreshnessAndAge(t *testing.T) {
	o := newOrigin(t, answer(`{"menu":1}`, "Cache-Control", "public, max-age=60", "Content-Type", "application/json"))
	e := edgeFor(t, o, nil)
	if r := e.get("/menu"); r.StatusCode != 200 || r.xcache() != "MISS" || r.body != `{"menu":1}` {
		t.Fatalf("first: %d %s %q", r.StatusCode, r.xcache(), r.body)
	}
	e.clock.Advance(10 * time.Second)
	r := e.get("/menu")
	if r.xcache() != "HIT-L1" || r.Header.Get("Age") != "10" || r.body != `{"menu":1}` {
		t.Fatalf("second: %s age %q %q", r.xcache(), r.Header.Get("Age"), r.body)
	}
	e.clock.Advance(60 * time.Second)
	if r := e.get("/menu"); r.xcache() != "MISS" {
		t.Fatalf("after max-age: %s, want MISS (a new fetch)", r.xcache())
	}
	if o.hits.Load() != 2 {
		t.Fatalf("origin hit %d times, want 2", o.hits.Load())
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	o := newOrigin(t, answer("v1", "Cache-Control", "public, max-age=10, stale-while-revalidate=60"))
	e := edgeFor(t, o, nil)
	e.get("/x")
	o.set(answer("v2", "Cache-Control", "public, max-age=10, stale-while-revalidate=60"))
	e.clock.Advance(20 * time.Second)
	if r := e.get("/x"); r.xcache() != "STALE-L1" || r.body != "v1" {
		t.Fatalf("within stale-while-revalidate: %s %q, want the stale v1 at once", r.xcache(), r.body)
	}
	eventually(t, "the background refresh", func() bool { return e.get("/x").body == "v2" })
	if n := o.hits.Load(); n != 2 {
		t.Fatalf("origin hit %d times, want 2 (one background refresh)", n)
	}
}

func TestStaleIfErrorWhenTheOriginFails(t *testing.T) {
	o := newOrigin(t, answer("kept", "Cache-Control", "public, max-age=10, stale-if-error=600"))
	e := edgeFor(t, o, nil)
	e.get("/x")
	e.clock.Advance(30 * time.Second)
	o.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	if r := e.get("/x"); r.StatusCode != 200 || r.xcache() != "STALE-L1" || r.body != "kept" {
		t.Fatalf("origin 500: %d %s %q, want the stale entry", r.StatusCode, r.xcache(), r.body)
	}
	o.srv.Close() // unreachable
	if r := e.get("/x"); r.StatusCode != 200 || r.body != "kept" {
		t.Fatalf("origin gone: %d %q, want the stale entry", r.StatusCode, r.body)
	}
	e.clock.Advance(time.Hour) // past stale-if-error
	if r := e.get("/x"); r.StatusCode != 502 {
		t.Fatalf("origin gone past stale-if-error: %d, want 502", r.StatusCode)
	}
}

func TestConditionalRevalidationAnd304(t *testing.T) {
	var conditional sync.Map
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		conditional.Store(r.Header.Get("If-None-Match"), true)
		w.Header().Set("Cache-Control", "public, max-age=5")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("body-v1"))
	})
	e := edgeFor(t, o, nil)
	e.get("/r")
	if r := e.get("/r", "If-None-Match", `"v1"`); r.StatusCode != 304 || r.body != "" {
		t.Fatalf("client conditional on a fresh entry: %d %q, want 304", r.StatusCode, r.body)
	}
	e.clock.Advance(10 * time.Second)
	if r := e.get("/r"); r.xcache() != "REVALIDATED" || r.body != "body-v1" {
		t.Fatalf("stale entry: %s %q, want REVALIDATED body-v1", r.xcache(), r.body)
	}
	if _, ok := conditional.Load(`"v1"`); !ok {
		t.Fatal("the edge did not revalidate with If-None-Match")
	}
	if r := e.get("/r"); r.xcache() != "HIT-L1" {
		t.Fatalf("after revalidation: %s, want HIT-L1 (freshened)", r.xcache())
	}
}

func TestVary(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "hello in %s", r.Header.Get("Accept-Language"))
	})
	e := edgeFor(t, o, nil)
	for _, lang := range []string{"en", "fr", "en", "fr"} {
		if r := e.get("/v", "Accept-Language", lang); r.body != "hello in "+lang {
			t.Fatalf("Accept-Language %s got %q", lang, r.body)
		}
	}
}

func TestPrivateIsNeverShared(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		fmt.Fprintf(w, "for %s", r.Header.Get("X-Who"))
	})
	e := edgeFor(t, o, nil)
	if r := e.get("/p", "X-Who", "alice"); r.body != "for alice" {
		t.Fatal(r.body)
	}
	if r := e.get("/p", "X-Who", "bob"); r.body != "for bob" || r.xcache() == "HIT-L1" {
		t.Fatalf("bob got %q (%s): a private answer was shared", r.body, r.xcache())
	}
}

func TestCompressedOnceServedAsAccepted(t *testing.T) {
	body := strings.Repeat(`{"dish":"noodles","price_cents":1200}`, 40)
	o := newOrigin(t, answer(body, "Cache-Control", "public, max-age=60", "Content-Type", "application/json"))
	e := edgeFor(t, o, nil)
	e.get("/c")
	for enc, want := range map[string]string{"br, gzip": "br", "gzip": "gzip", "": ""} {
		r := e.get("/c", "Accept-Encoding", enc)
		if got := r.Header.Get("Content-Encoding"); got != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", enc, got, want)
		}
		if want == "" && r.body != body {
			t.Error("identity body differs from the origin's")
		}
	}
}

func TestThousandConcurrentMissesMakeOneUpstreamRequest(t *testing.T) {
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Write([]byte("shared"))
	})
	e := edgeFor(t, o, nil)
	const n = 1000
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Go(func() { bodies[i] = e.get("/hot").body })
	}
	eventually(t, "all requests waiting", func() bool { return e.s.group.Stats().Waiting >= n })
	close(release)
	wg.Wait()
	if o.hits.Load() != 1 {
		t.Fatalf("%d concurrent misses made %d upstream requests, want 1", n, o.hits.Load())
	}
	for i, b := range bodies {
		if b != "shared" {
			t.Fatalf("request %d got %q", i, b)
		}
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "%s %d", r.Method, time.Now().UnixNano())
	})
	e := edgeFor(t, o, nil)
	first := e.get("/item").body
	if e.get("/item").body != first {
		t.Fatal("not cached")
	}
	if r := e.do("POST", "/item", "x"); r.StatusCode != 200 || r.xcache() != "BYPASS" {
		t.Fatalf("POST: %d %s", r.StatusCode, r.xcache())
	}
	if r := e.get("/item"); r.body == first || r.xcache() != "MISS" {
		t.Fatalf("after POST: %s %q, want a fresh MISS", r.xcache(), r.body)
	}
}

// eventually polls cond until it holds (10 s at most).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
