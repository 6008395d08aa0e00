package tunnel

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// Errors of the client, for errors.Is. ErrHandshake reaches the caller
// inside an *UnavailableError.
var (
	// ErrHandshake: the TLS or HTTP/2 handshake with a core node failed —
	// a certificate from another CA, an expired one, a server that is not
	// a core node, no ALPN h2. Retrying does not help; the configuration
	// must change.
	ErrHandshake = errors.New("TLS handshake with the core node failed (do the edge's and the core's certificates come from the same CA, and are they valid?)")
	// ErrNoNodes: no core node is usable: none known, or every breaker is
	// open.
	ErrNoNodes = errors.New("no usable core node")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("tunnel: client closed")
	// ErrBodyTooLarge: a request body without GetBody is longer than
	// Config.MaxBodyBytes, so it cannot be kept for a retry.
	ErrBodyTooLarge = errors.New("tunnel: request body too large to keep for retries")

	errBreakerOpen   = errors.New("the node's circuit breaker is open")
	errRequestTimout = errors.New("request timeout")
)

// UnavailableError is Do's answer when no core node answered. The edge
// answers Status with a Retry-After of RetryAfter (rounded up to seconds).
type UnavailableError struct {
	// Status is 503 when no attempt reached a core node, 502 when one was
	// sent and lost (a write may have happened), 504 when
	// Config.RequestTimeout passed.
	Status int
	// RetryAfter is Config.RetryAfter.
	RetryAfter time.Duration
	// Sent reports whether an attempt may have reached a core node.
	Sent bool
	// Attempts is how many were made (0: no node was usable).
	Attempts int
	// Err is the last attempt's failure.
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("tunnel: %d %s after %d attempt(s): %v", e.Status, http.StatusText(e.Status), e.Attempts, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// phase is how far a failed attempt got.
type phase uint8

const (
	// notSent: no core node processed the request — it was never
	// written, or HTTP/2 says it was not processed.
	notSent phase = iota
	// sent: the headers went out; the handler may have run.
	sent
)

func (p phase) String() string {
	if p == notSent {
		return "not sent"
	}
	return "sent"
}

// HeaderIdempotencyKey marks a write the core deduplicates, so the edge
// may repeat it.
const HeaderIdempotencyKey = "Idempotency-Key"

// mayRetry is the retry rule: a request no node processed may go to
// another; one that was sent only if repeating it is harmless — a read
// (GET, HEAD) or a write the core deduplicates by its Idempotency-Key.
func mayRetry(method string, idempotencyKey bool, p phase) bool {
	if p == notSent {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	return idempotencyKey
}

// status is the edge's answer when no attempt got one: see
// UnavailableError.Status.
func status(anySent, timedOut bool) int {
	switch {
	case timedOut:
		return http.StatusGatewayTimeout
	case anySent:
		return http.StatusBadGateway
	}
	return http.StatusServiceUnavailable
}

// errGoAwayUnprocessed is the text of x/net/http2's (unexported) error for
// a stream above the last stream id of a server's graceful GOAWAY: the
// server promises it did not process it. Should the text change, such a
// stream counts as sent, which is only more cautious.
const errGoAwayUnprocessed = "http2: Transport received Server's graceful shutdown GOAWAY"

// phaseOf tells how far a round trip that failed with err got, from
// httptrace's WroteHeaders and WroteRequest. x/net/http2 reports
// WroteHeaders even when writing the headers failed, and then returns
// without WroteRequest; once the headers are out, every way to the end of
// the request (body written, body failed, 100-continue failed) reports
// WroteRequest before RoundTrip returns an error. So headers without
// request means the headers never left: a connection already dead (its
// write error is sticky) refused them.
func phaseOf(err error, wroteHeaders, wroteRequest bool) phase {
	if !wroteHeaders || !wroteRequest || unprocessed(err) {
		return notSent
	}
	return sent
}

// unprocessed reports whether HTTP/2 guarantees the server did not
// process the stream (RFC 9113, section 8.7).
func unprocessed(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) && se.Code == http2.ErrCodeRefusedStream {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == errGoAwayUnprocessed {
			return true
		}
	}
	return false
}
