package shardserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options configure Start.
type Options struct {
	// Dir holds the server's files; it is created if missing. Required.
	// If Dir already holds a data directory from an earlier run, that data
	// is kept; otherwise the shared template is copied in.
	Dir string
	// Port is the TCP port on 127.0.0.1. 0 picks a free one, retrying with
	// another if the server loses a race for it.
	Port int
	// Logger receives lifecycle events. nil: slog.Default().
	Logger *slog.Logger
}

// tuning keeps an instance small and quick to start. It is given both to
// mariadb-install-db (so the template's InnoDB files match) and to mariadbd.
// innodb_flush_log_at_trx_commit and the doublewrite buffer keep their
// durable defaults: failure tests kill servers and count on committed rows.
var tuning = []string{
	"--skip-name-resolve",
	"--skip-log-bin",
	"--performance-schema=OFF",
	"--innodb-buffer-pool-size=16M",
	"--innodb-log-file-size=8M",
	"--innodb-temp-data-file-path=ibtmp1:1M:autoextend",
	// Many servers (across parallel test processes) would exhaust the
	// machine-wide aio-max-nr; InnoDB's own I/O threads are enough here.
	"--innodb-use-native-aio=OFF",
	"--innodb-buffer-pool-load-at-startup=OFF",
	"--innodb-buffer-pool-dump-at-shutdown=OFF",
	"--table-open-cache=400",
	"--key-buffer-size=1M",
	"--aria-pagecache-buffer-size=8M",
	// TiDB, the production shard server, defaults to utf8mb4_bin.
	"--character-set-server=utf8mb4",
	"--collation-server=utf8mb4_bin",
	"--default-time-zone=+00:00",
}

const (
	// maxPortAttempts bounds the retries when Port is 0 and another process
	// binds the chosen port first.
	maxPortAttempts = 5
	// readyPoll is how often Start asks a starting server whether it is ready.
	readyPoll = 10 * time.Millisecond
	// maxSocketPath is below the 108-byte sun_path limit, with room to spare.
	maxSocketPath = 100
)

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port in use")

// Server is a running (or stopped) private mariadbd. Its methods are safe for
// concurrent use.
type Server struct {
	log      *slog.Logger
	bin      string
	dataDir  string
	logPath  string
	pidPath  string
	tmpDir   string
	sockPath string
	sockDir  string // a short directory of ours holding the socket; "" if inside Dir
	port     int    // fixed once the first start succeeds

	mu   sync.Mutex // serialises Stop, Kill and Restart
	proc *process   // nil when stopped
}

// Start prepares opts.Dir and starts mariadbd there. It returns once the
// server answers a query as root over TCP. If ctx ends first, the server is
// killed and the error holds the tail of its error log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("shardserver: Options.Dir is required")
	}
	b, err := lookBinaries()
	if err != nil {
		return nil, fmt.Errorf("shardserver: %w", err)
	}
	s, err := newServer(opts, b.mariadbd)
	if err != nil {
		return nil, fmt.Errorf("shardserver: %w", err)
	}
	if err := s.prepare(ctx, b); err != nil {
		s.removeSockDir()
		return nil, fmt.Errorf("shardserver: %w", err)
	}
	if err := s.startPort(ctx, opts.Port); err != nil {
		s.removeSockDir()
		return nil, fmt.Errorf("shardserver: %w", err)
	}
	return s, nil
}

func newServer(opts Options, bin string) (*Server, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{
		log:      logger.With("component", "shardserver"),
		bin:      bin,
		dataDir:  filepath.Join(dir, "data"),
		logPath:  filepath.Join(dir, "mariadbd.err"),
		pidPath:  filepath.Join(dir, "mariadbd.pid"),
		tmpDir:   filepath.Join(dir, "tmp"),
		sockPath: filepath.Join(dir, "mariadbd.sock"),
	}, nil
}

// prepare creates the directories and, unless Dir already has data, copies
// the template in.
func (s *Server) prepare(ctx context.Context, b binaries) error {
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return err
	}
	if err := s.placeSocket(); err != nil {
		return err
	}
	if _, err := os.Stat(s.dataDir); err == nil {
		s.log.Info("reusing data directory", "dir", s.dataDir)
		return nil
	}
	began := time.Now()
	tmpl, built, err := ensureTemplate(ctx, b)
	if err != nil {
		return err
	}
	if built {
		s.log.Info("made template data directory", "dir", tmpl, "took", time.Since(began))
	}
	return copyTemplate(tmpl, s.dataDir)
}

