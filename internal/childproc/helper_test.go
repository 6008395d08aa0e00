package childproc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/childproc"
)

// The tests supervise real processes: this test binary, run again with
// helperArg first, plays a tiny server instead of running the tests.
const helperArg = "childproc-test-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		// syscall.Exit skips the race detector's exit-time sleep (a second),
		// which would make every graceful stop that slow.
		syscall.Exit(helper(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// helper runs one helper mode; args are mode, port and an optional marker
// file.
//
//   - serve: listens on 127.0.0.1:port and answers each connection with its
//     pid; exits 0 on SIGTERM.
//   - stubborn: serves, but ignores SIGTERM.
//   - crash: exits 3 at once.
//   - busy-once: the first run (the marker file is absent) fails as if the
//     port were taken; later runs serve.
//   - parent: supervises a serve child (logging under the directory in
//     port's place), prints its address and waits to be killed.
func helper(args []string) int {
	mode, arg := args[0], args[1]
	switch mode {
	case "crash":
		fmt.Println("boom: cannot start")
		return 3
	case "parent":
		return parent(arg)
	case "busy-once":
		if _, err := os.Stat(args[2]); err != nil {
			os.WriteFile(args[2], nil, 0o600)
			fmt.Println("bind: Address already in use")
			return 1
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", arg))
	if errors.Is(err, syscall.EADDRINUSE) {
		fmt.Println("bind: Address already in use") // as mariadbd and redis-server say it
		return 1
	}
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("listening on", ln.Addr())
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go answerPid(ln)
	for range term {
		if mode != "stubborn" {
			fmt.Println("got SIGTERM, bye")
			return 0
		}
		fmt.Println("ignoring SIGTERM")
	}
	return 0
}

func answerPid(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		fmt.Fprintf(c, "pid %d\n", os.Getpid())
		c.Close()
	}
}

func parent(dir string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := childproc.Start(context.Background(), helperSpec(exe, "serve", filepath.Join(dir, "child.log")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("child", s.Addr())
	select {}
}

// helperSpec runs this binary in mode.
func helperSpec(exe, mode, logPath string, extra ...string) childproc.Spec {
	return childproc.Spec{
		Name: "helper",
		Bin:  exe,
		Args: func(port int) []string {
			return append([]string{helperArg, mode, strconv.Itoa(port)}, extra...)
		},
		LogPath: logPath,
		Ready: func(ctx context.Context, addr string, pid int) bool {
			got, err := pidAt(ctx, addr)
			return err == nil && got == pid
		},
	}
}

// pidAt asks the helper on addr for its pid.
func pidAt(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
}
