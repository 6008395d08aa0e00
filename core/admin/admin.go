package admin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Defaults and bounds of Config.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultReadyTimeout = 5 * time.Second
	// MinTokenBytes keeps guessable tokens out: the token guards the shard
	// map, which decides where every user's data lives.
	MinTokenBytes = 16
)

// Member is one core node as the cluster sees it.
type Member struct {
	Name       string `json:"name"`
	Addr       string `json:"addr"` // gossip address, host:port
	Region     string `json:"region"`
	TunnelAddr string `json:"tunnel_addr"`
	AdminAddr  string `json:"admin_addr"`
	State      string `json:"state"` // alive, dead, left, … as gossip reports it
	// Epoch is the shard map epoch the member last announced serving.
	Epoch uint64 `json:"epoch"`
}

// Cluster is what the admin API needs from the node's gossip.
type Cluster interface {
	// Members lists the cluster's nodes, this one included.
	Members() []Member
	// Topology is the shard map this node serves; nil before it has one.
	Topology() *shardmap.Topology
	// Commit stores next if the stored epoch is still expectEpoch, then
	// serves and spreads it. A lost race returns an error matching
	// control.ErrEpochConflict (an *control.EpochConflictError names the
	// stored epoch).
	Commit(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error
}

// RegionRegistry is what the admin API needs from the region registry;
// *control.RegionStore is one.
type RegionRegistry interface {
	List(ctx context.Context) ([]control.Region, error)
	Get(ctx context.Context, name string) (control.Region, error)
	Put(ctx context.Context, r control.Region, expectVersion uint64) (control.Region, error)
	Delete(ctx context.Context, name string, expectVersion uint64) error
}

var _ RegionRegistry = (*control.RegionStore)(nil)

// Config controls an Admin. Token and Cluster are required; every other
// zero value takes the default documented on its field.
type Config struct {
	// Token is the bearer token callers send (Authorization: Bearer …). At
	// least MinTokenBytes, no spaces or control characters. Compared in
	// constant time and never logged.
	Token string
	// Cluster is this node's view of the core cluster.
	Cluster Cluster
	// Regions is the region registry. nil: the region routes answer 404.
	Regions RegionRegistry
	// Reshards is the resharding coordinator. nil: the reshard routes
	// answer 404.
	Reshards Reshards
	// Ready reports whether the node should receive traffic (shards
	// reachable, a shard map served); nil error means ready. nil: ready
	// once Cluster serves a shard map.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds one Ready call. 0: DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Metrics serves GET /metrics, behind the token; metrics.Metrics.Handler
	// fits. nil: no /metrics route.
	Metrics http.Handler
	// Instrument wraps the admin's ServeMux to record its requests, e.g.
	// func(h http.Handler) http.Handler { return m.Middleware("admin", h) }.
	// It gets the mux itself, so the route pattern is known. nil: none.
	Instrument func(http.Handler) http.Handler
	// MaxBodyBytes bounds request bodies (413 beyond). 0: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives the API's logs with component=core.admin. nil:
	// slog.Default().
	Logger *slog.Logger
}

// ErrInvalidConfig matches every error New returns.
var ErrInvalidConfig = errors.New("admin: invalid config")

// Admin is the admin API of one node. It is safe for concurrent use.
type Admin struct {
	cluster      Cluster
	regions      RegionRegistry
	reshards     Reshards
	ready        func(ctx context.Context) error
	readyTimeout time.Duration
	maxBody      int64
	log          *slog.Logger
	tokenHash    [sha256.Size]byte
	handler      http.Handler

	mu     sync.Mutex
	srv    *http.Server
	closed bool
}

// New checks cfg and builds the API.
func New(cfg Config) (*Admin, error) {
	if err := checkToken(cfg.Token); err != nil {
		return nil, err
	}
	if cfg.Cluster == nil {
		return nil, fmt.Errorf("%w: no Cluster", ErrInvalidConfig)
	}
	if cfg.MaxBodyBytes < 0 || cfg.ReadyTimeout < 0 {
		return nil, fmt.Errorf("%w: negative MaxBodyBytes or ReadyTimeout", ErrInvalidConfig)
	}
	a := &Admin{
		cluster:      cfg.Cluster,
		regions:      cfg.Regions,
		reshards:     cfg.Reshards,
		ready:        cfg.Ready,
		readyTimeout: cmp.Or(cfg.ReadyTimeout, DefaultReadyTimeout),
		maxBody:      cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		log:          cmp.Or(cfg.Logger, slog.Default()).With("component", "core.admin"),
		tokenHash:    sha256.Sum256([]byte(cfg.Token)),
	}
	if a.ready == nil {
		a.ready = a.servesMap
	}
	var h http.Handler = a.routes(cfg.Metrics)
	if cfg.Instrument != nil {
		h = cfg.Instrument(h)
	}
	a.handler = h
	return a, nil
}

func checkToken(token string) error {
	switch {
	case len(token) < MinTokenBytes:
		return fmt.Errorf("%w: Token has %d bytes, want at least %d", ErrInvalidConfig, len(token), MinTokenBytes)
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%w: Token holds spaces or control characters", ErrInvalidConfig)
	}
	return nil
}

// servesMap is the default readiness: a node without a shard map cannot
// route a single statement.
func (a *Admin) servesMap(context.Context) error {
	if a.cluster.Topology() == nil {
		return errors.New("no shard map served yet")
	}
	return nil
}

// Handler is the API, for a caller that runs its own server.
func (a *Admin) Handler() http.Handler { return a.handler }

// Serve answers the API on ln until Shutdown, with timeouts that keep a
// slow or idle client from holding connections. It closes ln when it
// returns, and returns nil after Shutdown.
func (a *Admin) Serve(ln net.Listener) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		ln.Close()
		return nil
	}
	if a.srv == nil {
		a.srv = &http.Server{
			Handler:           a.handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
	}
	srv := a.srv
	a.mu.Unlock()
	a.log.Info("serving", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: serve: %w", err)
	}
	return nil
}

// Shutdown stops Serve, letting requests in flight finish until ctx ends.
// It is idempotent.
func (a *Admin) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	srv := a.srv
	a.closed = true
	a.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}
