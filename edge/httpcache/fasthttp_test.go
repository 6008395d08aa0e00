package httpcache

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fasthttp's headers are what the edge passes in.
var (
	_ Header      = (*fasthttp.RequestHeader)(nil)
	_ MultiHeader = (*fasthttp.RequestHeader)(nil)
	_ Fields      = (*fasthttp.ResponseHeader)(nil)
	_ MultiHeader = (*fasthttp.ResponseHeader)(nil)
)

func fastRequest(t testing.TB, raw string) *fasthttp.RequestHeader {
	var h fasthttp.RequestHeader
	if err := h.Read(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n") + "\r\n"))); err != nil {
		t.Fatal(err)
	}
	return &h
}

func fastResponse(t testing.TB, raw string) *fasthttp.ResponseHeader {
	var h fasthttp.ResponseHeader
	if err := h.Read(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n") + "\r\n"))); err != nil {
		t.Fatal(err)
	}
	return &h
}

func TestWithFasthttpHeaders(t *testing.T) {
	req := fastRequest(t, `GET /menu?shop=12 HTTP/1.1
Host: example.com
Accept-Language: de
Accept-Language: fr
Accept-Encoding: gzip, br
If-None-Match: "x"
If-None-Match: W/"v1"
`)
	resp := fastResponse(t, `HTTP/1.1 200 OK
Content-Type: application/json
Content-Length: 2048
Cache-Control: public
Cache-Control: max-age=60
Vary: Accept-Language
Vary: Accept-Encoding
ETag: "v1"
Set-Cookie: a=b
Surrogate-Key: shop:12
Surrogate-Key: menu:12
Connection: keep-alive
`)
	x := &Exchange{Method: req.Method(), Host: req.Host(), Path: req.RequestURI(), Request: req,
		Status: resp.StatusCode(), Response: resp, RequestTime: t0, ResponseTime: t0}
	d := Decide(x, nil)
	if !d.Store || d.Lifetime != time.Minute || len(d.SurrogateKeys) != 3 {
		t.Fatalf("decision %+v", d)
	}
	e, err := NewEntry(x, &d, make([]byte, 2048), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := fieldList(e.Header())
	if string(h.Peek("Content-Type")) != "application/json" || h.Peek("Set-Cookie") != nil || h.Peek("Content-Length") != nil ||
		string(h.Peek("Vary")) != "accept-encoding, accept-language" {
		t.Errorf("replayed %v", h)
	}
	if !e.Matches(req) || !e.NotModified(req) {
		t.Error("the stored request does not match itself")
	}
	if e.Matches(fastRequest(t, "GET / HTTP/1.1\nHost: example.com\nAccept-Language: de\n")) {
		t.Error("one Accept-Language line matched two")
	}
	if _, coding := e.Pick(req.Peek("Accept-Encoding")); string(coding) != "br" {
		t.Errorf("coding %q", coding)
	}
	for name, f := range map[string]func(){
		"Matches":           func() { _ = e.Matches(req) },
		"NotModified":       func() { _ = e.NotModified(req) },
		"Pick":              func() { _, _ = e.Pick(req.Peek("Accept-Encoding")) },
		"RequestDirectives": func() { _ = RequestDirectives(req) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s with fasthttp's header: %v allocs per run", name, n)
		}
	}
}
