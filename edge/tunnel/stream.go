package tunnel

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

// ErrUnknownNode: Stream was asked for an address that is not one of the
// client's core nodes.
var ErrUnknownNode = errors.New("tunnel: not a core node of this client")

// Stream sends req to the core node at addr — one of Nodes — over one of
// that node's connections, and returns its answer. It is for long-lived
// requests meant for one node, such as a subscription to the node's
// change stream (replication/stream), which Do cannot carry: Do picks the
// node itself and bounds every request by Config.RequestTimeout.
//
// Stream neither balances nor retries, and no timeout of the client
// applies: the request, its response body included, lasts until ctx ends,
// the node ends it, or its connection fails. A node that vanishes without
// a word is noticed by the connection's HTTP/2 PINGs (Config.KeepAlive),
// which fail the body's Read. The node's circuit breaker is not consulted
// or fed (the caller chooses the node, and backs off on its own), and the
// stream does not count among the node's outstanding requests, which
// balance Do's: a stream that lasts hours is not load.
//
// req's URL needs only a path and query. Stream sets a Cq-Request-Id on
// req.Header when there is none. The caller must close the response's
// body. Errors: ErrUnknownNode, ErrClosed, the dial's, or the round
// trip's, wrapped with the node's address; ctx's once it is done.
func (c *Client) Stream(ctx context.Context, addr string, req *http.Request) (*http.Response, error) {
	if c.down.Load() {
		return nil, ErrClosed
	}
	if req.URL == nil {
		return nil, errors.New("tunnel: request without a URL")
	}
	c.mu.Lock()
	n := c.byAddr[addr]
	c.mu.Unlock()
	if n == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownNode, addr)
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if req.Header.Get(coretunnel.HeaderRequestID) == "" {
		req.Header.Set(coretunnel.HeaderRequestID, rand.Text())
	}
	n.requests.Add(1)
	cn, err := n.getConn(ctx)
	if err != nil {
		n.failures.Add(1)
		return nil, fmt.Errorf("tunnel: stream %s on %s: %w", req.URL.Path, addr, err)
	}
	cn.active.Add(1)
	r := req.WithContext(ctx)
	u := *req.URL
	u.Scheme, u.Host = "https", n.addr
	r.URL = &u
	resp, err := cn.cc.RoundTrip(r)
	if err != nil {
		cn.active.Add(-1)
		n.failures.Add(1)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("tunnel: stream %s on %s: %w", req.URL.Path, addr, context.Cause(ctx))
		}
		err = fmt.Errorf("tunnel: stream %s on %s: %w", req.URL.Path, addr, err)
		n.setErr(err)
		return nil, err
	}
	resp.Body = &releasingBody{rc: resp.Body, onClose: func() { cn.active.Add(-1) }}
	return resp, nil
}
