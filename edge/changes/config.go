package changes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
)

// Defaults of Config's zero fields.
const (
	DefaultAckInterval   = time.Second
	DefaultAckTimeout    = 5 * time.Second
	DefaultNodesInterval = time.Second
	DefaultMinBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff    = 5 * time.Second
)

// ErrConfig is wrapped by every error of New about its Config.
var ErrConfig = errors.New("changes: invalid config")

// Core is what the Subscriber needs of the core cluster. Tunnel is the
// real one.
type Core interface {
	// Nodes are the addresses of the core nodes believed alive.
	Nodes() []string
	// Subscribe opens a subscription on the node at addr and returns its
	// stream of frames (NDJSON). Closing it ends the subscription; so does
	// ctx.
	Subscribe(ctx context.Context, addr string, sub Subscription) (io.ReadCloser, error)
	// Ack acknowledges the cursors to any node.
	Ack(ctx context.Context, ack stream.Ack) error
}

// Subscription is what a subscription asks of a node.
type Subscription struct {
	Region, Edge string
	// From are the cursors to resume from; a keyspace missing from it
	// starts at the oldest retained change.
	From stream.Cursors
}

// Config controls a Subscriber. Start from DefaultConfig; Region, Edge,
// Core, Apply and Reset are required.
type Config struct {
	// Region and Edge name this edge to the relay.
	Region, Edge string
	// Core reaches the core nodes.
	Core Core
	// Apply purges a change's surrogate keys. It must be harmless to
	// repeat. An error keeps the change unapplied: the subscription is
	// dropped and the change comes again.
	Apply func(ctx context.Context, keyspace string, seq uint64, keys []string) error
	// Reset flushes everything a keyspace's changes could have touched
	// (the entries carrying stream.KeyspaceKey(keyspace)). An error is
	// handled as Apply's.
	Reset func(ctx context.Context, keyspace string) error

	// AckInterval is how often moved cursors are acknowledged.
	// 0: DefaultAckInterval (1s).
	AckInterval time.Duration
	// AckTimeout bounds one acknowledgement. 0: DefaultAckTimeout (5s).
	AckTimeout time.Duration
	// NodesInterval is how often Core.Nodes is read again.
	// 0: DefaultNodesInterval (1s).
	NodesInterval time.Duration
	// MinBackoff and MaxBackoff bound the pause before a subscription is
	// opened again (see the package comment). 0: DefaultMinBackoff
	// (100ms), DefaultMaxBackoff (5s).
	MinBackoff, MaxBackoff time.Duration

	// Now is the clock of Stats' times. nil: time.Now.
	Now func() time.Time
	// Logger receives the subscriber's logs, tagged
	// component=edge.changes. nil: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default spelled out.
func DefaultConfig() Config {
	return Config{
		AckInterval:   DefaultAckInterval,
		AckTimeout:    DefaultAckTimeout,
		NodesInterval: DefaultNodesInterval,
		MinBackoff:    DefaultMinBackoff,
		MaxBackoff:    DefaultMaxBackoff,
	}
}

// check validates c and fills its zero fields with the defaults.
func (c Config) check() (Config, error) {
	switch {
	case c.Region == "" || c.Edge == "":
		return c, fmt.Errorf("%w: Region and Edge name the edge to the relay", ErrConfig)
	case c.Core == nil:
		return c, fmt.Errorf("%w: no Core", ErrConfig)
	case c.Apply == nil || c.Reset == nil:
		return c, fmt.Errorf("%w: Apply and Reset are required", ErrConfig)
	case c.AckInterval < 0 || c.AckTimeout < 0 || c.NodesInterval < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0:
		return c, fmt.Errorf("%w: negative duration", ErrConfig)
	}
	d := DefaultConfig()
	setDefault(&c.AckInterval, d.AckInterval)
	setDefault(&c.AckTimeout, d.AckTimeout)
	setDefault(&c.NodesInterval, d.NodesInterval)
	setDefault(&c.MinBackoff, d.MinBackoff)
	setDefault(&c.MaxBackoff, d.MaxBackoff)
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("%w: MaxBackoff %v below MinBackoff %v", ErrConfig, c.MaxBackoff, c.MinBackoff)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}
