package tunnel

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
	"golang.org/x/net/http2"
)

// Do forwards req to a core node and returns its answer, retrying on
// another node as the package comment says. req's URL needs only a path
// (and query): the scheme and host are the node's. Do sets a
// Cq-Request-Id on req.Header when there is none, and reads req.Body in
// advance when req.GetBody is nil; req is Do's until it returns.
//
// The answer to a request Do may repeat (GET, HEAD, a write with an
// Idempotency-Key) is read ahead, up to Config.ReadAheadBytes, before Do
// returns it: a connection that fails before then fails the attempt, which
// is retried like any other. Past that bound, and for other requests, the
// body is streamed from the node, and a failure reading it reaches the
// caller.
//
// The caller must close the response's body, which Config.RequestTimeout
// also bounds. Without an answer the error is an *UnavailableError, or
// ctx's error once ctx is done, or ErrBodyTooLarge or ErrClosed.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if c.down.Load() {
		return nil, ErrClosed
	}
	if req.URL == nil {
		return nil, errors.New("tunnel: request without a URL")
	}
	getBody, err := replayable(req, c.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if req.Header.Get(coretunnel.HeaderRequestID) == "" {
		req.Header.Set(coretunnel.HeaderRequestID, rand.Text())
	}
	idempotent := req.Header.Get(HeaderIdempotencyKey) != ""
	var readAhead int64 // how much of the answer to read before returning it: a failure within it is retried
	if mayRetry(req.Method, idempotent, sent) {
		readAhead = c.cfg.ReadAheadBytes
	}

	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.RequestTimeout, errRequestTimout)
	var (
		triedBuf [4]*node
		tried    = triedBuf[:0]
		last     error
		anySent  bool
	)
	for len(tried) < c.cfg.MaxAttempts {
		n := c.pick(tried)
		if n == nil {
			break
		}
		body := req.Body
		if len(tried) > 0 || req.GetBody == nil {
			if body, err = getBody(); err != nil {
				cancel()
				return nil, fmt.Errorf("tunnel: resending the body: %w", err)
			}
		}
		resp, ph, err := c.attempt(ctx, cancel, n, req, body, readAhead)
		if err == nil {
			return resp, nil
		}
		tried = append(tried, n)
		anySent = anySent || ph == sent
		last = err
		if ctx.Err() != nil || !mayRetry(req.Method, idempotent, ph) {
			break
		}
		c.log.Debug("retrying on another node", "request_id", req.Header.Get(coretunnel.HeaderRequestID),
			"method", req.Method, "path", req.URL.Path, "failed", n.addr, "phase", ph.String(), "err", err)
	}
	ended, cause := ctx.Err() != nil, context.Cause(ctx)
	cancel()
	timedOut := errors.Is(cause, errRequestTimout)
	if ended && !timedOut {
		return nil, fmt.Errorf("tunnel: %s %s: %w", req.Method, req.URL.Path, cause)
	}
	if last == nil {
		last = ErrNoNodes
	}
	if timedOut && !errors.Is(last, context.DeadlineExceeded) {
		last = fmt.Errorf("%w after %v: %w", errRequestTimout, c.cfg.RequestTimeout, last)
	}
	return nil, &UnavailableError{
		Status: status(anySent, timedOut), RetryAfter: c.cfg.RetryAfter,
		Sent: anySent, Attempts: len(tried), Err: last,
	}
}

