package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/valyala/fasthttp"
)

// Tunnel is the core as an origin, over the edge's tunnel client: requests
// go to the core cluster over HTTP/2 with mutual TLS, balanced and retried
// by edge/tunnel's rules.
type Tunnel struct {
	c *tunnel.Client
	// MaxBody bounds a response body read from the core (default 16 MiB).
	MaxBody int64
}

// NewTunnel wraps a started tunnel client.
func NewTunnel(c *tunnel.Client) *Tunnel { return &Tunnel{c: c, MaxBody: 16 << 20} }

// Do converts req to net/http, sends it through the tunnel and copies the
// answer into resp.
func (t *Tunnel) Do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	hreq, err := toHTTP(ctx, req)
	if err != nil {
		return &Failure{Status: fasthttp.StatusBadRequest, Err: err}
	}
	hresp, err := t.c.Do(ctx, hreq)
	if err != nil {
		return failure(err)
	}
	defer hresp.Body.Close()
	resp.SetStatusCode(hresp.StatusCode)
	for name, vals := range hresp.Header {
		for _, v := range vals {
			resp.Header.Add(name, v)
		}
	}
	body, err := io.ReadAll(io.LimitReader(hresp.Body, t.MaxBody+1))
	if err != nil {
		return &Failure{Status: fasthttp.StatusBadGateway, Err: fmt.Errorf("reading the core's answer: %w", err)}
	}
	if int64(len(body)) > t.MaxBody {
		return &Failure{Status: fasthttp.StatusBadGateway, Err: errors.New("the core's answer is larger than the edge keeps")}
	}
	resp.SetBodyRaw(body)
	return nil
}

func toHTTP(ctx context.Context, req *fasthttp.Request) (*http.Request, error) {
	body := bytes.Clone(req.Body())
	hreq, err := http.NewRequestWithContext(ctx, string(req.Header.Method()), "https://core"+string(req.URI().RequestURI()), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	hreq.ContentLength = int64(len(body))
	for k, v := range req.Header.All() {
		switch string(k) {
		case "Host", "Content-Length", "Connection":
			continue
		}
		hreq.Header.Add(string(k), string(v))
	}
	return hreq, nil
}

func failure(err error) error {
	var u *tunnel.UnavailableError
	if errors.As(err, &u) {
		return &Failure{Status: u.Status, RetryAfter: u.RetryAfter, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Failure{Status: fasthttp.StatusGatewayTimeout, Err: err}
	}
	return &Failure{Status: fasthttp.StatusBadGateway, RetryAfter: time.Second, Err: err}
}

// Healthy reports whether some core node passed its last health probe.
func (t *Tunnel) Healthy() bool {
	for _, n := range t.c.Nodes() {
		if n.Healthy {
			return true
		}
	}
	return false
}

// Nodes are the core nodes as the tunnel client sees them.
func (t *Tunnel) Nodes() []tunnel.NodeStatus { return t.c.Nodes() }
