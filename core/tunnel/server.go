package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Server is a core node's tunnel server. Its methods are safe for
// concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	srv *http.Server

	// stopping ends when Shutdown begins, and with it Config.Routes'
	// requests.
	stopping context.Context
	stop     context.CancelFunc

	// running counts handler goroutines, including those still running
	// after their request timed out; idle is closed when it drops to 0.
	// Shutdown waits for them. (A sync.WaitGroup would forbid a late Add
	// racing Shutdown's Wait, which a stream of a dying connection can do.)
	mu      sync.Mutex
	running int
	idle    chan struct{}
}

// New checks cfg and returns a server ready to Serve.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "core.tunnel")}
	s.stopping, s.stop = context.WithCancel(context.Background())
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		TLSConfig:         cfg.TLS,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		// Refused handshakes ("TLS handshake error from …: … certificate
		// has expired") and protocol errors land here.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Serve accepts TLS connections on ln, which the caller made (a TCP
// listener: Serve does the TLS), and serves HTTP/2 (or HTTP/1.1) on them
// until Shutdown, when it closes ln and returns nil. Any other error ends
// it too. Serve may be called on several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("serving tunnels", "addr", ln.Addr().String())
	err := s.srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("tunnel: serve %s: %w", ln.Addr(), err)
}

// Shutdown stops the server gracefully: it closes the listeners, tells the
// edges (HTTP/2 GOAWAY) to open new streams elsewhere, and waits until the
// requests in flight are answered and their handlers have returned, or
// until ctx is done (then it returns ctx's error and the remaining
// connections stay open; call it again or give up). Requests of
// Config.Routes see their context end at once. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	if err := s.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("tunnel: shutdown: %w", err)
	}
	// No connection is left, so no request starts any more; wait for the
	// handlers that outlived their request.
	s.mu.Lock()
	idle := s.idle
	if s.running == 0 {
		idle = nil
	}
	s.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tunnel: shutdown: handlers still running after their requests timed out: %w", ctx.Err())
	}
}

func (s *Server) handlerStarted() {
	s.mu.Lock()
	if s.running == 0 {
		s.idle = make(chan struct{})
	}
	s.running++
	s.mu.Unlock()
}

func (s *Server) handlerDone() {
	s.mu.Lock()
	s.running--
	if s.running == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
}
