package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Executor is what the relay needs from sharding/exec: the pools of the
// keyspaces by id, and the topology that names them.
type Executor interface {
	Shard(id string) (*sql.DB, error)
	Global() *sql.DB
	Topology() *shardmap.Topology
}

var _ Executor = (*exec.Executor)(nil)

// Regions lists the registered edge regions; *control.RegionStore fits.
type Regions interface {
	List(ctx context.Context) ([]control.Region, error)
}

var _ Regions = (*control.RegionStore)(nil)

// Defaults of Config's zero fields.
const (
	DefaultLeaseTTL         = 3 * time.Second
	DefaultLeaseGrace       = time.Second
	DefaultPollInterval     = 10 * time.Millisecond
	DefaultPollBatch        = 512
	DefaultBufferSize       = 4096
	DefaultHeartbeat        = time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultMaxSubscriptions = 1024
	DefaultPruneInterval    = 30 * time.Second
	DefaultPruneBatch       = 1000
	DefaultRetention        = 24 * time.Hour
	DefaultAckWindow        = 10 * time.Minute
)

// Config controls a Relay. Start from DefaultConfig; Node and Exec are
// required.
type Config struct {
	// Node is this core node's name, the owner written in the leases;
	// unique among live nodes (gossip sees to that). Required.
	Node string
	// Exec reaches the shards and the global keyspace. Required.
	Exec Executor
	// Members lists the names of the alive core nodes, this one included
	// (gossip). Leases spread over them. nil: this node alone.
	Members func() []string
	// Regions lists the registered edge regions, whose acknowledgements
	// pruning waits for. nil: control.NewRegionStore over the global
	// keyspace.
	Regions Regions

	// LeaseTTL is how long a lease lasts after each renewal; leases are
	// renewed every LeaseTTL/3. 0: DefaultLeaseTTL (3 s).
	LeaseTTL time.Duration
	// LeaseGrace is how long a lease must have expired before a node that
	// is not its preferred owner takes it. 0: DefaultLeaseGrace (1 s).
	LeaseGrace time.Duration
	// RebalanceHold is how long a lease taken over through the grace is
	// kept before it is given back to its preferred owner.
	// 0: 10 × LeaseTTL.
	RebalanceHold time.Duration

	// PollInterval is the pause between two reads of an owned outbox that
	// found less than a batch. 0: DefaultPollInterval (10 ms).
	PollInterval time.Duration
	// PollBatch bounds the changes one read of an outbox returns, by the
	// tailer or a subscription catching up. 0: DefaultPollBatch (512).
	PollBatch int
	// BufferSize is how many recent changes per keyspace stay in memory
	// for subscriptions to read. 0: DefaultBufferSize (4096).
	BufferSize int

	// Heartbeat is the longest a subscription goes without a frame for a
	// keyspace: an idle keyspace gets a head frame. 0: DefaultHeartbeat
	// (1 s).
	Heartbeat time.Duration
	// WriteTimeout bounds writing and flushing one batch of frames to a
	// subscriber; one that does not take it in time is disconnected.
	// 0: DefaultWriteTimeout (10 s).
	WriteTimeout time.Duration
	// MaxSubscriptions bounds the concurrent subscriptions of the node;
	// past it a subscription is answered 503. 0: DefaultMaxSubscriptions.
	MaxSubscriptions int

	// PruneInterval is the pause between two rounds of deleting an owned
	// outbox's acknowledged and expired rows. 0: DefaultPruneInterval (30 s).
	PruneInterval time.Duration
	// PruneBatch bounds the rows one DELETE removes, so that it holds its
	// locks briefly. 0: DefaultPruneBatch (1000).
	PruneBatch int
	// Retention is how long an outbox row is kept at most, acknowledged or
	// not; an edge whose cursor is older gets a reset. 0: DefaultRetention
	// (24 h).
	Retention time.Duration
	// AckWindow is how recently an edge must have acknowledged to hold its
	// region's acknowledgement back (see the package doc).
	// 0: DefaultAckWindow (10 min).
	AckWindow time.Duration
	// Keep reports the first sequence of a keyspace's outbox that another
	// reader still needs (ok false: none): the resharding workflow's
	// catch-up reads the old shard's outbox. Acknowledged rows from it on
	// are kept; Retention still deletes them. nil: no other reader.
	Keep func(ctx context.Context, keyspace string) (first uint64, ok bool, err error)

	// Logger receives the relay's logs, tagged component=replication.relay.
	// nil: slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default spelled out; set Node
// and Exec (and Members, in a cluster).
func DefaultConfig() Config {
	return Config{
		LeaseTTL:         DefaultLeaseTTL,
		LeaseGrace:       DefaultLeaseGrace,
		RebalanceHold:    10 * DefaultLeaseTTL,
		PollInterval:     DefaultPollInterval,
		PollBatch:        DefaultPollBatch,
		BufferSize:       DefaultBufferSize,
		Heartbeat:        DefaultHeartbeat,
		WriteTimeout:     DefaultWriteTimeout,
		MaxSubscriptions: DefaultMaxSubscriptions,
		PruneInterval:    DefaultPruneInterval,
		PruneBatch:       DefaultPruneBatch,
		Retention:        DefaultRetention,
		AckWindow:        DefaultAckWindow,
	}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("relay: invalid config")

// check validates c and fills its zero fields with the defaults.
func (c Config) check() (Config, error) {
	if c.Node == "" || len(c.Node) > control.MaxLeaseName {
		return c, fmt.Errorf("%w: Node must be 1-%d bytes, got %q", ErrConfig, control.MaxLeaseName, c.Node)
	}
	if c.Exec == nil {
		return c, fmt.Errorf("%w: no Exec", ErrConfig)
	}
	for _, d := range []time.Duration{c.LeaseTTL, c.LeaseGrace, c.RebalanceHold, c.PollInterval, c.Heartbeat, c.WriteTimeout, c.PruneInterval, c.Retention, c.AckWindow} {
		if d < 0 {
			return c, fmt.Errorf("%w: negative duration %v", ErrConfig, d)
		}
	}
	if c.PollBatch < 0 || c.BufferSize < 0 || c.MaxSubscriptions < 0 || c.PruneBatch < 0 {
		return c, fmt.Errorf("%w: negative size", ErrConfig)
	}
	d := DefaultConfig()
	orDuration(&c.LeaseTTL, d.LeaseTTL)
	orDuration(&c.LeaseGrace, d.LeaseGrace)
	orDuration(&c.RebalanceHold, 10*c.LeaseTTL)
	orDuration(&c.PollInterval, d.PollInterval)
	orDuration(&c.Heartbeat, d.Heartbeat)
	orDuration(&c.WriteTimeout, d.WriteTimeout)
	orDuration(&c.PruneInterval, d.PruneInterval)
	orDuration(&c.Retention, d.Retention)
	orDuration(&c.AckWindow, d.AckWindow)
	orInt(&c.PollBatch, d.PollBatch)
	orInt(&c.BufferSize, d.BufferSize)
	orInt(&c.MaxSubscriptions, d.MaxSubscriptions)
	orInt(&c.PruneBatch, d.PruneBatch)
	if c.Members == nil {
		node := c.Node
		c.Members = func() []string { return []string{node} }
	}
	if c.Regions == nil {
		c.Regions = control.NewRegionStore(globalDB{c.Exec})
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func orDuration(p *time.Duration, d time.Duration) {
	if *p == 0 {
		*p = d
	}
}

func orInt(p *int, d int) {
	if *p == 0 {
		*p = d
	}
}

// globalDB is the executor's pool of the global keyspace, looked up at each
// call: a new topology may move the global keyspace to another pool.
type globalDB struct{ e Executor }

var _ control.RegionDB = globalDB{}

func (g globalDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return g.e.Global().ExecContext(ctx, q, args...)
}

func (g globalDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return g.e.Global().QueryContext(ctx, q, args...)
}

func (g globalDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return g.e.Global().QueryRowContext(ctx, q, args...)
}
