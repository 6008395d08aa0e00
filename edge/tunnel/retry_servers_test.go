package tunnel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

// recorder is a core handler that notes the requests it sees.
type recorder struct {
	mu   sync.Mutex
	seen []string // "METHOD request-id body"
}

func (r *recorder) note(req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+coretunnel.RequestID(req.Context())+" "+string(body))
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestRetryRulesOnRealTunnels: a node that resets every stream after
// reading it (the handler ran; its answer is lost) and a node that
// answers. Reads and keyed writes are repeated on the second node, with
// the same request id and body; other writes are not, and get a 502.
func TestRetryRulesOnRealTunnels(t *testing.T) {
	p := getPKI(t)
	var lost, good recorder
	lostAddr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lost.note(r)
		panic(http.ErrAbortHandler) // the stream is reset: no answer
	}))
	goodAddr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		good.note(r)
		io.WriteString(w, "answered")
	}))
	c := newClient(t, p.edgeTLS, []string{lostAddr, goodAddr}, func(cfg *Config) { cfg.HealthInterval = time.Hour })

	tests := []struct {
		method     string
		key        string
		body       string
		noGetBody  bool // a body Do must keep itself
		wantStatus int  // 200: answered by the good node after a retry; else the UnavailableError's
	}{
		{"GET", "", "", false, 200},
		{"HEAD", "", "", false, 200},
		{"POST", "order-1", `{"a":1}`, false, 200},
		{"POST", "order-2", `{"a":2}`, true, 200},
		{"PUT", "put-1", `{"q":1}`, false, 200},
		{"POST", "", `{"a":3}`, false, 502},
		{"PUT", "", `{"q":2}`, false, 502},
		{"DELETE", "", "", false, 502},
		{"PATCH", "", `{"p":1}`, true, 502},
	}
	for _, tc := range tests {
		t.Run(tc.method+" key="+tc.key, func(t *testing.T) {
			lostBefore, goodBefore := len(lost.list()), len(good.list())
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, "/thing", body)
			if tc.noGetBody {
				req.Body, req.GetBody = io.NopCloser(bytes.NewBufferString(tc.body)), nil
			}
			if tc.key != "" {
				req.Header.Set(HeaderIdempotencyKey, tc.key)
			}
			undo := c.prefer(t, lostAddr)
			resp, err := c.Do(context.Background(), req)
			undo()
			id := req.Header.Get(coretunnel.HeaderRequestID)
			want := tc.method + " " + id + " " + tc.body
			if got := lost.list()[lostBefore:]; len(got) != 1 || got[0] != want {
				t.Fatalf("the first node saw %q, want once %q", got, want)
			}
			if tc.wantStatus == 200 {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := good.list()[goodBefore:]; resp.StatusCode != 200 || len(got) != 1 || got[0] != want {
					t.Fatalf("%d; the second node saw %q, want once %q", resp.StatusCode, got, want)
				}
				if resp.Header.Get(coretunnel.HeaderRequestID) != id {
					t.Fatalf("answered with request id %q, sent %q", resp.Header.Get(coretunnel.HeaderRequestID), id)
				}
				return
			}
			var ue *UnavailableError
			if !errors.As(err, &ue) || ue.Status != tc.wantStatus || !ue.Sent || ue.Attempts != 1 || ue.RetryAfter != DefaultRetryAfter {
				t.Fatalf("err %v (%+v), want a %d after one attempt", err, ue, tc.wantStatus)
			}
			if got := good.list()[goodBefore:]; len(got) != 0 {
				t.Fatalf("a write without a key was repeated on the second node: %q", got)
			}
		})
	}
	// A reset stream is not a dead node: the breaker stays closed, and the
	// failures are counted.
	if st := c.statusOf(t, lostAddr); st.Breaker != "closed" || st.Failures != uint64(len(tests)) || !strings.Contains(st.LastError, "INTERNAL_ERROR") {
		t.Fatalf("the resetting node: %+v", st)
	}
}

