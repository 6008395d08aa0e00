package childproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
)

// process is one run of a server binary.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // Wait's result; read only after done is closed
	// stopping is set before we signal the process, so that its exit is
	// known to be expected.
	stopping atomic.Bool
}

// spawn starts name with args, its stdout and stderr appended to out.
//
// The child gets SIGKILL when its parent dies (Pdeathsig). Linux ties
// Pdeathsig to the thread that forked the child, not to the process, and the
// Go runtime may retire a thread (golang/go#27505); so the goroutine that
// forks stays locked to its thread until the child has been reaped. The
// child gets its own process group so a terminal's Ctrl-C reaches only the
// parent, which then stops the child in order.
func spawn(name string, args []string, out *os.File) (*process, error) {
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.cmd = cmd
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// terminate asks the process to exit (SIGTERM) and waits for it; if ctx ends
// first it kills the process and returns ctx's error.
func (p *process) terminate(ctx context.Context) error {
	p.stopping.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return errors.Join(fmt.Errorf("SIGTERM: %w", err), p.kill())
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("graceful stop cut short, killed: %w", ctx.Err()), p.kill())
	}
}

// kill sends SIGKILL and waits until the process has been reaped.
func (p *process) kill() error {
	p.stopping.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL: %w", err)
	}
	<-p.done
	return nil
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; callers retry on a bind failure.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// openLog opens path for appending, creating it if needed.
func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// fileSize is the current size of path, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the last lines of path written after offset from, for
// error messages.
func logTail(path string, from int64) string {
	const maxBytes, maxLines = 4 << 10, 25
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if size := fileSize(path); size-from > maxBytes {
		from = size - maxBytes
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, maxBytes))
	if err != nil {
		return fmt.Sprintf("(reading log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(lines) == 1 && len(lines[0]) == 0 {
		return "(log is empty)"
	}
	return string(bytes.Join(lines, []byte("\n")))
}
