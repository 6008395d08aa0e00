package childproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Spec describes the server program a Server runs. Bin, Args, LogPath and
// Ready are required.
type Spec struct {
	// Name is the server's short name in log messages: Name "redis" logs
	// "redis started", "redis stopped", "redis exited unexpectedly".
	Name string
	// Bin is the program's path. Errors call it by its base name.
	Bin string
	// Args returns the program's arguments for a run on port. The program
	// must bind 127.0.0.1:port and log "Address already in use" if it
	// cannot (mariadbd and redis-server do).
	Args func(port int) []string
	// LogPath is the server's log file. The child's stdout and stderr are
	// appended to it; start errors and unexpected exits quote its tail.
	LogPath string
	// Port is the TCP port on 127.0.0.1. 0 picks a free one, retrying with
	// another if the server loses a race for it.
	Port int
	// Ready reports whether the server listening on addr is up and is the
	// child with process id pid, not a server another process started on a
	// port this one lost the race for. A start polls it until it is true.
	Ready func(ctx context.Context, addr string, pid int) bool
	// BeforeStart, if set, runs before every run of the program (Start and
	// Restart), e.g. to recreate a directory that Stop's AfterStop removed.
	BeforeStart func() error
	// AfterStop, if set, runs at the end of every Stop, whatever its result
	// and even when the server was already stopped; not after Kill or the
	// stop inside Restart.
	AfterStop func()
	// Logger receives lifecycle events. nil: slog.Default().
	Logger *slog.Logger
}

const (
	// maxPortAttempts bounds the retries when Port is 0 and another process
	// binds the chosen port first.
	maxPortAttempts = 5
	// readyPoll is how often a start asks the server whether it is ready.
	readyPoll = 10 * time.Millisecond
)

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port in use")

// Server is a running (or stopped) child server. Its port is fixed by Start
// and kept across Restart. Its methods are safe for concurrent use.
type Server struct {
	spec Spec
	log  *slog.Logger
	port int

	mu   sync.Mutex // serialises Stop, Kill and Restart
	proc *process   // nil when stopped
}

// Start runs the program and returns once Ready reports it up. If ctx ends
// first, or the program exits, the child is killed and the error holds the
// tail of its log.
func Start(ctx context.Context, spec Spec) (*Server, error) {
	if spec.Bin == "" || spec.Args == nil || spec.LogPath == "" || spec.Ready == nil {
		return nil, errors.New("childproc: Spec needs Bin, Args, LogPath and Ready")
	}
	s := &Server{spec: spec, log: spec.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	for attempt := 1; ; attempt++ {
		port := spec.Port
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		p, err := s.launch(ctx, port)
		if err == nil {
			s.port, s.proc = port, p // s is not shared yet
			return s, nil
		}
		if spec.Port != 0 || !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return nil, err
		}
		s.log.Debug("port taken, trying another", "port", port)
	}
}

// launch runs the program on port and waits until it is ready.
func (s *Server) launch(ctx context.Context, port int) (*process, error) {
	if s.spec.BeforeStart != nil {
		if err := s.spec.BeforeStart(); err != nil {
			return nil, err
		}
	}
	out, err := openLog(s.spec.LogPath)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	logFrom := fileSize(s.spec.LogPath)
	began := time.Now()
	p, err := spawn(s.spec.Bin, s.spec.Args(port), out)
	if err != nil {
		return nil, err
	}
	addr := hostPort(port)
	if err := s.waitReady(ctx, p, addr, logFrom); err != nil {
		p.kill()
		return nil, fmt.Errorf("%s on %s: %w\n--- tail of %s ---\n%s",
			filepath.Base(s.spec.Bin), addr, err, s.spec.LogPath, logTail(s.spec.LogPath, logFrom))
	}
	s.log.Info(s.spec.Name+" started", "addr", addr, "pid", p.pid(), "took", time.Since(began))
	go s.watch(p, addr, logFrom)
	return p, nil
}

// waitReady polls until Ready passes, the process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process, addr string, logFrom int64) error {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if s.spec.Ready(ctx, addr, p.pid()) {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(logTail(s.spec.LogPath, logFrom), "Address already in use") {
				return fmt.Errorf("%w: exited before it was ready: %v", errPortInUse, p.waitErr)
			}
			return fmt.Errorf("exited before it was ready: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// watch logs an exit nobody asked for, so a crashed server shows up in logs.
func (s *Server) watch(p *process, addr string, logFrom int64) {
	<-p.done
	if !p.stopping.Load() {
		s.log.Warn(s.spec.Name+" exited unexpectedly", "addr", addr, "err", p.waitErr,
			"log", logTail(s.spec.LogPath, logFrom))
	}
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Addr is the server's TCP address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return hostPort(s.port) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Stop asks the server to exit (SIGTERM) and waits for it; if ctx ends first
// it kills it. Stopping a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spec.AfterStop != nil {
		defer s.spec.AfterStop()
	}
	return s.stopLocked(ctx)
}

func (s *Server) stopLocked(ctx context.Context) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	began := time.Now()
	if err := p.terminate(ctx); err != nil {
		return fmt.Errorf("stop %s: %w", s.Addr(), err)
	}
	s.log.Info(s.spec.Name+" stopped", "addr", s.Addr(), "took", time.Since(began))
	return nil
}

// Kill kills the server at once (SIGKILL), as a crash would, and waits for
// it. Killing a stopped server returns nil.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if err := p.kill(); err != nil {
		return fmt.Errorf("kill %s: %w", s.Addr(), err)
	}
	s.log.Info(s.spec.Name+" killed", "addr", s.Addr())
	return nil
}

// Restart runs the program again on the same port, stopping it first (as
// Stop does, without AfterStop) if it is running.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(ctx); err != nil {
		return err
	}
	p, err := s.launch(ctx, s.port)
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	s.proc = p
	return nil
}
