package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config controls a Store. Start from DefaultConfig; a zero duration or
// count means its default (documented on each field), except L1MaxBytes,
// where 0 disables L1.
type Config struct {
	// L1MaxBytes bounds the in-process cache by the items' Weight plus a
	// small per-entry overhead. 0 disables L1. DefaultConfig: 256 MiB.
	L1MaxBytes int64

	// Redis is the region's Redis (L2), shared by the region's edges. nil: no
	// L2, no cross-edge purges. Build it with RedisOptions, or make sure it
	// honours context deadlines (New refuses a client that would block a
	// request for its 5 s default read timeout). The Store never closes it.
	// A *redis.ClusterClient works as is: every key the Store touches is read
	// or written on its own, never two keys in one command.
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key and the purge channel. Default "cq:".
	KeyPrefix string
	// RedisTimeout bounds one L2 operation (a lookup is two round trips, a
	// purge one) including waiting for a pooled connection. Default 50 ms.
	RedisTimeout time.Duration

	// WriteQueue bounds the L2 writes waiting for a writer; when it is full a
	// write is dropped and counted (Stats.L2WriteDrops). Default 1024.
	WriteQueue int
	// WriteWorkers is the number of goroutines writing to L2. Default 4.
	WriteWorkers int
	// MaxWriteDelay drops an L2 write whose item was fetched (its Mark was
	// taken) longer ago than this. It bounds how late a write can land, which
	// the lifetime of purge markers relies on. Default 10 s.
	MaxWriteDelay time.Duration
	// MaxTTL caps the lifetime of an entry in L2 (item.TTL beyond it is cut).
	// Purge markers live MaxTTL+MaxWriteDelay+ClockSkew+1m. Default 24 h.
	MaxTTL time.Duration
	// ClockSkew is the most the clocks of one region's edges disagree. An L2
	// entry is treated as purged when it was fetched less than ClockSkew after
	// a purge of one of its keys (it may predate the purge on another
	// edge's clock). Default 1 s.
	ClockSkew time.Duration

	// MaxPendingPurges bounds the surrogate keys whose L2 purge waits for
	// Redis to come back. Past it the pending keys are replaced by one purge
	// of the whole L2 prefix (logged at Warn). Default 10 000.
	MaxPendingPurges int
	// ReplayInterval is how often pending L2 purges are retried. Default
	// 250 ms.
	ReplayInterval time.Duration
	// PurgeLogSize bounds the surrogate keys remembered with the order of
	// their last purge, used to refuse an item fetched before a purge of one
	// of its keys (see Mark). Older history is forgotten by refusing items
	// whose Mark predates it. Default 65 536.
	PurgeLogSize int

	// Breaker guards every Redis call.
	Breaker BreakerConfig

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets the Store's events, with component=edge.cache. Default
	// slog.Default().
	Logger *slog.Logger
}

// BreakerConfig controls the circuit breaker in front of Redis
// (sony/gobreaker). While it is open no Redis call is made: L2 lookups are
// misses, L2 writes are dropped, purges are kept for replay.
type BreakerConfig struct {
	// Failures is the number of consecutive failed Redis calls (errors and
	// timeouts; a missing key is a success) that opens the breaker.
	// Default 5.
	Failures uint32
	// OpenFor is how long it stays open before letting probes through
	// (half-open). Default 1 s.
	OpenFor time.Duration
	// Probes is the number of calls let through while half-open; that many
	// successes in a row close it, one failure opens it again. Default 1.
	Probes uint32
}

