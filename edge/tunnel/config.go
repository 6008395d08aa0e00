package tunnel

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultConnsPerNode    = 2
	DefaultMaxNodes        = 8
	DefaultRefreshInterval = 10 * time.Second
	DefaultHealthInterval  = time.Second
	DefaultHealthTimeout   = 2 * time.Second
	DefaultRequestTimeout  = 10 * time.Second
	DefaultDialTimeout     = 3 * time.Second
	DefaultKeepAlive       = 2 * time.Second
	DefaultMaxAttempts     = 3
	DefaultMaxBodyBytes    = 1 << 20
	DefaultReadAheadBytes  = 1 << 20
	DefaultRetryAfter      = time.Second
	DefaultBreakerFailures = 3
	DefaultBreakerOpenFor  = 5 * time.Second
)

// ErrConfig is wrapped by every error of New about its Config.
var ErrConfig = errors.New("tunnel: invalid config")

// Config controls a Client. Start from DefaultConfig; Seeds and TLS are
// required.
type Config struct {
	// Seeds are host:port addresses of core tunnel servers to start
	// from. The nodes the core names replace them once known.
	Seeds []string
	// TLS is the edge's side of mTLS: certs.ClientTLS with the edge's
	// certificate and the deployment's CA. It must hold a client
	// certificate and must verify the server. The client uses copies with
	// NextProtos h2 and, unless set, ServerName the node's host.
	TLS *tls.Config
	// ConnsPerNode is how many connections each node gets.
	// 0: DefaultConnsPerNode (2).
	ConnsPerNode int
	// MaxNodes caps how many core nodes the edge keeps tunnels to; each
	// edge picks its own subset of a bigger cluster. 0: DefaultMaxNodes
	// (8); 1 is refused (DESIGN.md: at least two).
	MaxNodes int
	// RefreshInterval is how often the node set is asked of the core.
	// 0: DefaultRefreshInterval (10s); negative: never (the seeds are the
	// set, as for a fixed core).
	RefreshInterval time.Duration
	// HealthInterval is how often each node is probed.
	// 0: DefaultHealthInterval (1s).
	HealthInterval time.Duration
	// HealthTimeout bounds one probe, dial included.
	// 0: DefaultHealthTimeout (2s).
	HealthTimeout time.Duration
	// RequestTimeout bounds Do from its call to the response's headers,
	// retries included, and the reading of the body after. Keep it above
	// the core's own (tunnel.Config.RequestTimeout), so that a slow
	// handler's 504 from the core arrives first. 0: DefaultRequestTimeout
	// (10s).
	RequestTimeout time.Duration
	// DialTimeout bounds a connection's TCP dial, TLS handshake and first
	// HTTP/2 PING. 0: DefaultDialTimeout (3s).
	DialTimeout time.Duration
	// KeepAlive: a connection that received nothing for this long is
	// PINGed, and closed if the answer takes as long again.
	// 0: DefaultKeepAlive (2s).
	KeepAlive time.Duration
	// Breaker sets each node's circuit breaker.
	Breaker BreakerConfig
	// MaxAttempts bounds the attempts of one Do, the first included.
	// 0: DefaultMaxAttempts (3).
	MaxAttempts int
	// MaxBodyBytes bounds a request body Do reads into memory to resend
	// it (one without GetBody). 0: DefaultMaxBodyBytes (1 MiB, the core's
	// limit).
	MaxBodyBytes int64
	// ReadAheadBytes bounds how much of the answer to a request Do may
	// repeat (GET, HEAD, a write with an Idempotency-Key) Do reads before
	// returning it, so that a connection failing before the answer's end
	// is retried on another node instead of cutting the caller's answer
	// short. Past it the answer is streamed, and a failure reaches the
	// caller. 0: DefaultReadAheadBytes (1 MiB).
	ReadAheadBytes int64
	// RetryAfter is UnavailableError.RetryAfter. 0: DefaultRetryAfter (1s).
	RetryAfter time.Duration
	// Logger receives the client's logs, tagged component=edge.tunnel.
	// nil: slog.Default().
	Logger *slog.Logger
}

// BreakerConfig sets a node's circuit breaker.
type BreakerConfig struct {
	// Failures is how many connection-level failures in a row open it.
	// 0: DefaultBreakerFailures (3).
	Failures uint32
	// OpenFor is how long it stays open before one probe may close it.
	// 0: DefaultBreakerOpenFor (5s).
	OpenFor time.Duration
}

