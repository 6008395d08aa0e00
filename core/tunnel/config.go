package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultRequestTimeout    = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultReadyTimeout      = time.Second
)

// ErrClientAuthNotRequired is returned by New for a TLS config that would let
// a client in without a verified certificate.
var ErrClientAuthNotRequired = errors.New("tunnel: the TLS config must require and verify client certificates")

// Config controls a tunnel Server. Start from DefaultConfig; TLS and
// Handler are required.
type Config struct {
	// TLS authenticates both ends: build it with certs.ServerTLS. It must
	// set ClientAuth to tls.RequireAndVerifyClientCert with ClientCAs, and
	// hold a certificate; GetConfigForClient, which could swap that for
	// anything, is refused. The server uses a copy whose NextProtos are
	// h2, http/1.1.
	TLS *tls.Config
	// Handler answers the tunnel's requests (the takeout API).
	Handler http.Handler
	// MaxBodyBytes bounds a request body; past it the answer is 413.
	// 0: DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// RequestTimeout bounds a request from its arrival to the start of the
	// handler's response (504 past it) and to its end (reset past it). The
	// handler's context carries the deadline. 0: DefaultRequestTimeout (10s).
	RequestTimeout time.Duration
	// ReadHeaderTimeout bounds the TLS handshake and, over HTTP/1.1,
	// reading a request's headers. 0: DefaultReadHeaderTimeout (5s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a connection that has had no request for this
	// long; the edge dials again when it needs one. 0: DefaultIdleTimeout
	// (5m).
	IdleTimeout time.Duration
	// Nodes lists the core nodes edges may open tunnels to, answered on
	// GET /tunnel/v1/nodes (nodes.go). nil: only this node, at the
	// address the edge reached.
	Nodes func() []NodeInfo
	// Ready reports whether this node serves, answered on
	// GET /tunnel/v1/health: nil is 200, an error 503 not_ready. nil:
	// ready whenever it answers.
	Ready func(context.Context) error
	// ReadyTimeout bounds one Ready call; an edge probes every second or
	// so. 0: DefaultReadyTimeout (1s).
	ReadyTimeout time.Duration
	// Routes are more tunnel routes, by exact path under /tunnel/v1/ (the
	// change stream's, replication/relay). The server answers them itself,
	// before Handler, for any authenticated peer: PeerFrom and RequestID
	// work, the identity headers are removed unread, and the body is
	// bounded by MaxBodyBytes. RequestTimeout does not apply, so a route may
	// stream its response for as long as it likes; it bounds its own work.
	// Its context ends when Shutdown begins, so a stream ends then instead
	// of holding Shutdown up. nil: none.
	Routes map[string]http.Handler
	// Logger receives the server's logs, tagged component=core.tunnel.
	// nil: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default spelled out; set TLS
// and Handler.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:      DefaultMaxBodyBytes,
		RequestTimeout:    DefaultRequestTimeout,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		ReadyTimeout:      DefaultReadyTimeout,
	}
}

// check validates c and fills its zero fields with the defaults.
func (c Config) check() (Config, error) {
	if err := checkTLS(c.TLS); err != nil {
		return c, err
	}
	if c.Handler == nil {
		return c, errors.New("tunnel: no Handler")
	}
	if c.MaxBodyBytes < 0 || c.RequestTimeout < 0 || c.ReadHeaderTimeout < 0 || c.IdleTimeout < 0 || c.ReadyTimeout < 0 {
		return c, fmt.Errorf("tunnel: negative limit: MaxBodyBytes %d, RequestTimeout %v, ReadHeaderTimeout %v, IdleTimeout %v, ReadyTimeout %v",
			c.MaxBodyBytes, c.RequestTimeout, c.ReadHeaderTimeout, c.IdleTimeout, c.ReadyTimeout)
	}
	d := DefaultConfig()
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = d.ReadyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if err := checkRoutes(c.Routes); err != nil {
		return c, err
	}
	c.Routes = maps.Clone(c.Routes)
	c.Ready = cachedReady(c.Ready, c.ReadyTimeout)
	c.TLS = c.TLS.Clone()
	c.TLS.NextProtos = []string{"h2", "http/1.1"}
	return c, nil
}

func checkTLS(t *tls.Config) error {
	switch {
	case t == nil:
		return errors.New("tunnel: no TLS config")
	case t.ClientAuth != tls.RequireAndVerifyClientCert:
		return fmt.Errorf("%w (ClientAuth is %v)", ErrClientAuthNotRequired, t.ClientAuth)
	case t.ClientCAs == nil:
		return fmt.Errorf("%w (no ClientCAs)", ErrClientAuthNotRequired)
	case t.GetConfigForClient != nil:
		return fmt.Errorf("%w (GetConfigForClient could return a config that does not)", ErrClientAuthNotRequired)
	case len(t.Certificates) == 0 && t.GetCertificate == nil:
		return errors.New("tunnel: the TLS config holds no server certificate")
	case t.MaxVersion != 0 && t.MaxVersion < tls.VersionTLS12:
		return errors.New("tunnel: HTTP/2 needs TLS 1.2 or later")
	}
	return nil
}

// checkRoutes refuses a route outside /tunnel/v1/, one that would hide the
// server's own, and a nil handler.
func checkRoutes(routes map[string]http.Handler) error {
	for path, h := range routes {
		rest, ok := strings.CutPrefix(path, edgeRoutePrefix)
		switch {
		case !ok || rest == "":
			return fmt.Errorf("tunnel: route %q is not under %s", path, edgeRoutePrefix)
		case path == PathNodes || path == PathHealth:
			return fmt.Errorf("tunnel: route %q is the server's own", path)
		case h == nil:
			return fmt.Errorf("tunnel: route %q has no handler", path)
		}
	}
	return nil
}
