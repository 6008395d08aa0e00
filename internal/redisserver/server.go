package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrNotInstalled is wrapped by Available's error (and Start's) when
// redis-server is not installed.
var ErrNotInstalled = errors.New("redis-server is not installed")

// Options configure Start.
type Options struct {
	// Dir is the server's working directory (its log lives there); it is
	// created if missing. Required.
	Dir string
	// Port is the TCP port on 127.0.0.1. 0 picks a free one, retrying with
	// another if the server loses a race for it.
	Port int
	// Logger receives lifecycle events. nil: slog.Default().
	Logger *slog.Logger
}

const (
	maxPortAttempts = 5
	readyPoll       = 10 * time.Millisecond
)

var errPortInUse = errors.New("port in use")

// Server is a running (or stopped) private redis-server.
type Server struct {
	log     *slog.Logger
	bin     string
	dir     string
	logPath string
	port    int // fixed once the first start succeeds

	mu   sync.Mutex // serialises Stop, Kill and Restart
	proc *process   // nil when stopped
}

// Available reports whether redis-server is installed, on PATH or in
// /usr/bin or /usr/sbin. The error says how to install it and wraps
// ErrNotInstalled.
func Available() error {
	_, err := lookPath()
	return err
}

func lookPath() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, "redis-server")); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: redis-server not found on PATH or in /usr/bin, /usr/sbin; install it with: apt-get install redis-server (scripts/test.sh does this)", ErrNotInstalled)
}

// Start starts redis-server in opts.Dir and returns once it answers PING. If
// ctx ends first, the server is killed and the error holds the tail of its
// log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("redisserver: Options.Dir is required")
	}
	bin, err := lookPath()
	if err != nil {
		return nil, fmt.Errorf("redisserver: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("redisserver: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		log:     logger.With("component", "redisserver"),
		bin:     bin,
		dir:     dir,
		logPath: filepath.Join(dir, "redis.log"),
	}
	if err := s.startPort(ctx, opts.Port); err != nil {
		return nil, fmt.Errorf("redisserver: %w", err)
	}
	return s, nil
}

// startPort launches on port, or on free ports if port is 0.
func (s *Server) startPort(ctx context.Context, port int) error {
	for attempt := 1; ; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = freePort(); err != nil {
				return err
			}
		}
		proc, err := s.launch(ctx, p)
		if err == nil {
			s.port, s.proc = p, proc // s is not shared yet
			return nil
		}
		if port != 0 || !errors.Is(err, errPortInUse) || attempt == maxPortAttempts {
			return err
		}
		s.log.Debug("port taken, trying another", "port", p)
	}
}

// launch runs redis-server on port and waits until it is ready.
func (s *Server) launch(ctx context.Context, port int) (*process, error) {
	out, err := openLog(s.logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	logFrom := fileSize(s.logPath)
	began := time.Now()
	p, err := spawn(s.bin, s.args(port), out)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := s.waitReady(ctx, p, addr, logFrom); err != nil {
		p.kill()
		return nil, fmt.Errorf("redis-server on %s: %w\n--- tail of %s ---\n%s", addr, err, s.logPath, logTail(s.logPath, logFrom))
	}
	s.log.Info("redis started", "addr", addr, "pid", p.pid(), "took", time.Since(began))
	go s.watch(p, addr, logFrom)
	return p, nil
}

func (s *Server) args(port int) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", s.logPath,
		"--daemonize", "no",
	}
}

// waitReady polls until the server at addr answers PING and is ours (a
// server another process started on a port we lost the race for must not
// pass), the process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process, addr string, logFrom int64) error {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if isOurs(ctx, addr, p.pid()) {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(logTail(s.logPath, logFrom), "Address already in use") {
				return fmt.Errorf("%w: exited before it was ready: %v", errPortInUse, p.waitErr)
			}
			return fmt.Errorf("exited before it was ready: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// isOurs sends PING, expects +PONG, then checks INFO server names pid.
func isOurs(ctx context.Context, addr string, pid int) bool {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "*1\r\n$4\r\nPING\r\n"); err != nil {
		return false
	}
	if line, err := r.ReadString('\n'); err != nil || line != "+PONG\r\n" {
		return false
	}
	if _, err := io.WriteString(c, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"); err != nil {
		return false
	}
	info, err := readBulk(r)
	return err == nil && strings.Contains(info, "\r\nprocess_id:"+strconv.Itoa(pid)+"\r\n")
}

// readBulk reads one RESP bulk string.
func readBulk(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "$") {
		return "", fmt.Errorf("want a bulk string, got %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[1:], "\r\n"))
	if err != nil || n < 0 || n > 1<<20 {
		return "", fmt.Errorf("bad bulk length %q", line)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// watch logs an exit nobody asked for.
func (s *Server) watch(p *process, addr string, logFrom int64) {
	<-p.done
	if !p.stopping.Load() {
		s.log.Warn("redis exited unexpectedly", "addr", addr, "err", p.waitErr,
			"log", logTail(s.logPath, logFrom))
	}
}

// Addr is the server's TCP address, "127.0.0.1:PORT". It stays the same
// across Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.logPath }

// Stop shuts the server down (SIGTERM) and waits for it; if ctx ends first it
// kills it. Stopping a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked(ctx)
}

func (s *Server) stopLocked(ctx context.Context) error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if err := p.terminate(ctx); err != nil {
		return fmt.Errorf("redisserver: stop %s: %w", s.Addr(), err)
	}
	s.log.Info("redis stopped", "addr", s.Addr())
	return nil
}

// Kill kills the server at once (SIGKILL) and waits for it. Killing a
// stopped server returns nil.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	if err := p.kill(); err != nil {
		return fmt.Errorf("redisserver: kill %s: %w", s.Addr(), err)
	}
	s.log.Info("redis killed", "addr", s.Addr())
	return nil
}

// Restart starts the server again, empty, on the same port, stopping it
// first if it is running.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(ctx); err != nil {
		return err
	}
	p, err := s.launch(ctx, s.port)
	if err != nil {
		return fmt.Errorf("redisserver: restart: %w", err)
	}
	s.proc = p
	return nil
}