// DefaultConfig returns a Config with every default spelled out; set Seeds
// and TLS.
func DefaultConfig() Config {
	return Config{
		ConnsPerNode:    DefaultConnsPerNode,
		MaxNodes:        DefaultMaxNodes,
		RefreshInterval: DefaultRefreshInterval,
		HealthInterval:  DefaultHealthInterval,
		HealthTimeout:   DefaultHealthTimeout,
		RequestTimeout:  DefaultRequestTimeout,
		DialTimeout:     DefaultDialTimeout,
		KeepAlive:       DefaultKeepAlive,
		Breaker:         BreakerConfig{Failures: DefaultBreakerFailures, OpenFor: DefaultBreakerOpenFor},
		MaxAttempts:     DefaultMaxAttempts,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		ReadAheadBytes:  DefaultReadAheadBytes,
		RetryAfter:      DefaultRetryAfter,
	}
}

// check validates c and fills its zero fields with the defaults.
func (c Config) check() (Config, error) {
	if len(c.Seeds) == 0 {
		return c, fmt.Errorf("%w: no seeds", ErrConfig)
	}
	for _, s := range c.Seeds {
		if host, port, err := net.SplitHostPort(s); err != nil || host == "" || port == "" {
			return c, fmt.Errorf("%w: seed %q is not host:port", ErrConfig, s)
		}
	}
	if err := checkTLS(c.TLS); err != nil {
		return c, err
	}
	if c.MaxNodes == 1 {
		return c, fmt.Errorf("%w: MaxNodes 1: an edge keeps tunnels to at least two core nodes", ErrConfig)
	}
	if c.ConnsPerNode < 0 || c.MaxNodes < 0 || c.HealthInterval < 0 || c.HealthTimeout < 0 || c.RequestTimeout < 0 ||
		c.DialTimeout < 0 || c.KeepAlive < 0 || c.Breaker.OpenFor < 0 || c.MaxAttempts < 0 || c.MaxBodyBytes < 0 || c.ReadAheadBytes < 0 || c.RetryAfter < 0 {
		return c, fmt.Errorf("%w: negative count or duration", ErrConfig)
	}
	d := DefaultConfig()
	setDefault(&c.ConnsPerNode, d.ConnsPerNode)
	setDefault(&c.MaxNodes, d.MaxNodes)
	setDefault(&c.RefreshInterval, d.RefreshInterval)
	setDefault(&c.HealthInterval, d.HealthInterval)
	setDefault(&c.HealthTimeout, d.HealthTimeout)
	setDefault(&c.RequestTimeout, d.RequestTimeout)
	setDefault(&c.DialTimeout, d.DialTimeout)
	setDefault(&c.KeepAlive, d.KeepAlive)
	setDefault(&c.Breaker.Failures, d.Breaker.Failures)
	setDefault(&c.Breaker.OpenFor, d.Breaker.OpenFor)
	setDefault(&c.MaxAttempts, d.MaxAttempts)
	setDefault(&c.MaxBodyBytes, d.MaxBodyBytes)
	setDefault(&c.ReadAheadBytes, d.ReadAheadBytes)
	setDefault(&c.RetryAfter, d.RetryAfter)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.TLS = c.TLS.Clone()
	c.TLS.NextProtos = []string{"h2"}
	if c.TLS.MinVersion < tls.VersionTLS12 {
		c.TLS.MinVersion = tls.VersionTLS12 // HTTP/2's floor
	}
	return c, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func checkTLS(t *tls.Config) error {
	switch {
	case t == nil:
		return fmt.Errorf("%w: no TLS config (certs.ClientTLS)", ErrConfig)
	case len(t.Certificates) == 0 && t.GetClientCertificate == nil:
		return fmt.Errorf("%w: the TLS config holds no client certificate; the core admits only edges with one", ErrConfig)
	case t.InsecureSkipVerify && t.VerifyConnection == nil && t.VerifyPeerCertificate == nil:
		return fmt.Errorf("%w: the TLS config does not verify the core's certificate", ErrConfig)
	case t.MaxVersion != 0 && t.MaxVersion < tls.VersionTLS12:
		return fmt.Errorf("%w: HTTP/2 needs TLS 1.2 or later", ErrConfig)
	}
	return nil
}
