package relay

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cangqiong/cangqiong/replication/stream"
	"github.com/cangqiong/cangqiong/sharding/control"
)

// ErrStarted is returned by a second Start, and by Start after Shutdown.
var ErrStarted = errors.New("relay: already started or shut down")

// Relay is one core node's change relay. Its methods are safe for
// concurrent use.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	leases *control.LeaseStore
	acks   *control.AckStore
	hub    *hub
	count  counters

	ctx    context.Context // ends at Shutdown: loops and tailers
	cancel context.CancelFunc

	mu      sync.Mutex
	started bool
	stopped bool
	loops   sync.WaitGroup // the lease loop and the pruner
	// The lease loop's own state (Shutdown's once the loop returned).
	held     map[string]*lease    // the leases this node holds
	seen     map[string]time.Time // alive member → alive in every round since
	unseenKS map[string]time.Time // keyspace without a lease row → noticed when
}

// New checks cfg and returns a Relay; Start begins relaying.
func New(cfg Config) (*Relay, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	g := globalDB{cfg.Exec}
	r := &Relay{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "replication.relay", "node", cfg.Node),
		leases:   control.NewLeaseStore(g),
		acks:     control.NewAckStore(g),
		hub:      newHub(),
		held:     map[string]*lease{},
		seen:     map[string]time.Time{},
		unseenKS: map[string]time.Time{},
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Routes are the relay's two tunnel routes, for tunnel.Config.Routes.
func (r *Relay) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		stream.PathSubscribe: http.HandlerFunc(r.serveSubscribe),
		stream.PathAck:       http.HandlerFunc(r.serveAck),
	}
}

// Start runs the lease loop, which takes leases and starts their tailers,
// and the pruner.
func (r *Relay) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return ErrStarted
	}
	r.started = true
	r.loops.Add(2)
	go func() {
		defer r.loops.Done()
		r.leaseLoop(r.ctx)
	}()
	go func() {
		defer r.loops.Done()
		r.pruneLoop(r.ctx)
	}()
	r.log.Info("relay started", "lease_ttl", r.cfg.LeaseTTL.String(), "poll_interval", r.cfg.PollInterval.String())
	return nil
}

// Shutdown ends every subscription (cleanly: the edges resume elsewhere),
// stops the tailers and releases the leases so that other nodes take them
// over without waiting for them to expire. It waits for all of that until
// ctx ends and is idempotent.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	r.mu.Unlock()

	r.hub.close()
	r.cancel()
	if err := wait(ctx, r.loops.Wait); err != nil {
		return err
	}
	// The lease loop has returned: held is this goroutine's now. A
	// release that cannot be made in a moment is left to expire, so that
	// an unreachable database does not take the rest of ctx's time.
	for ks, l := range r.held {
		<-l.done
		rctx, cancel := context.WithTimeout(ctx, r.cfg.LeaseTTL/3)
		err := r.leases.Release(rctx, ks, r.cfg.Node, l.version)
		cancel()
		if err != nil && !errors.Is(err, control.ErrLeaseLost) {
			r.log.Warn("cannot release a lease; it expires on its own", "keyspace", ks, "err", err)
		}
		r.count.released.Add(1)
		delete(r.held, ks)
	}
	r.log.Info("relay stopped")
	return wait(ctx, r.hub.wg.Wait)
}

// wait runs f (a WaitGroup's Wait) until it returns or ctx ends.
func wait(ctx context.Context, f func()) error {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Owned lists the keyspaces this node relays now, sorted.
func (r *Relay) Owned() []string {
	feeds, _, _ := r.hub.state()
	return slices.Sorted(maps.Keys(feeds))
}