// TestTimeoutIs504: a core that never answers within RequestTimeout.
func TestTimeoutIs504(t *testing.T) {
	p := getPKI(t)
	release := make(chan struct{})
	defer close(release)
	slow := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	c := newClient(t, p.edgeTLS, []string{slow}, func(cfg *Config) { cfg.RequestTimeout = 200 * time.Millisecond })
	req, _ := http.NewRequest("GET", "/slow", nil)
	_, err := c.Do(context.Background(), req)
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.Status != http.StatusGatewayTimeout || !ue.Sent || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want a 504 UnavailableError", err)
	}
	// The caller's own cancellation is not the edge's to answer.
	c = newClient(t, p.edgeTLS, []string{slow}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, req)
		errc <- err
	}()
	eventually(t, 5*time.Second, "the request to be in flight", func() bool { return c.statusOf(t, slow).Outstanding > 0 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || errors.As(err, &ue) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if st := c.statusOf(t, slow); st.Breaker != "closed" || st.Outstanding != 0 {
		t.Fatalf("a slow node is not a dead one: %+v", st)
	}
}

// TestReadRetriedWhenItsAnswerIsCutShort: a node sends a read's headers
// and part of its body, then its connections are reset. Nothing was handed
// to the caller yet (Do reads such an answer ahead before returning it), so
// the read is repeated on the other node and the caller gets a whole answer.
// An answer longer than Config.ReadAheadBytes is streamed past that bound:
// a failure after it reaches the caller.
func TestReadRetriedWhenItsAnswerIsCutShort(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(map[bool]string{false: "read ahead", true: "streamed past the read-ahead"}[streamed], func(t *testing.T) {
			p := getPKI(t)
			started := make(chan struct{}, 1)
			cutAddr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "the first half, ")
				http.NewResponseController(w).Flush()
				started <- struct{}{}
				<-r.Context().Done() // the rest never comes
			}))
			cut := startProxy(t, cutAddr)
			goodAddr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "a whole answer")
			}))
			c := newClient(t, p.edgeTLS, []string{cut.addr(), goodAddr}, func(cfg *Config) {
				cfg.HealthInterval = time.Hour
				if streamed {
					cfg.ReadAheadBytes = 4
				}
			})
			type result struct {
				resp *http.Response
				err  error
			}
			done := make(chan result, 1)
			undo := c.prefer(t, cut.addr())
			go func() {
				req, _ := http.NewRequest("GET", "/thing", nil)
				resp, err := c.Do(context.Background(), req)
				done <- result{resp, err}
			}()
			<-started
			undo()
			if streamed {
				r := <-done // returned with the first bytes
				if r.err != nil {
					t.Fatal(r.err)
				}
				cut.kill()
				data, err := io.ReadAll(r.resp.Body)
				r.resp.Body.Close()
				if err == nil || string(data) != "the first half, " {
					t.Fatalf("read %q, %v; want the first half and the connection's failure", data, err)
				}
				return
			}
			select {
			case r := <-done:
				if r.err == nil {
					r.resp.Body.Close()
				}
				t.Fatalf("Do returned (%v) before the answer was whole", r.err)
			case <-time.After(100 * time.Millisecond):
			}
			cut.kill()
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			data, err := io.ReadAll(r.resp.Body)
			r.resp.Body.Close()
			if err != nil || r.resp.StatusCode != 200 || string(data) != "a whole answer" {
				t.Fatalf("%d %q, %v; want the other node's whole answer", r.resp.StatusCode, data, err)
			}
			if st := c.statusOf(t, cut.addr()); st.Failures != 1 || st.Outstanding != 0 {
				t.Fatalf("the cut node: %+v", st)
			}
			if st := c.statusOf(t, goodAddr); st.Outstanding != 0 {
				t.Fatalf("the good node, its answer read: %+v", st)
			}
		})
	}
}
