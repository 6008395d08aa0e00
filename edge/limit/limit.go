package limit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Config controls a Limiter. Rate and Burst have no defaults; a zero MaxKeys
// or Idle takes its default.
type Config struct {
	// Rate is the sustained rate per key, in requests per second. rate.Inf
	// lets everything through.
	Rate rate.Limit
	// Burst is how many requests a key may make at once, at least 1.
	Burst int
	// MaxKeys bounds how many keys have a bucket. Default 1,000,000.
	MaxKeys int
	// Idle drops a key's bucket after this long without requests. Default
	// 10 minutes; never less than a bucket takes to refill.
	Idle time.Duration
}

// Defaults for Config's zero fields.
const (
	DefaultMaxKeys = 1_000_000
	DefaultIdle    = 10 * time.Minute
)

// ErrConfig is returned by New for a Config it cannot use.
var ErrConfig = errors.New("limit: bad config")

// Limiter is a set of token buckets, one per key. It is safe for concurrent
// use.
type Limiter struct {
	rate      rate.Limit
	burst     int
	buckets   *otter.Cache[uint64, *rate.Limiter]
	closeOnce sync.Once
}

// New returns a Limiter for cfg.
func New(cfg Config) (*Limiter, error) {
	return newLimiter(cfg, nil)
}

// newLimiter takes the cache's clock, so tests can move idle time.
func newLimiter(cfg Config, clock otter.Clock) (*Limiter, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	buckets, err := otter.New(&otter.Options[uint64, *rate.Limiter]{
		MaximumSize:      cfg.MaxKeys,
		ExpiryCalculator: otter.ExpiryAccessing[uint64, *rate.Limiter](cfg.idle()),
		Clock:            clock,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Limiter{rate: cfg.Rate, burst: cfg.Burst, buckets: buckets}, nil
}

func (c *Config) withDefaults() error {
	switch {
	case math.IsNaN(float64(c.Rate)) || c.Rate <= 0:
		return fmt.Errorf("%w: Rate %v, want > 0", ErrConfig, c.Rate)
	case c.Burst < 1:
		return fmt.Errorf("%w: Burst %d, want >= 1", ErrConfig, c.Burst)
	case c.MaxKeys < 0 || c.Idle < 0:
		return fmt.Errorf("%w: negative MaxKeys or Idle", ErrConfig)
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Idle == 0 {
		c.Idle = DefaultIdle
	}
	return nil
}

// idle is Idle raised to the time an empty bucket takes to fill, plus a
// second for the cache's coarse expiry on reads: dropping a bucket must
// never hand out tokens it would not have had.
func (c *Config) idle() time.Duration {
	if c.Rate == rate.Inf {
		return c.Idle
	}
	refill := time.Duration(float64(c.Burst)/float64(c.Rate)*float64(time.Second)) + time.Second
	return max(c.Idle, refill)
}

// Allow takes one token from key's bucket. If there is none, ok is false and
// retryAfter is how long until there is one (for Retry-After, see
// RetryAfterSeconds). It does not allocate once key has a bucket.
func (l *Limiter) Allow(key uint64) (ok bool, retryAfter time.Duration) {
	return l.AllowAt(key, time.Now())
}

// AllowAt is Allow at time now; now should not go backwards for a key.
func (l *Limiter) AllowAt(key uint64, now time.Time) (ok bool, retryAfter time.Duration) {
	if l.rate == rate.Inf {
		return true, 0
	}
	b := l.bucket(key)
	if b.AllowN(now, 1) {
		return true, 0
	}
	return false, l.wait(b.TokensAt(now))
}

func (l *Limiter) bucket(key uint64) *rate.Limiter {
	if b, ok := l.buckets.GetIfPresent(key); ok {
		return b
	}
	b, _ := l.buckets.SetIfAbsent(key, rate.NewLimiter(l.rate, l.burst))
	return b
}

// wait is how long until the bucket holds one whole token. A token may
// arrive between AllowN and TokensAt; the wait is then the least there is.
func (l *Limiter) wait(tokens float64) time.Duration {
	need := 1 - tokens
	if need <= 0 {
		return time.Nanosecond
	}
	return time.Duration(math.Ceil(need / float64(l.rate) * float64(time.Second)))
}

// Len is about how many keys have a bucket.
func (l *Limiter) Len() int { return l.buckets.EstimatedSize() }

// Close stops the cache's background clean-up. It is idempotent; Allow keeps
// working after it.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() { l.buckets.StopAllGoroutines() })
	return nil
}

// RetryAfterSeconds is d rounded up to whole seconds, the value of a
// Retry-After header (RFC 9110 §10.2.3): at least 1 for any positive d, 0
// for d <= 0.
func RetryAfterSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// AppendRetryAfter appends RetryAfterSeconds(d) in decimal to dst, for
// setting the header without allocating.
func AppendRetryAfter(dst []byte, d time.Duration) []byte {
	return strconv.AppendInt(dst, RetryAfterSeconds(d), 10)
}
