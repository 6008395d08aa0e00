package shardserver

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// ErrNotInstalled is wrapped by Available's error (and Start's) when MariaDB
// is not installed.
var ErrNotInstalled = errors.New("MariaDB is not installed")

// binaries are the installed MariaDB programs.
type binaries struct {
	mariadbd  string
	installDB string
	version   string // mariadbd --version, which keys the template
}

var (
	binMu     sync.Mutex
	binCached *binaries // set once found; a failure is not cached
)

// Available reports whether mariadbd and mariadb-install-db are installed,
// on PATH or in /usr/sbin or /usr/bin (Debian puts mariadbd in /usr/sbin,
// which an unprivileged user's PATH often lacks). The error names what is
// missing and how to install it, and wraps ErrNotInstalled.
func Available() error {
	_, err := lookBinaries()
	return err
}

func lookBinaries() (binaries, error) {
	binMu.Lock()
	defer binMu.Unlock()
	if binCached != nil {
		return *binCached, nil
	}
	var b binaries
	var missing []string
	for _, x := range []struct {
		name string
		dst  *string
	}{{"mariadbd", &b.mariadbd}, {"mariadb-install-db", &b.installDB}} {
		if *x.dst = lookPath(x.name); *x.dst == "" {
			missing = append(missing, x.name)
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("%w: %s not found on PATH or in /usr/sbin, /usr/bin; install it with: apt-get install mariadb-server (scripts/test.sh does this)",
			ErrNotInstalled, strings.Join(missing, " and "))
	}
	out, err := exec.Command(b.mariadbd, "--version").Output()
	if err != nil {
		return b, fmt.Errorf("%s --version: %w", b.mariadbd, err)
	}
	b.version = strings.TrimSpace(string(out))
	binCached = &b
	return b, nil
}

// lookPath finds name on PATH or in the system directories; "" if nowhere.
func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	return ""
}
