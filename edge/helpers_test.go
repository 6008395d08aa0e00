package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/edge/origin"
)

// clock is time.Now moved forward by the test.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// testOrigin is a plain HTTP origin whose answer the test sets, counting
// the requests that reach it.
type testOrigin struct {
	srv     *httptest.Server
	hits    atomic.Int64
	handler atomic.Pointer[http.HandlerFunc]
	clock   atomic.Pointer[clock] // when set, Date follows the edge's clock
}

func newOrigin(t *testing.T, h http.HandlerFunc) *testOrigin {
	o := &testOrigin{}
	o.set(h)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if c := o.clock.Load(); c != nil {
			w.Header().Set("Date", c.Now().UTC().Format(http.TimeFormat))
		}
		(*o.handler.Load())(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOrigin) set(h http.HandlerFunc) { o.handler.Store(&h) }

// answer is a handler writing headers (name, value pairs) and body.
func answer(body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Add(headers[i], headers[i+1])
		}
		io.WriteString(w, body)
	}
}

// testEdge is a Server on loopback in front of an origin.
type testEdge struct {
	t      *testing.T
	s      *Server
	addr   string
	admin  string
	clock  *clock
	client *http.Client
}

const (
	testAdminToken = "edge-admin-token-0123456789"
	testHost       = "api.cangqiong.test"
)

func startEdge(t *testing.T, o origin.Origin, tune func(*Config)) *testEdge {
	t.Helper()
	e := &testEdge{t: t, clock: &clock{}}
	cfg := DefaultConfig()
	cfg.Origin, cfg.Now, cfg.AdminToken, cfg.Region, cfg.ID = o, e.clock.Now, testAdminToken, "test", "edge-1"
	cfg.Logger = quietLogger()
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	al, _ := net.Listen("tcp", "127.0.0.1:0")
	e.addr, e.admin = ln.Addr().String(), al.Addr().String()
	go s.Serve(ln)
	go s.ServeAdmin(al)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	e.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1024}}
	return e
}

// edgeFor starts an edge in front of o whose clock o's Date follows.
func edgeFor(t *testing.T, o *testOrigin, tune func(*Config)) *testEdge {
	e := startEdge(t, httpOrigin(t, o), tune)
	o.clock.Store(e.clock)
	return e
}

func httpOrigin(t *testing.T, o *testOrigin) origin.Origin {
	h, err := origin.NewHTTP(o.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// get requests path with headers (name, value pairs).
func (e *testEdge) get(path string, headers ...string) *response {
	return e.do("GET", path, "", headers...)
}

func (e *testEdge) do(method, path, body string, headers ...string) *response {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.addr+path, strings.NewReader(body))
	req.Host = testHost // every edge of the region serves one public name
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: string(b)}
}

type response struct {
	*http.Response
	body string
}

func (r *response) xcache() string { return r.Header.Get("X-Cache") }

// newOriginB is newOrigin for benchmarks.
func newOriginB(b *testing.B, h http.HandlerFunc) *testOrigin {
	o := &testOrigin{}
	o.set(h)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		(*o.handler.Load())(w, r)
	}))
	b.Cleanup(o.srv.Close)
	return o
}

func newBenchServer(b *testing.B, o *testOrigin) *Server {
	h, err := origin.NewHTTP(o.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Origin, cfg.Logger = h, quietLogger()
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// adminCall sends a request with the admin token and returns the body.
func (e *testEdge) adminCall(method, path, body string) string {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.admin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