// placeSocket moves the Unix socket to a short private directory when the
// path under Dir would exceed the sun_path limit.
func (s *Server) placeSocket() error {
	if len(s.sockPath) <= maxSocketPath {
		return nil
	}
	for _, root := range []string{os.TempDir(), "/tmp"} {
		d, err := os.MkdirTemp(root, "cqsql-")
		if err != nil {
			continue
		}
		if p := filepath.Join(d, "mariadbd.sock"); len(p) <= maxSocketPath {
			s.sockDir, s.sockPath = d, p
			return nil
		}
		os.Remove(d)
	}
	return fmt.Errorf("no directory short enough for the Unix socket (limit %d bytes)", maxSocketPath)
}

func (s *Server) removeSockDir() {
	if s.sockDir != "" {
		os.RemoveAll(s.sockDir)
	}
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

// launch runs mariadbd on port and waits until it is ready.
func (s *Server) launch(ctx context.Context, port int) (*process, error) {
	if s.sockDir != "" {
		if err := os.MkdirAll(s.sockDir, 0o700); err != nil {
			return nil, err
		}
	}
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
		return nil, fmt.Errorf("mariadbd on %s: %w\n--- tail of %s ---\n%s", addr, err, s.logPath, logTail(s.logPath, logFrom))
	}
	s.log.Info("mariadb started", "addr", addr, "pid", p.pid(), "took", time.Since(began))
	go s.watch(p, addr, logFrom)
	return p, nil
}

func (s *Server) args(port int) []string {
	a := []string{"--no-defaults"} // must come first
	if os.Geteuid() == 0 {
		a = append(a, "--user=root") // mariadbd refuses to run as root otherwise
	}
	a = append(a,
		"--datadir="+s.dataDir,
		"--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket="+s.sockPath,
		"--pid-file="+s.pidPath,
		"--log-error="+s.logPath,
		"--tmpdir="+s.tmpDir,
	)
	return append(a, tuning...)
}

// waitReady polls until the server at addr answers as root and is ours (a
// server another process started on a port we lost the race for must not
// pass), the process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *process, addr string, logFrom int64) error {
	cfg := config(addr, "")
	cfg.Timeout = time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if s.isOurs(ctx, db) {
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

func (s *Server) isOurs(ctx context.Context, db *sql.DB) bool {
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var dataDir string
	if err := db.QueryRowContext(qctx, "SELECT @@datadir").Scan(&dataDir); err != nil {
		return false
	}
	if filepath.Clean(dataDir) == s.dataDir {
		return true
	}
	a, errA := os.Stat(dataDir)
	b, errB := os.Stat(s.dataDir)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

// watch logs an exit nobody asked for, so a crashed shard shows up in logs.
func (s *Server) watch(p *process, addr string, logFrom int64) {
	<-p.done
	if !p.stopping.Load() {
		s.log.Warn("mariadb exited unexpectedly", "addr", addr, "err", p.waitErr,
			"log", logTail(s.logPath, logFrom))
	}
}

// Addr is the server's TCP address, "127.0.0.1:PORT". It stays the same
// across Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// LogPath is the server's error log.
func (s *Server) LogPath() string { return s.logPath }

// DSN is a go-sql-driver/mysql DSN for root over TCP with parseTime and
// interpolateParams on. database may be "".
func (s *Server) DSN(database string) string { return config(s.Addr(), database).FormatDSN() }

func config(addr, database string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = addr
	cfg.DBName = database
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	return cfg
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it; if ctx
// ends first it kills it. Stopping a stopped server returns nil.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.removeSockDir()
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
		return fmt.Errorf("shardserver: stop %s: %w", s.Addr(), err)
	}
	s.log.Info("mariadb stopped", "addr", s.Addr(), "took", time.Since(began))
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
		return fmt.Errorf("shardserver: kill %s: %w", s.Addr(), err)
	}
	s.log.Info("mariadb killed", "addr", s.Addr())
	return nil
}

// Restart starts the server again on the same port and data directory,
// stopping it gracefully first if it is running. After Kill, InnoDB recovers
// committed transactions as after a crash.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(ctx); err != nil {
		return err
	}
	p, err := s.launch(ctx, s.port)
	if err != nil {
		return fmt.Errorf("shardserver: restart: %w", err)
	}
	s.proc = p
	return nil
}