// DefaultConfig is a Config with every default filled in and a 256 MiB L1,
// without Redis.
func DefaultConfig() Config {
	return Config{
		L1MaxBytes:       256 << 20,
		KeyPrefix:        "cq:",
		RedisTimeout:     50 * time.Millisecond,
		WriteQueue:       1024,
		WriteWorkers:     4,
		MaxWriteDelay:    10 * time.Second,
		MaxTTL:           24 * time.Hour,
		ClockSkew:        time.Second,
		MaxPendingPurges: 10_000,
		ReplayInterval:   250 * time.Millisecond,
		PurgeLogSize:     1 << 16,
		Breaker:          BreakerConfig{Failures: 5, OpenFor: time.Second, Probes: 1},
		Now:              time.Now,
		Logger:           slog.Default(),
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	def(&c.KeyPrefix, d.KeyPrefix)
	def(&c.RedisTimeout, d.RedisTimeout)
	def(&c.WriteQueue, d.WriteQueue)
	def(&c.WriteWorkers, d.WriteWorkers)
	def(&c.MaxWriteDelay, d.MaxWriteDelay)
	def(&c.MaxTTL, d.MaxTTL)
	def(&c.ClockSkew, d.ClockSkew)
	def(&c.MaxPendingPurges, d.MaxPendingPurges)
	def(&c.ReplayInterval, d.ReplayInterval)
	def(&c.PurgeLogSize, d.PurgeLogSize)
	def(&c.Breaker.Failures, d.Breaker.Failures)
	def(&c.Breaker.OpenFor, d.Breaker.OpenFor)
	def(&c.Breaker.Probes, d.Breaker.Probes)
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

func def[V comparable](v *V, d V) {
	var zero V
	if *v == zero {
		*v = d
	}
}

func (c Config) validate() error {
	var errs []error
	if c.L1MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("L1MaxBytes %d is negative", c.L1MaxBytes))
	}
	for name, d := range map[string]time.Duration{
		"RedisTimeout": c.RedisTimeout, "MaxWriteDelay": c.MaxWriteDelay, "MaxTTL": c.MaxTTL,
		"ClockSkew": c.ClockSkew, "ReplayInterval": c.ReplayInterval, "Breaker.OpenFor": c.Breaker.OpenFor,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", name, d))
		}
	}
	for name, n := range map[string]int{
		"WriteQueue": c.WriteQueue, "WriteWorkers": c.WriteWorkers,
		"MaxPendingPurges": c.MaxPendingPurges, "PurgeLogSize": c.PurgeLogSize,
	} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s %d is negative", name, n))
		}
	}
	if c.Redis != nil {
		errs = append(errs, checkClient(c.Redis, c.RedisTimeout))
	}
	return errors.Join(errs...)
}

// checkClient refuses a client that ignores context deadlines and would wait
// longer than budget on a socket: with it a slow Redis would hold requests
// for seconds whatever RedisTimeout says. Clients of other types (wrappers)
// are trusted.
func checkClient(c redis.UniversalClient, budget time.Duration) error {
	var ctxOK bool
	var read, write time.Duration
	switch c := c.(type) {
	case *redis.Client:
		o := c.Options()
		ctxOK, read, write = o.ContextTimeoutEnabled, o.ReadTimeout, o.WriteTimeout
	case *redis.ClusterClient:
		o := c.Options()
		ctxOK, read, write = o.ContextTimeoutEnabled, o.ReadTimeout, o.WriteTimeout
	default:
		return nil
	}
	tight := func(d time.Duration) bool { return d > 0 && d <= budget }
	if ctxOK || (tight(read) && tight(write)) {
		return nil
	}
	return fmt.Errorf("the Redis client ignores context deadlines (ContextTimeoutEnabled=false) and its read/write timeouts %v/%v exceed RedisTimeout %v: build it from cache.RedisOptions", read, write, budget)
}

// RedisOptions are go-redis options fit for the edge's L2: the client honours
// each call's context deadline (RedisTimeout), fails over to the next request
// instead of retrying at length, and reconnects by itself in the background.
// One address makes a plain client; several, or IsClusterMode, a Redis
// Cluster client. Adjust the returned options before redis.NewUniversalClient.
func RedisOptions(addrs ...string) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:                 addrs,
		ClientName:            "cangqiong-edge",
		ContextTimeoutEnabled: true,
		// Socket timeouts are a backstop for calls without a deadline (the
		// pub/sub health check); every Store call carries RedisTimeout.
		DialTimeout:  250 * time.Millisecond,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		// One retry replaces a pooled connection that died with the server
		// (after a Redis restart) within the same call's budget.
		MaxRetries:      1,
		MinRetryBackoff: time.Millisecond,
		MaxRetryBackoff: 5 * time.Millisecond,
		DialerRetries:   1,
		// Waiting for a pooled connection is bounded by the call's deadline;
		// this only bounds calls that have none.
		PoolTimeout: 250 * time.Millisecond,
	}
}
