package app

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/ids"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes         = 64 << 10
	DefaultSMaxAge              = 60 * time.Second
	DefaultStaleWhileRevalidate = 30 * time.Second
	DefaultStaleIfError         = 600 * time.Second
	DefaultHoldTimeout          = 2 * time.Second
)

// Config controls an App. Start from DefaultConfig; zero fields take the
// defaults documented on them.
type Config struct {
	// Exec runs every statement. Required; the caller owns and closes it.
	Exec *exec.Executor
	// IDs makes the ids of new rows. Required; its node number must be
	// unique among the live core nodes.
	IDs *ids.Generator
	// MaxBodyBytes bounds a request body; a larger one is refused with
	// 413. 0: DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// Catalog is how long shared caches keep public catalog reads.
	Catalog CachePolicy
	// HoldTimeout bounds how long a write waits, in total, while a reshard
	// cuts over its user (exec.ErrFrozen): the request is held until a
	// newer shard map lifts the freeze and then runs, or is answered 503
	// "resharding" with Retry-After once HoldTimeout has passed.
	// 0: DefaultHoldTimeout (2s).
	HoldTimeout time.Duration
	// Logger; nil: slog.Default(). The App logs with component=core.app.
	Logger *slog.Logger
}

// CachePolicy is the Cache-Control of public catalog reads. A zero field
// takes its default; a negative one leaves its directive out.
type CachePolicy struct {
	// SMaxAge is how long a shared cache serves the response fresh.
	// 0: DefaultSMaxAge (60s).
	SMaxAge time.Duration
	// StaleWhileRevalidate is how long after that a cache may serve it
	// stale while it fetches a new one. 0: DefaultStaleWhileRevalidate (30s).
	StaleWhileRevalidate time.Duration
	// StaleIfError is how long after freshness a cache may serve it when
	// the origin fails. 0: DefaultStaleIfError (600s).
	StaleIfError time.Duration
}

// DefaultConfig is a Config with every default filled in; Exec and IDs are
// left for the caller.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes: DefaultMaxBodyBytes,
		HoldTimeout:  DefaultHoldTimeout,
		Catalog: CachePolicy{
			SMaxAge:              DefaultSMaxAge,
			StaleWhileRevalidate: DefaultStaleWhileRevalidate,
			StaleIfError:         DefaultStaleIfError,
		},
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.Exec == nil {
		return c, errors.New("app: Config.Exec is required")
	}
	if c.IDs == nil {
		return c, errors.New("app: Config.IDs is required")
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.HoldTimeout <= 0 {
		c.HoldTimeout = DefaultHoldTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Header is the Cache-Control value, e.g. "public, s-maxage=60,
// stale-while-revalidate=30, stale-if-error=600".
func (p CachePolicy) Header() string {
	var b strings.Builder
	b.WriteString("public")
	directive(&b, "s-maxage", p.SMaxAge, DefaultSMaxAge)
	directive(&b, "stale-while-revalidate", p.StaleWhileRevalidate, DefaultStaleWhileRevalidate)
	directive(&b, "stale-if-error", p.StaleIfError, DefaultStaleIfError)
	return b.String()
}

func directive(b *strings.Builder, name string, d, def time.Duration) {
	if d == 0 {
		d = def
	}
	if d < 0 {
		return
	}
	b.WriteString(", " + name + "=" + strconv.FormatInt(int64(d/time.Second), 10))
}
