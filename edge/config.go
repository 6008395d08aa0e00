package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/cangqiong/cangqiong/edge/origin"
)

// AuthMode is what a route asks of the user.
type AuthMode string

const (
	// AuthOptional verifies a Bearer token when there is one (a bad one is
	// a 401) and lets anonymous requests through.
	AuthOptional AuthMode = "optional"
	// AuthRequired answers 401 without a valid token.
	AuthRequired AuthMode = "required"
)

// Route is one entry of the policy: a pattern (edge/route syntax) and what
// the edge does for requests that match it first.
type Route struct {
	Pattern string
	Auth    AuthMode // "": AuthOptional
	Policy  httpcache.Policy
}

// Config controls a Server. Start from DefaultConfig.
type Config struct {
	// Region and ID name the edge in logs and metrics.
	Region, ID string

	// Origin answers what the caches do not have. Required.
	Origin origin.Origin
	// Tunnel says Origin is the core: it is told the verified identity
	// (Cq-User-Id, Cq-User-Role) and not sent the raw Authorization header.
	// A plain HTTP origin gets the client's Authorization as it came.
	Tunnel bool

	// Changes subscribes the edge to the core's change stream, which
	// purges what the core's writes changed. nil: off (entries live out
	// their TTL, or are purged by the edge's own writes and the admin API).
	Changes *ChangesConfig

	// Cache sizes L1 and connects L2 (edge/cache defaults).
	Cache cache.Config
	// Store controls what is compressed when stored.
	Store httpcache.StoreOptions

	// Auth verifies end-user JWTs. nil: no token is accepted, so routes that
	// need a user answer 401.
	Auth *auth.Verifier
	// PerIP and PerUser are the token buckets. A zero Rate disables one.
	PerIP, PerUser limit.Config

	// Routes are tried in order; requests matching none get Default.
	Routes  []Route
	Default Route

	// Request limits.
	MaxURLBytes    int // default 8 KiB (414 beyond)
	MaxHeaderBytes int // default 16 KiB (431 beyond)
	MaxBodyBytes   int // default 1 MiB (413 beyond)
	// RequestTimeout bounds a request's upstream part. Default 11 s (a
	// little over the core's 10 s, so the core's own 504 wins).
	RequestTimeout time.Duration
	// ReadTimeout bounds each read from a client (an idle kept-alive
	// connection is closed after it); WriteTimeout each write (a client that
	// stops reading is dropped). Defaults 30 s.
	ReadTimeout, WriteTimeout time.Duration
	// MaxConnsPerIP bounds one client address's connections. Default 1024.
	MaxConnsPerIP int

	// RYWUsers bounds the users whose write tokens the edge remembers;
	// RYWTTL is how long (and the cookie's Max-Age). Defaults 1M, 10 min.
	RYWUsers int
	RYWTTL   time.Duration
	// CookieSecure marks the version cookie Secure (behind TLS).
	CookieSecure bool

	// AdminToken guards the admin listener's purge and metrics endpoints.
	// Required (≥ 16 bytes) when the admin listener is served.
	AdminToken string

	// Now is the clock (tests move it). nil: time.Now. The cache's clock
	// defaults to it too.
	Now func() time.Time

	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultMaxURLBytes    = 8 << 10
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 11 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultReadTimeout    = 30 * time.Second
	DefaultMaxConnsPerIP  = 1024
	DefaultRYWUsers       = 1 << 20
)

// DefaultConfig is a Config with the defaults filled in; Origin is left to
// the caller.
func DefaultConfig() Config {
	return Config{
		Cache:          cache.DefaultConfig(),
		Default:        Route{Pattern: "* /**", Auth: AuthOptional, Policy: httpcache.DefaultPolicy()},
		MaxURLBytes:    DefaultMaxURLBytes,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxBodyBytes:   DefaultMaxBodyBytes,
		RequestTimeout: DefaultRequestTimeout,
		WriteTimeout:   DefaultWriteTimeout,
		ReadTimeout:    DefaultReadTimeout,
		MaxConnsPerIP:  DefaultMaxConnsPerIP,
		RYWUsers:       DefaultRYWUsers,
	}
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("edge: invalid config")

func (c *Config) check() error {
	if c.Origin == nil {
		return fmt.Errorf("%w: an origin is required", ErrConfig)
	}
	for _, r := range append(c.Routes, c.Default) {
		if r.Auth != "" && r.Auth != AuthOptional && r.Auth != AuthRequired {
			return fmt.Errorf("%w: route %q: auth %q, want optional or required", ErrConfig, r.Pattern, r.Auth)
		}
		if err := r.Policy.Validate(); err != nil {
			return fmt.Errorf("%w: route %q: %v", ErrConfig, r.Pattern, err)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxURLBytes <= 0 {
		c.MaxURLBytes = d.MaxURLBytes
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = d.MaxConnsPerIP
	}
	if c.RYWUsers <= 0 {
		c.RYWUsers = d.RYWUsers
	}
	if c.Default.Pattern == "" {
		c.Default = d.Default
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Cache.Now == nil {
		c.Cache.Now = c.Now
	}
	return c
}
