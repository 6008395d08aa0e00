package origin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestHTTPOrigin(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/base/slow" {
			time.Sleep(time.Second)
		}
		w.Header().Set("X-Path", r.URL.Path)
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	o, err := NewHTTP(srv.URL + "/base/")
	if err != nil {
		t.Fatal(err)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://edge.example/api/x?y=1")
	if err := o.Do(context.Background(), req, resp); err != nil {
		t.Fatal(err)
	}
	if string(resp.Header.Peek("X-Path")) != "/base/api/x" || string(resp.Body()) != "hello" {
		t.Fatalf("origin saw %q, answered %q", resp.Header.Peek("X-Path"), resp.Body())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req.SetRequestURI("http://edge.example/slow")
	var f *Failure
	if err := o.Do(ctx, req, resp); !errors.As(err, &f) || f.Status != 504 {
		t.Fatalf("slow origin past the deadline: %v, want a 504 Failure", err)
	}
}

func TestHTTPOriginDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	o, _ := NewHTTP("http://" + addr)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://edge.example/")
	var f *Failure
	if err := o.Do(context.Background(), req, resp); !errors.As(err, &f) || f.Status != 502 {
		t.Fatalf("origin down: %v, want a 502 Failure", err)
	}
	for _, bad := range []string{"ftp://x", "http://", "http://x?y=1", "::"} {
		if _, err := NewHTTP(bad); err == nil {
			t.Errorf("NewHTTP(%q) accepted", bad)
		}
	}
}