// pick chooses the node for the next attempt: the usable node with the
// fewest outstanding requests, ties round robin, avoiding the nodes
// already tried while others remain, and the one that just failed while
// any other remains. When no node is healthy, any with a closed breaker
// will do.
func (c *Client) pick(tried []*node) *node {
	nodes := *c.set.Load()
	if len(nodes) == 0 {
		return nil
	}
	var lastTried *node
	if len(tried) > 0 {
		lastTried = tried[len(tried)-1]
	}
	start := int(c.rr.Add(1))
	for _, rule := range [...]struct{ needHealthy, untriedOnly, lastToo bool }{
		{true, true, false}, {true, false, false}, {false, true, false}, {false, false, false}, {false, false, true},
	} {
		var best *node
		var bestLoad int64
		for i := range nodes {
			n := nodes[(start+i)%len(nodes)]
			switch {
			case !n.closed.Load(), rule.needHealthy && !n.healthy.Load(), n == lastTried && !rule.lastToo:
				continue
			case rule.untriedOnly && contains(tried, n):
				continue
			}
			if load := n.outstanding.Load(); best == nil || load < bestLoad {
				best, bestLoad = n, load
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func contains(nodes []*node, n *node) bool {
	for _, m := range nodes {
		if m == n {
			return true
		}
	}
	return false
}

// attempt sends req to n once, and reads up to readAhead bytes of the
// answer's body before it counts as answered. On success the response's
// body owns cancel and the node's counters until it is closed, unless it
// was read whole: then they are released at once.
func (c *Client) attempt(ctx context.Context, cancel context.CancelFunc, n *node, req *http.Request, body io.ReadCloser, readAhead int64) (*http.Response, phase, error) {
	n.requests.Add(1)
	done, err := n.breaker.Allow()
	if err != nil {
		closeBody(body)
		return nil, notSent, fmt.Errorf("%s: %w", n.addr, errBreakerOpen)
	}
	cn, err := n.getConn(ctx)
	if err != nil {
		closeBody(body)
		err = fmt.Errorf("%s %s on %s (%s): %w", req.Method, req.URL.Path, n.addr, notSent, err)
		c.failed(ctx, n, done, err)
		return nil, notSent, err
	}
	n.outstanding.Add(1)
	cn.active.Add(1)
	tr := &attemptTrace{}
	tr.trace.WroteHeaders, tr.trace.WroteRequest = tr.wroteHeaders, tr.wroteRequest
	r := req.WithContext(httptrace.WithClientTrace(ctx, &tr.trace))
	u := *req.URL
	u.Scheme, u.Host = "https", n.addr
	r.URL, r.Body = &u, body
	resp, err := cn.cc.RoundTrip(r)
	if err != nil {
		n.outstanding.Add(-1)
		cn.active.Add(-1)
		ph := phaseOf(err, tr.headers.Load(), tr.request.Load())
		if ctx.Err() != nil {
			ph = sent // RoundTrip returned without waiting for its writer: assume the worst
		}
		err = fmt.Errorf("%s %s on %s (%s): %w", req.Method, req.URL.Path, n.addr, ph, err)
		c.failed(ctx, n, done, err)
		return nil, ph, err
	}
	rb := &releasingBody{rc: resp.Body, onClose: func() {
		n.outstanding.Add(-1)
		cn.active.Add(-1)
		cancel()
	}}
	if readAhead > 0 {
		head, err := io.ReadAll(io.LimitReader(resp.Body, readAhead+1))
		if err != nil {
			// The answer was cut short before anything reached the
			// caller: a failed attempt, which Do may repeat.
			resp.Body.Close()
			n.outstanding.Add(-1)
			cn.active.Add(-1)
			err = fmt.Errorf("%s %s on %s (%s; reading the answer): %w", req.Method, req.URL.Path, n.addr, sent, err)
			c.failed(ctx, n, done, err)
			return nil, sent, err
		}
		if int64(len(head)) <= readAhead { // the whole body
			done(nil)
			resp.Body.Close()
			rb.release()
			resp.Body = io.NopCloser(bytes.NewReader(head))
			return resp, 0, nil
		}
		rb.rc = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	}
	done(nil)
	resp.Body = rb
	return resp, 0, nil
}

// failed records an attempt that got no answer. The breaker counts it
// against the node unless the node is not to blame: the request's context
// ended (the caller left, or its time was up: a slow core is not a dead
// one), or the node reset just this stream (it is up; that handler
// failed).
func (c *Client) failed(ctx context.Context, n *node, done func(error), err error) {
	n.failures.Add(1)
	n.setErr(err)
	var se http2.StreamError
	if ctx.Err() != nil || errors.As(err, &se) {
		done(context.Canceled) // excluded from the breaker's counts
		return
	}
	done(err)
}

// attemptTrace notes how far an attempt's writing got. It is read only
// after RoundTrip returned an error other than its context's, when
// x/net/http2 has finished writing.
type attemptTrace struct {
	trace            httptrace.ClientTrace
	headers, request atomic.Bool
}

func (t *attemptTrace) wroteHeaders()                           { t.headers.Store(true) }
func (t *attemptTrace) wroteRequest(httptrace.WroteRequestInfo) { t.request.Store(true) }

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// releasingBody runs release once, when the caller has read the body
// all or closed it: what an answer holds (a node's and a connection's
// counts, a context) is given back as soon as the caller is done with it.
type releasingBody struct {
	rc      io.ReadCloser
	onClose func()
	done    atomic.Bool
}

func (b *releasingBody) Read(p []byte) (int, error) {
	k, err := b.rc.Read(p)
	if err == io.EOF {
		b.release()
	}
	return k, err
}

func (b *releasingBody) Close() error {
	err := b.rc.Close()
	b.release()
	return err
}

func (b *releasingBody) release() {
	if !b.done.Swap(true) {
		b.onClose()
	}
}

// replayable returns how to get req's body again for each attempt after
// the first (each attempt when req.GetBody is nil: the body is then read
// into memory now, up to limit).
func replayable(req *http.Request, limit int64) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return func() (io.ReadCloser, error) { return req.Body, nil }, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("tunnel: reading the request body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, limit)
	}
	req.ContentLength = int64(len(data))
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, nil
}
