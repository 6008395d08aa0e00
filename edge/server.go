package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/changes"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/cangqiong/cangqiong/edge/route"
	"github.com/cangqiong/cangqiong/edge/ryw"
	"github.com/valyala/fasthttp"
)

// routeConf is a compiled Route.
type routeConf struct {
	pattern string
	auth    AuthMode
	policy  httpcache.Policy
}

// Server is an edge node. Serve and ServeAdmin run its listeners;
// Shutdown stops both. Safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	routes  route.Table[*routeConf]
	def     *routeConf
	store   *cache.Store[*httpcache.Entry]
	group   cache.Group[*fetched]
	ryw     *ryw.Memory
	changes *changes.Subscriber
	perIP   *limit.Limiter // nil: no limit
	perUsr  *limit.Limiter
	m       *metrics
	scratch sync.Pool // *scratch

	public, admin *fasthttp.Server
	realClock     bool // cfg.Now is time.Now: ctx.Time() may stand in for it
	coarse        *coarseClock

	bgMu   sync.Mutex
	bg     map[uint64]bool // keys being revalidated in the background
	closed chan struct{}
	once   sync.Once
}

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	realClock := cfg.Now == nil
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "edge", "region", cfg.Region, "edge", cfg.ID), bg: map[uint64]bool{}, closed: make(chan struct{})}
	for _, r := range cfg.Routes {
		if err := s.routes.Add(r.Pattern, compile(r)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	s.def = compile(cfg.Default)
	s.realClock = realClock
	s.scratch.New = func() any { return new(scratch) }
	var err error
	if err = s.open(); err != nil {
		s.close()
		return nil, err
	}
	s.public = s.newFastHTTP(s.handle)
	s.admin = s.newFastHTTP(s.handleAdmin)
	s.coarse = newCoarseClock()
	return s, nil
}

func compile(r Route) *routeConf {
	if r.Auth == "" {
		r.Auth = AuthOptional
	}
	return &routeConf{pattern: r.Pattern, auth: r.Auth, policy: r.Policy}
}

// open builds the stateful parts.
func (s *Server) open() error {
	cc := s.cfg.Cache
	if cc.Logger == nil {
		cc.Logger = s.cfg.Logger
	}
	var err error
	if s.store, err = cache.New(cc, httpcache.UnmarshalEntry); err != nil {
		return fmt.Errorf("edge: cache: %w", err)
	}
	if s.ryw, err = ryw.NewMemory(s.cfg.RYWUsers, s.cfg.RYWTTL); err != nil {
		return fmt.Errorf("edge: ryw: %w", err)
	}
	if s.cfg.PerIP.Rate > 0 {
		if s.perIP, err = limit.New(s.cfg.PerIP); err != nil {
			return fmt.Errorf("edge: per-IP limit: %w", err)
		}
	}
	if s.cfg.PerUser.Rate > 0 {
		if s.perUsr, err = limit.New(s.cfg.PerUser); err != nil {
			return fmt.Errorf("edge: per-user limit: %w", err)
		}
	}
	s.m = newMetrics(s)
	return s.startChanges()
}

func (s *Server) newFastHTTP(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               h,
		ErrorHandler:          s.transportError,
		NoDefaultServerHeader: true, // bytes on every response, and a hint to attackers
		ReadBufferSize:        s.cfg.MaxHeaderBytes,
		MaxRequestBodySize:    s.cfg.MaxBodyBytes,
		// Reads and writes are bounded by the listener (deadlines).
		NoDefaultContentType:          true,
		DisablePreParseMultipartForm:  true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		Logger:                        fasthttpLogger{s.log},
	}
}

// Handler is the public request handler (for tests and benchmarks).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve answers end users on ln until Shutdown. The caller owns ln.
func (s *Server) Serve(ln net.Listener) error {
	return s.public.Serve(s.bounded(ln))
}

func (s *Server) bounded(ln net.Listener) net.Listener {
	return &deadlines{Listener: ln, read: int64(s.cfg.ReadTimeout), write: int64(s.cfg.WriteTimeout), clock: s.coarse, perIP: s.cfg.MaxConnsPerIP}
}

// ServeAdmin answers the admin endpoints (health, readiness, metrics,
// purge) on ln until Shutdown.
func (s *Server) ServeAdmin(ln net.Listener) error { return s.admin.Serve(s.bounded(ln)) }

// Shutdown stops accepting connections, lets requests in flight finish
// (until ctx ends) and closes the caches. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		errs := []error{s.public.ShutdownWithContext(ctx), s.admin.ShutdownWithContext(ctx)}
		errs = append(errs, s.close())
		s.coarse.Stop()
		err = errors.Join(errs...)
	})
	return err
}

func (s *Server) close() error {
	errs := []error{s.stopChanges()} // it purges the store: first
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	for _, l := range []*limit.Limiter{s.perIP, s.perUsr} {
		if l != nil {
			errs = append(errs, l.Close())
		}
	}
	return errors.Join(errs...)
}

// fasthttpLogger sends fasthttp's own messages to slog at debug level.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...))
}
