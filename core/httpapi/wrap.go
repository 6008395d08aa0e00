package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Handler serves one request. It writes its success answer itself and
// returns an error instead of writing one: Wrap answers with the error.
type Handler func(w http.ResponseWriter, r *http.Request) error

// FailFunc answers a request whose Handler failed with err. Each API
// brings its own: which errors are worth logging, and what an error answer
// must not carry over from the success headers, are the API's business.
type FailFunc func(w http.ResponseWriter, r *http.Request, err error)

// Wrap adapts h to an http.Handler: an error h returns, or a panic in h
// (as an error "panic: …"), goes to fail. A panic with http.ErrAbortHandler
// goes on: it is how a handler aborts a response, and the server handles it.
func Wrap(h Handler, fail FailFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				fail(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	})
}

// Fail is the FailFunc of an API with no error classes of its own: it
// writes err with WriteError, and logs on log, with the method and the
// route, an err that is not an *Error, since the client sees none of its
// details.
func Fail(log *slog.Logger) FailFunc {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		var e *Error
		if !errors.As(err, &e) {
			LogFailure(log, r, err)
		}
		WriteError(w, err)
	}
}

// LogFailure logs a request's internal failure on log, with the method and
// the route: the line every FailFunc writes for what the client sees only
// as a 500 or a 503.
func LogFailure(log *slog.Logger, r *http.Request, err error) {
	log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
}
