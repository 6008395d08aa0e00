package main

// Helpers for the tests that run the command as a long-lived process.

import (
	"bufio"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
)

// startCLI runs the command with args until the test ends, its stderr on
// the test's. It hands each line of its stdout to ready until ready says
// the command is ready, and discards the rest. The test fails if the
// command exits first or is not ready within timeout.
func startCLI(t *testing.T, timeout time.Duration, ready func(line string) bool, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if ready(sc.Text()) {
				done <- true
				io.Copy(io.Discard, out)
				return
			}
		}
		done <- false
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatalf("%s exited before it was ready", args[0])
		}
	case <-time.After(timeout):
		t.Fatalf("%s was not ready within %v", args[0], timeout)
	}
	return cmd
}

// mtlsClient is an HTTP/2 client that presents leaf and trusts roots, as
// an edge does with the core.
func mtlsClient(roots *x509.CertPool, leaf *certs.Leaf) *http.Client {
	tr := &http.Transport{TLSClientConfig: certs.ClientTLS(roots, leaf), ForceAttemptHTTP2: true}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// freeAddr is a loopback address that was free a moment ago, for the
// config of a process the test starts.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond for up to two minutes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPID reads the pid file, 0 while it is missing or partly written.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// isZombie: the process exited and waits for its parent (the first process
// is ours; later ones are orphans the container's init may never reap).
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] == "Z"
}
