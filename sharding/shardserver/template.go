package shardserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TemplateDirEnv names the environment variable that overrides where template
// data directories are kept (default os.TempDir()).
const TemplateDirEnv = "CANGQIONG_SHARDSERVER_TEMPLATES"

// templateSQL runs once, when the template is made. The bootstrap runs with
// the grant tables unloaded, hence the FLUSH first. Root keeps no password:
// root@127.0.0.1 is the account clients use over TCP (the server binds to
// loopback only) and root@localhost serves the socket; the host-named root
// account mariadb-install-db adds is useless under skip-name-resolve and only
// warns at every start. The optional sys schema is dropped: it is half the
// template's files, and every start copies them.
const templateSQL = `FLUSH PRIVILEGES;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1');
DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1');
DROP DATABASE IF EXISTS sys;
`

// templateFormat changes whenever the way a template is made changes, so that
// templates made by older code are not reused.
const templateFormat = "3"

// lockPoll is how often a process waiting for another one to finish the
// template retries the lock.
const lockPoll = 20 * time.Millisecond

// templateSem lets one goroutine of this process at a time make or wait for
// the template; the flock then orders processes.
var templateSem = make(chan struct{}, 1)

// ensureTemplate returns the path of a ready template data directory for the
// installed mariadbd, making it first if no process has yet. built reports
// whether this call made it.
func ensureTemplate(ctx context.Context, b binaries) (dir string, built bool, err error) {
	base, err := templateBase(b)
	if err != nil {
		return "", false, err
	}
	if ok, err := published(base); ok || err != nil {
		return base, false, err
	}
	select {
	case templateSem <- struct{}{}:
		defer func() { <-templateSem }()
	case <-ctx.Done():
		return "", false, fmt.Errorf("waiting to make the template: %w", ctx.Err())
	}
	unlock, err := lockFile(ctx, base+".lock")
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if ok, err := published(base); ok || err != nil {
		return base, false, err
	}
	if err := buildTemplate(ctx, b, base); err != nil {
		return "", false, err
	}
	return base, true, nil
}

// templateBase is the template's path. The name holds the user (the files
// belong to them) and a hash of everything that shapes the template: the
// mariadbd binary and version, the settings and the bootstrap SQL.
func templateBase(b binaries) (string, error) {
	root := os.Getenv(TemplateDirEnv)
	if root == "" {
		root = os.TempDir()
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("template directory: %w", err)
	}
	h := sha256.New()
	for _, s := range append([]string{templateFormat, b.mariadbd, b.version, templateSQL}, tuning...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	name := fmt.Sprintf("cangqiong-mariadb-%d-%s", os.Geteuid(), hex.EncodeToString(h.Sum(nil))[:16])
	return filepath.Join(root, name), nil
}

// published reports whether the template at base is complete. Templates
// appear by rename, so existence means complete; the owner check keeps us from
// trusting a directory another user planted in a shared temp dir.
func published(base string) (bool, error) {
	fi, err := os.Stat(base)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("template: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() {
		return false, fmt.Errorf("template %s is not a directory owned by uid %d; remove it", base, os.Geteuid())
	}
	return true, nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the
// wait. The returned func releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("template lock: %w", err)
	}
	tick := time.NewTicker(lockPoll)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("template lock %s: %w", path, err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for template lock %s: %w", path, ctx.Err())
		}
	}
}

// buildTemplate runs mariadb-install-db into a scratch directory and renames
// the result to base. The caller holds the lock, so scratch directories left
// by crashed builders can be removed.
func buildTemplate(ctx context.Context, b binaries, base string) error {
	stale, _ := filepath.Glob(base + ".tmp-*")
	for _, d := range stale {
		os.RemoveAll(d)
	}
	scratch, err := os.MkdirTemp(filepath.Dir(base), filepath.Base(base)+".tmp-")
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	defer os.RemoveAll(scratch)
	sqlPath := filepath.Join(scratch, "bootstrap.sql")
	if err := os.WriteFile(sqlPath, []byte(templateSQL), 0o600); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	data := filepath.Join(scratch, "data")
	args := []string{
		"--no-defaults", // must come first
		"--datadir=" + data,
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--extra-file=" + sqlPath,
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	args = append(args, tuning...)
	cmd := exec.CommandContext(ctx, b.installDB, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("template: %s: %w\n%s", b.installDB, err, tail(string(out)))
	}
	if err := os.Rename(data, base); err != nil {
		return fmt.Errorf("publish template: %w", err)
	}
	return nil
}

// tail is the last lines of s.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

// copyTemplate copies the template to dataDir through a scratch name, so a
// dataDir that exists is always complete.
func copyTemplate(template, dataDir string) error {
	scratch := dataDir + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.RemoveAll(scratch); err != nil {
		return err
	}
	if err := os.CopyFS(scratch, os.DirFS(template)); err != nil {
		os.RemoveAll(scratch)
		return fmt.Errorf("copy template: %w", err)
	}
	if err := os.Rename(scratch, dataDir); err != nil {
		os.RemoveAll(scratch)
		return fmt.Errorf("copy template: %w", err)
	}
	return nil
}
