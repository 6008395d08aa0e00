// Package origin is where the edge fetches what its caches do not have:
// the core over the tunnels (Tunnel), or any plain HTTP origin (HTTP), so
// the edge can front any service and be tested against one.
package origin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Origin answers a request. Do fills resp from the origin's answer; an
// error means there was no answer (unreachable, timed out, reset): the
// edge then serves stale content when it may, or answers 502/503/504.
type Origin interface {
	Do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error
}

// Failure is an origin that gave no answer. Status is what the edge answers
// when it has nothing stale to serve; RetryAfter, when set, goes in a
// Retry-After header.
type Failure struct {
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (f *Failure) Error() string { return fmt.Sprintf("origin: %d: %v", f.Status, f.Err) }
func (f *Failure) Unwrap() error { return f.Err }

// HTTP is a plain HTTP origin at a base URL ("http://host:port"). A path
// prefix of the base is prepended to every request's path.
type HTTP struct {
	client *fasthttp.HostClient
	prefix string
	host   string
	// Timeout bounds each request (default 10 s) unless ctx ends sooner.
	Timeout time.Duration
}

// NewHTTP returns an origin for base (http or https).
func NewHTTP(base string) (*HTTP, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("origin: %q is not an http(s)://host[:port][/prefix] URL", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	hc := &fasthttp.HostClient{
		Addr: addr, IsTLS: u.Scheme == "https", MaxConns: 1024,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxIdleConnDuration: time.Minute,
		DisablePathNormalizing: true, NoDefaultUserAgentHeader: true,
	}
	return &HTTP{client: hc, prefix: strings.TrimSuffix(u.Path, "/"), host: u.Host, Timeout: 10 * time.Second}, nil
}

// Do forwards req to the origin. req is modified (URI, Host) and must not
// be reused by the caller for anything else.
func (h *HTTP) Do(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) error {
	deadline := time.Now().Add(h.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if h.prefix != "" {
		req.URI().SetPathBytes(append([]byte(h.prefix), req.URI().PathOriginal()...))
	}
	req.SetHost(h.host)
	req.Header.SetHost(h.host)
	err := h.client.DoDeadline(req, resp, deadline)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return &Failure{Status: fasthttp.StatusGatewayTimeout, Err: err}
	}
	return &Failure{Status: fasthttp.StatusBadGateway, RetryAfter: time.Second, Err: err}
}
