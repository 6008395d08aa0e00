package testenv_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/testenv"
)

func TestMariaDBFourInParallel(t *testing.T) {
	began := time.Now()
	servers := testenv.MariaDB(t, 4)
	t.Logf("started 4 MariaDB servers in parallel in %v", time.Since(began))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			db, err := sql.Open("mysql", s.DSN(""))
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			var one int
			if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("server %d at %s: SELECT 1 = %d, %v", i, s.Addr(), one, err)
			}
		})
	}
	wg.Wait()
}

func TestRedis(t *testing.T) {
	began := time.Now()
	servers := testenv.Redis(t, 2)
	t.Logf("started 2 Redis servers in parallel in %v", time.Since(began))
	if servers[0].Addr() == servers[1].Addr() {
		t.Fatalf("two servers on %s", servers[0].Addr())
	}
}

func TestTerraform(t *testing.T) {
	path := testenv.Terraform(t)
	if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("Terraform() = %q, not an executable: %v", path, err)
	}
}

// recorder stands in for a test so Require's Fatalf and Skipf can be seen.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// require runs Require on a recorder in its own goroutine, since Fatalf and
// Skipf end the goroutine that calls them.
func require(t *testing.T, available error) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testenv.Require(r, "mariadbd", available)
	}()
	<-done
	return r
}

func TestRequire(t *testing.T) {
	missing := errors.New("mariadbd not found; install it with: apt-get install mariadb-server")

	t.Setenv("CI", "true")
	if r := require(t, missing); !strings.Contains(r.fatal, "CI=true and mariadbd is missing: ") ||
		!strings.Contains(r.fatal, "apt-get install mariadb-server") || r.skip != "" {
		t.Errorf("under CI: fatal %q, skip %q; want a failure naming the dependency and the fix", r.fatal, r.skip)
	}
	if r := require(t, nil); r.fatal != "" || r.skip != "" {
		t.Errorf("dependency present under CI: fatal %q, skip %q", r.fatal, r.skip)
	}

	t.Setenv("CI", "")
	if r := require(t, missing); !strings.Contains(r.skip, "SKIPPED: mariadbd is missing") ||
		!strings.Contains(r.skip, "apt-get install mariadb-server") || r.fatal != "" {
		t.Errorf("outside CI: fatal %q, skip %q; want a loud skip naming the dependency and the fix", r.fatal, r.skip)
	}
}
