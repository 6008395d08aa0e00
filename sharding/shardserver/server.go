package shardserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cangqiong/cangqiong/internal/childproc"
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

// maxSocketPath is below the 108-byte sun_path limit, with room to spare.
const maxSocketPath = 100

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
	child    *childproc.Server
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
	s.child, err = childproc.Start(ctx, childproc.Spec{
		Name:        "mariadb",
		Bin:         s.bin,
		Args:        s.args,
		LogPath:     s.logPath,
		Port:        opts.Port,
		Ready:       s.isOurs,
		BeforeStart: s.makeSockDir,
		AfterStop:   s.removeSockDir,
		Logger:      s.log,
	})
	if err != nil {
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

// makeSockDir recreates the socket's directory, which Stop removes.
func (s *Server) makeSockDir() error {
	if s.sockDir == "" {
		return nil
	}
	return os.MkdirAll(s.sockDir, 0o700)
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

// isOurs is the readiness check: the server at addr answers a query as root
// and its data directory is ours (a server another process started on a port
// we lost the race for must not pass).
func (s *Server) isOurs(ctx context.Context, addr string, _ int) bool {
	cfg := config(addr, "")
	cfg.Timeout = time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return false
	}
	db := sql.OpenDB(connector)
	defer db.Close()
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

// Addr is the server's TCP address, "127.0.0.1:PORT". It stays the same
// across Restart.
func (s *Server) Addr() string { return s.child.Addr() }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.child.Port() }

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
func (s *Server) Stop(ctx context.Context) error { return wrap(s.child.Stop(ctx)) }

// Kill kills the server at once (SIGKILL), as a crash would, and waits for
// it. Killing a stopped server returns nil.
func (s *Server) Kill() error { return wrap(s.child.Kill()) }

// Restart starts the server again on the same port and data directory,
// stopping it gracefully first if it is running. After Kill, InnoDB recovers
// committed transactions as after a crash.
func (s *Server) Restart(ctx context.Context) error { return wrap(s.child.Restart(ctx)) }

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("shardserver: %w", err)
	}
	return nil
}
