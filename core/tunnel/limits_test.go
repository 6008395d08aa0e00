package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

func TestBodyLimit(t *testing.T) {
	const limit = 1000
	p := getPKI(t)
	var calls atomic.Int64
	// The handler reads the whole body and, careless, answers 200 whatever
	// the read says: the tunnel must still answer 413 past the limit.
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		data, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Read", fmt.Sprint(len(data)))
		fmt.Fprintf(w, "read %d", len(data))
	}), func(c *Config) { c.MaxBodyBytes = limit })
	c := client(t, p.edge)
	tests := []struct {
		name    string
		size    int
		stream  bool // send without Content-Length
		status  int
		handled bool // the handler ran
	}{
		{"at the limit", limit, false, http.StatusOK, true},
		{"past the limit by Content-Length", limit + 1, false, http.StatusRequestEntityTooLarge, false},
		{"far past the limit by Content-Length", 10 * limit, false, http.StatusRequestEntityTooLarge, false},
		{"streamed, at the limit", limit, true, http.StatusOK, true},
		{"streamed past the limit", limit + 1, true, http.StatusRequestEntityTooLarge, true},
		{"streamed far past the limit", 100 * limit, true, http.StatusRequestEntityTooLarge, true},
		{"empty", 0, false, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(make([]byte, tt.size))
			if tt.stream {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest(http.MethodPost, ts.url+"/upload", body)
			if tt.stream && req.ContentLength != 0 {
				t.Fatal("the request has a Content-Length")
			}
			before := calls.Load()
			resp, got := do(t, c, req)
			if handled := calls.Load() > before; handled != tt.handled {
				t.Errorf("handler ran: %v, want %v", handled, tt.handled)
			}
			if tt.status == http.StatusOK {
				if resp.StatusCode != http.StatusOK || string(got) != fmt.Sprintf("read %d", tt.size) {
					t.Fatalf("%s %s", resp.Status, got)
				}
				return
			}
			checkError(t, resp, got, tt.status, httpapi.CodeBodyTooLarge)
			if resp.Header.Get("X-Read") != "" {
				t.Error("the 413 carries the handler's headers")
			}
		})
	}
}

// TestBodyLimitDecode: a handler that decodes with httpapi.Decode (and its
// own, larger limit) gets the tunnel's limit and answers 413 itself.
func TestBodyLimitDecode(t *testing.T) {
	p := getPKI(t)
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct{ Note string }
		if err := httpapi.Decode(w, r, 1<<30, &v); err != nil {
			httpapi.WriteError(w, err)
			return
		}
		fmt.Fprint(w, len(v.Note))
	}), func(c *Config) { c.MaxBodyBytes = 100 })
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/", io.MultiReader(bytes.NewReader([]byte(`{"note":"`+string(bytes.Repeat([]byte("x"), 200))+`"}`))))
	resp, body := do(t, client(t, p.edge), req)
	checkError(t, resp, body, http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge)
}

func TestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	p := getPKI(t)
	type report struct {
		deadline   time.Time
		hasDL      bool
		ctxErr     error
		lateWrite  error
		lateHeader int
	}
	reports := make(chan report, 1)
	release, stall := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	// slow ignores its context: it is still running when the client gets
	// its 504, and its late writes go nowhere.
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		var rep report
		rep.deadline, rep.hasDL = r.Context().Deadline()
		<-release
		rep.ctxErr = r.Context().Err()
		w.Header().Set("X-Late", "1")
		_, rep.lateWrite = w.Write([]byte("too late"))
		reports <- rep
	})
	// stalled starts its response and then stalls: the response cannot
	// be a 504 any more, so it is cut off.
	mux.HandleFunc("/stalled", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		http.NewResponseController(w).Flush()
		<-stall
	})
	mux.HandleFunc("/quick", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			t.Error("quick saw its context end")
		default:
		}
		fmt.Fprint(w, "quick")
	})
	ts := start(t, mux, func(c *Config) { c.RequestTimeout = timeout })
	released := false
	releaseAll := func() {
		if !released {
			close(release)
			released = true
		}
	}
	t.Cleanup(func() { // before the server's Shutdown, which waits for the handlers
		releaseAll()
		close(stall)
	})
	c := client(t, p.edge)

	t.Run("slow handler", func(t *testing.T) {
		sent := time.Now()
		req, _ := http.NewRequest(http.MethodGet, ts.url+"/slow", nil)
		resp, body := do(t, c, req)
		checkError(t, resp, body, http.StatusGatewayTimeout, CodeTimeout)
		if resp.Header.Get("X-Late") != "" {
			t.Error("the 504 carries the handler's headers")
		}
		releaseAll()
		rep := <-reports
		if !rep.hasDL || rep.deadline.Before(sent.Add(timeout)) || rep.deadline.After(time.Now()) {
			t.Errorf("the handler's deadline %v (ok %v) is not %v after the request (sent %v)", rep.deadline, rep.hasDL, timeout, sent)
		}
		if !errors.Is(rep.ctxErr, context.DeadlineExceeded) {
			t.Errorf("the handler's context ended with %v", rep.ctxErr)
		}
		if !errors.Is(rep.lateWrite, http.ErrHandlerTimeout) {
			t.Errorf("the late write returned %v, want http.ErrHandlerTimeout", rep.lateWrite)
		}
	})

	t.Run("stalled response", func(t *testing.T) {
		resp, err := c.Get(ts.url + "/stalled")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s", resp.Status)
		}
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("the cut-off response %q read as complete", body)
		}
		if string(body) != "partial" {
			t.Errorf("read %q before the reset", body)
		}
	})

	t.Run("quick handler", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, ts.url+"/quick", nil)
		if resp, body := do(t, c, req); resp.StatusCode != http.StatusOK || string(body) != "quick" {
			t.Fatalf("%s %s", resp.Status, body)
		}
	})
}

// TestHandlerPanics: a panic before the response is a 500 in the JSON
// contract; after it started, the stream is reset.
func TestHandlerPanics(t *testing.T) {
	p := getPKI(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Secret", "1")
		panic("bug with secret detail")
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		http.NewResponseController(w).Flush()
		panic("late bug")
	})
	ts := start(t, mux, nil)
	c := client(t, p.edge)

	req, _ := http.NewRequest(http.MethodGet, ts.url+"/early", nil)
	resp, body := do(t, c, req)
	checkError(t, resp, body, http.StatusInternalServerError, httpapi.CodeInternal)
	if bytes.Contains(body, []byte("secret")) || resp.Header.Get("X-Secret") != "" {
		t.Errorf("the 500 leaks the handler's state: %v %s", resp.Header, body)
	}

	resp, err := c.Get(ts.url + "/late")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the response of a handler that panicked read as complete")
	}
	eventually(t, "the panics to be logged", func() bool {
		logs := ts.logs.String()
		return bytes.Contains([]byte(logs), []byte("bug with secret detail")) && bytes.Contains([]byte(logs), []byte("late bug"))
	})
}
