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
	"time"

	"github.com/cangqiong/cangqiong/internal/childproc"
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

// Server is a running (or stopped) private redis-server. Its methods are safe
// for concurrent use.
type Server struct {
	dir     string
	logPath string
	child   *childproc.Server
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
	s := &Server{dir: dir, logPath: filepath.Join(dir, "redis.log")}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s.child, err = childproc.Start(ctx, childproc.Spec{
		Name:    "redis",
		Bin:     bin,
		Args:    s.args,
		LogPath: s.logPath,
		Port:    opts.Port,
		Ready:   isOurs,
		Logger:  logger.With("component", "redisserver"),
	})
	if err != nil {
		return nil, fmt.Errorf("redisserver: %w", err)
	}
	return s, nil
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

// Addr is the server's TCP address, "127.0.0.1:PORT". It stays the same
// across Restart.
func (s *Server) Addr() string { return s.child.Addr() }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.child.Port() }

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.logPath }

// Stop shuts the server down (SIGTERM) and waits for it; if ctx ends first it
// kills it. Stopping a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error { return wrap(s.child.Stop(ctx)) }

// Kill kills the server at once (SIGKILL) and waits for it. Killing a
// stopped server returns nil.
func (s *Server) Kill() error { return wrap(s.child.Kill()) }

// Restart starts the server again, empty, on the same port, stopping it
// first if it is running.
func (s *Server) Restart(ctx context.Context) error { return wrap(s.child.Restart(ctx)) }

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("redisserver: %w", err)
	}
	return nil
}
