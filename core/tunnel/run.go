package tunnel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// errReplaced is what a handler's writes return once its response was
// replaced by the tunnel's 413.
var errReplaced = errors.New("tunnel: the response was replaced by 413: the request body exceeded the limit")

// handlerEnd is how a handler goroutine ended.
type handlerEnd struct {
	panicked any // recover()'s value, nil if it returned
	stack    []byte
}

// run calls the handler on its own goroutine and answers for it when it
// does not start its response before r's context ends.
func (s *Server) run(w http.ResponseWriter, r *http.Request, body *limitedBody) {
	ctx := r.Context()
	rw := &responseWriter{w: w, header: make(http.Header), body: body, tooLarge: s.tooLarge}
	done := make(chan handlerEnd, 1)
	s.handlerStarted()
	go func() {
		defer s.handlerDone()
		defer func() {
			end := handlerEnd{panicked: recover()}
			if end.panicked != nil && end.panicked != http.ErrAbortHandler {
				end.stack = debug.Stack()
			}
			if late := rw.handlerReturned(); late && end.stack != nil {
				s.log.Error("handler panicked after its request timed out", "request_id", RequestID(ctx),
					"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(end.panicked), "stack", string(end.stack))
			}
			done <- end
		}()
		s.cfg.Handler.ServeHTTP(rw, r)
	}()

	select {
	case end := <-done:
		s.finish(rw, r, end)
	case <-ctx.Done():
		if !rw.detach() { // it returned just now: its response stands
			s.finish(rw, r, <-done)
			return
		}
		s.timedOut(rw, r, ctx.Err())
	}
}

// finish completes the response of a handler that returned in time.
func (s *Server) finish(rw *responseWriter, r *http.Request, end handlerEnd) {
	if end.panicked == nil {
		rw.finish()
		return
	}
	if end.panicked != http.ErrAbortHandler {
		s.log.Error("handler panicked", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
			"panic", fmt.Sprint(end.panicked), "stack", string(end.stack))
		if rw.answer(httpapi.Errorf(http.StatusInternalServerError, httpapi.CodeInternal, "internal error")) {
			return
		}
	}
	panic(http.ErrAbortHandler) // reset the stream: the response is incomplete
}

// timedOut answers for a handler still running at the deadline (or when
// the client went away; then there is nobody to answer).
func (s *Server) timedOut(rw *responseWriter, r *http.Request, cause error) {
	if !errors.Is(cause, context.DeadlineExceeded) {
		return // the client canceled the request
	}
	s.log.Warn("request timed out", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
		"timeout", s.cfg.RequestTimeout.String())
	if rw.answer(httpapi.Errorf(http.StatusGatewayTimeout, CodeTimeout, "the core did not answer within %v", s.cfg.RequestTimeout)) {
		return
	}
	panic(http.ErrAbortHandler) // started but not finished in time
}

// responseWriter stands between the handler goroutine and net/http's
// ResponseWriter, which only the request's own goroutine may use once the
// handler is detached. All use of w is under mu. The handler fills its own
// header map, copied to w's when the response starts, so the tunnel can
// still write its own error headers while a late handler is running.
type responseWriter struct {
	header   http.Header // the handler's; only its goroutine touches it until it returns
	body     *limitedBody
	tooLarge func() *httpapi.Error

	mu        sync.Mutex
	w         http.ResponseWriter
	committed bool // the status line is written, by the handler or the tunnel
	replaced  bool // the tunnel answered instead of the handler
	returned  bool // the handler returned
	detached  bool // the request is over; the handler's writes go nowhere
}

var _ http.Flusher = (*responseWriter)(nil)

func (rw *responseWriter) Header() http.Header { return rw.header }

func (rw *responseWriter) WriteHeader(code int) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.detached || rw.committed {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		maps.Copy(rw.w.Header(), rw.header) // informational: not the response yet
		rw.w.WriteHeader(code)
		return
	}
	rw.commitLocked(code)
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.detached {
		return 0, http.ErrHandlerTimeout
	}
	if !rw.committed {
		rw.commitLocked(http.StatusOK)
	}
	if rw.replaced {
		return 0, errReplaced
	}
	return rw.w.Write(p)
}

// FlushError sends what the handler wrote so far (http.ResponseController
// calls it).
func (rw *responseWriter) FlushError() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.detached {
		return http.ErrHandlerTimeout
	}
	if !rw.committed {
		rw.commitLocked(http.StatusOK)
	}
	if rw.replaced {
		return errReplaced
	}
	return http.NewResponseController(rw.w).Flush()
}

func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// commitLocked starts the handler's response, unless the handler read past
// the body limit: then the response is the tunnel's 413.
func (rw *responseWriter) commitLocked(code int) {
	if rw.body.exceeded.Load() {
		rw.answerLocked(rw.tooLarge())
		return
	}
	maps.Copy(rw.w.Header(), rw.header)
	rw.w.WriteHeader(code)
	rw.committed = true
}

// answerLocked writes the tunnel's own error response.
func (rw *responseWriter) answerLocked(e *httpapi.Error) {
	rw.committed, rw.replaced = true, true
	httpapi.WriteError(rw.w, e)
}

// answer writes e unless the response has started; it reports whether it
// did. The handler must be done or detached.
func (rw *responseWriter) answer(e *httpapi.Error) bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.committed {
		return false
	}
	rw.answerLocked(e)
	return true
}

// finish ends the response of a handler that returned: it starts it if
// the handler wrote nothing (200, or the 413), and passes on headers set
// after the start, which is how handlers set trailers.
func (rw *responseWriter) finish() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if !rw.committed {
		rw.commitLocked(http.StatusOK)
		return
	}
	if !rw.replaced {
		maps.Copy(rw.w.Header(), rw.header)
	}
}

// handlerReturned records that the handler returned and reports whether it
// was too late.
func (rw *responseWriter) handlerReturned() (late bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.returned = true
	return rw.detached
}

// detach cuts a running handler off from the response. It reports false if
// the handler had returned already.
func (rw *responseWriter) detach() bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.returned {
		return false
	}
	rw.detached = true
	return true
}
