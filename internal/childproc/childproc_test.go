package childproc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/childproc"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// spec is a helper Spec logging into t's temp dir, plus the Server's own
// log output.
func spec(t *testing.T, mode string, extra ...string) (childproc.Spec, *syncBuffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sp := helperSpec(exe, mode, filepath.Join(t.TempDir(), "helper.log"), extra...)
	events := new(syncBuffer)
	sp.Logger = slog.New(slog.NewTextHandler(events, nil))
	return sp, events
}

func start(t *testing.T, sp childproc.Spec) *childproc.Server {
	t.Helper()
	s, err := childproc.Start(t.Context(), sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// pid is the pid of the helper answering on s's address.
func pid(t *testing.T, s *childproc.Server) int {
	t.Helper()
	p, err := pidAt(t.Context(), s.Addr())
	if err != nil {
		t.Fatalf("%s does not answer: %v", s.Addr(), err)
	}
	return p
}

func mustBeDown(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections", addr)
	}
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readLog(t *testing.T, sp childproc.Spec) string {
	t.Helper()
	b, err := os.ReadFile(sp.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStopKillRestart(t *testing.T) {
	sp, events := spec(t, "serve")
	s := start(t, sp)
	addr := s.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || s.Port() == 0 {
		t.Fatalf("Addr() = %s, Port() = %d", addr, s.Port())
	}
	first := pid(t, s)

	for i := range 2 {
		if err := s.Stop(t.Context()); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("Kill after Stop: %v", err)
	}
	mustBeDown(t, addr)
	if n := strings.Count(readLog(t, sp), "got SIGTERM"); n != 1 {
		t.Fatalf("helper saw SIGTERM %d times, want 1 (Stop is graceful and idempotent)", n)
	}

	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	second := pid(t, s)
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart while running: %v", err)
	}
	third := pid(t, s)
	if first == second || second == third {
		t.Fatalf("pids %d, %d, %d: want a new process each start", first, second, third)
	}
	if n := strings.Count(readLog(t, sp), "got SIGTERM"); n != 2 {
		t.Fatalf("helper saw SIGTERM %d times, want 2 (Restart stops a running server gracefully)", n)
	}

	for i := range 2 {
		if err := s.Kill(); err != nil {
			t.Fatalf("Kill #%d: %v", i+1, err)
		}
	}
	mustBeDown(t, addr)
	if n := strings.Count(readLog(t, sp), "got SIGTERM"); n != 2 {
		t.Fatalf("helper saw SIGTERM %d times after Kill, want still 2", n)
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after Kill: %v", err)
	}
	pid(t, s)

	for _, msg := range []string{"helper started", "helper stopped", "helper killed"} {
		if !strings.Contains(events.String(), `msg="`+msg+`"`) {
			t.Errorf("no %q event in:\n%s", msg, events)
		}
	}
	if strings.Contains(events.String(), "unexpectedly") {
		t.Errorf("an asked-for exit was logged as unexpected:\n%s", events)
	}
}

func TestStopCutShortKills(t *testing.T) {
	sp, _ := spec(t, "stubborn")
	s := start(t, sp)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stop "+s.Addr()) {
		t.Fatalf("Stop of a server that ignores SIGTERM: want the deadline and the address, got %v", err)
	}
	mustBeDown(t, s.Addr())
	if err := s.Stop(t.Context()); err != nil {
		t.Fatalf("Stop after a cut-short Stop: %v", err)
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	sp, _ := spec(t, "crash")
	_, err := childproc.Start(t.Context(), sp)
	if err == nil {
		t.Fatal("Start of a program that exits succeeded")
	}
	for _, want := range []string{"exited before it was ready", "exit status 3", "--- tail of " + sp.LogPath, "boom: cannot start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestStartCanceledKills(t *testing.T) {
	sp, events := spec(t, "serve")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := childproc.Start(ctx, sp)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "tail of") {
		t.Fatalf("want context.Canceled and the log tail, got: %v", err)
	}
	if strings.Contains(events.String(), "unexpectedly") {
		t.Errorf("the kill of a canceled start was logged as unexpected:\n%s", events)
	}
}

func TestPortInUse(t *testing.T) {
	t.Run("fixed port fails with the reason", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		sp, _ := spec(t, "serve")
		sp.Port = ln.Addr().(*net.TCPAddr).Port
		if s, err := childproc.Start(t.Context(), sp); err == nil {
			s.Kill()
			t.Fatalf("Start on taken port %d succeeded", sp.Port)
		} else if !strings.Contains(err.Error(), "Address already in use") {
			t.Fatalf("error lacks the server log's reason: %v", err)
		}
		if n := strings.Count(readLog(t, sp), "Address already in use"); n != 1 {
			t.Fatalf("%d tries on a fixed port, want 1", n)
		}
	})
	t.Run("free port is retried", func(t *testing.T) {
		sp, _ := spec(t, "busy-once", filepath.Join(t.TempDir(), "marker"))
		s := start(t, sp)
		pid(t, s)
		if n := strings.Count(readLog(t, sp), "Address already in use"); n != 1 {
			t.Fatalf("%d lost races in the log, want 1", n)
		}
	})
}

func TestUnexpectedExitIsLogged(t *testing.T) {
	sp, events := spec(t, "serve")
	s := start(t, sp)
	if err := syscall.Kill(pid(t, s), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the crash to be logged", func() bool {
		return strings.Contains(events.String(), `msg="helper exited unexpectedly"`)
	})
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after a crash: %v", err)
	}
	pid(t, s)
}

func TestHooks(t *testing.T) {
	sp, _ := spec(t, "serve")
	var before, after int // the Server serialises the calls
	sp.BeforeStart = func() error { before++; return nil }
	sp.AfterStop = func() { after++ }
	s := start(t, sp)
	ctx := t.Context()
	steps := []struct {
		name          string
		do            func() error
		before, after int
	}{
		{"Start", func() error { return nil }, 1, 0},
		{"Stop", func() error { return s.Stop(ctx) }, 1, 1},
		{"Stop again", func() error { return s.Stop(ctx) }, 1, 2},
		{"Restart", func() error { return s.Restart(ctx) }, 2, 2},
		{"Restart running", func() error { return s.Restart(ctx) }, 3, 2},
		{"Kill", s.Kill, 3, 2},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if before != st.before || after != st.after {
			t.Fatalf("after %s: BeforeStart ran %d times, AfterStop %d; want %d, %d",
				st.name, before, after, st.before, st.after)
		}
	}

	errNo := errors.New("no directory")
	sp.BeforeStart = func() error { return errNo }
	if _, err := childproc.Start(ctx, sp); !errors.Is(err, errNo) {
		t.Fatalf("Start with a failing BeforeStart: got %v, want %v", err, errNo)
	}
}

func TestConcurrentUse(t *testing.T) {
	sp, _ := spec(t, "serve")
	s := start(t, sp)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 3 {
		wg.Go(func() {
			for range 4 {
				var err error
				switch i {
				case 0:
					err = s.Stop(ctx)
				case 1:
					err = s.Kill()
				case 2:
					err = s.Restart(ctx)
				}
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	pid(t, s)
}

// A child must not outlive the process that started it, even one killed
// before it could stop the child.
func TestChildDiesWithParent(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, helperArg, "parent", t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "child ")
	if err != nil || !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("parent printed %q (%v); stderr:\n%s", line, err, stderr.String())
	}
	if _, err := pidAt(t.Context(), addr); err != nil {
		t.Fatalf("child on %s does not answer: %v", addr, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitFor(t, "the child on "+addr+" to die with its parent", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}
