// Package testenv gives tests the real external parts they need: private
// MariaDB servers (the shards), private Redis servers (the regional caches)
// and the terraform binary.
//
// A missing dependency is never skipped silently. Under CI (CI=true) the test
// fails, naming what is missing; elsewhere it is skipped with a message that
// says how to install it. scripts/test.sh installs MariaDB and Redis before
// running the tests, so neither should happen there.
//
// Servers start in parallel under t.TempDir() and are stopped by t.Cleanup.
// Their logs go to stderr at Warn level and above (an unexpected exit shows
// up); each server's own log file is named in any start error.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/redisserver"
	"github.com/cangqiong/cangqiong/sharding/shardserver"
	"golang.org/x/sync/errgroup"
)

const (
	// startTimeout bounds starting one batch of servers, template included,
	// on a slow, busy machine.
	startTimeout = 2 * time.Minute
	// stopTimeout bounds stopping them in t.Cleanup.
	stopTimeout = time.Minute
)

var logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// MariaDB starts n private MariaDB servers in parallel and stops them when the
// test ends. Each has its own data directory and port; connect with DSN.
func MariaDB(t testing.TB, n int) []*shardserver.Server {
	t.Helper()
	Require(t, "mariadbd", shardserver.Available())
	return startAll(t, "MariaDB", n, func(ctx context.Context, dir string) (*shardserver.Server, error) {
		return shardserver.Start(ctx, shardserver.Options{Dir: dir, Logger: logger})
	})
}

// Redis starts n private Redis servers in parallel and stops them when the
// test ends.
func Redis(t testing.TB, n int) []*redisserver.Server {
	t.Helper()
	Require(t, "redis-server", redisserver.Available())
	return startAll(t, "Redis", n, func(ctx context.Context, dir string) (*redisserver.Server, error) {
		return redisserver.Start(ctx, redisserver.Options{Dir: dir, Logger: logger})
	})
}

// Terraform returns the path of the terraform binary, failing or skipping the
// test as Require does when it is missing.
func Terraform(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("terraform")
	if err != nil {
		err = fmt.Errorf("%w; install terraform >= 1.11 from https://developer.hashicorp.com/terraform/install", err)
	}
	Require(t, "terraform", err)
	return path
}

// Require stops the test when a dependency is missing: available is the
// dependency's check (nil when present). Under CI it fails the test;
// otherwise it skips it, loudly.
func Require(t testing.TB, what string, available error) {
	t.Helper()
	if available == nil {
		return
	}
	if onCI() {
		t.Fatalf("CI=%s and %s is missing: %v", os.Getenv("CI"), what, available)
	}
	t.Skipf("!!! SKIPPED: %s is missing, so this test did not run: %v\n!!! Run the suite with scripts/test.sh, which installs it.", what, available)
}

func onCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// server is what startAll needs to stop a server.
type server interface {
	Stop(context.Context) error
}

// startAll starts n servers in parallel, each in its own temp dir. If any
// fails, those that started are stopped and the test fails.
func startAll[S server](t testing.TB, what string, n int, start func(context.Context, string) (S, error)) []S {
	t.Helper()
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir() // before Cleanup below, so servers stop before their dirs go
	}
	servers := make([]S, n)
	started := make([]bool, n)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			s, err := start(ctx, dirs[i])
			if err != nil {
				return fmt.Errorf("%s server %d: %w", what, i, err)
			}
			servers[i], started[i] = s, true
			return nil
		})
	}
	err := g.Wait()
	t.Cleanup(func() { stopAll(t, what, servers, started) })
	if err != nil {
		t.Fatalf("testenv: starting %d %s servers: %v", n, what, err)
	}
	return servers
}

func stopAll[S server](t testing.TB, what string, servers []S, started []bool) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		if !started[i] {
			continue
		}
		wg.Go(func() { errs[i] = s.Stop(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("testenv: stopping %s servers: %v", what, err)
	}
}
