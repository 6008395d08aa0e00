package redisserver_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/internal/redisserver"
	"github.com/cangqiong/cangqiong/internal/testenv"
)

// do sends one command and returns the first line of the reply (for a bulk
// string, its contents; for a missing key, "(nil)").
func do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case line == "$-1":
		return "(nil)", nil
	case strings.HasPrefix(line, "$"):
		v, err := r.ReadString('\n')
		return strings.TrimSuffix(v, "\r\n"), err
	}
	return line, nil
}

func must(t *testing.T, want, addr string, args ...string) {
	t.Helper()
	got, err := do(addr, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", addr, args, err)
	}
	if got != want {
		t.Fatalf("%s %v = %q, want %q", addr, args, got, want)
	}
}

func TestStartKillRestart(t *testing.T) {
	servers := testenv.Redis(t, 2)
	a, b := servers[0], servers[1]
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on %s", a.Addr())
	}
	must(t, "+PONG", a.Addr(), "PING")
	must(t, "+OK", a.Addr(), "SET", "k", "v")
	must(t, "v", a.Addr(), "GET", "k")
	must(t, "(nil)", b.Addr(), "GET", "k")

	addr := a.Addr()
	for i := range 2 {
		if err := a.Kill(); err != nil {
			t.Fatalf("Kill #%d: %v", i+1, err)
		}
	}
	if _, err := do(addr, "PING"); err == nil {
		t.Fatalf("%s answers after Kill", addr)
	}
	if err := a.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, a.Addr())
	}
	must(t, "+PONG", addr, "PING")
	must(t, "(nil)", addr, "GET", "k") // nothing persists

	for i := range 2 {
		if err := a.Stop(t.Context()); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if err := a.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after Stop: %v", err)
	}
	must(t, "+PONG", addr, "PING")
}

func TestFixedPortInUse(t *testing.T) {
	testenv.Require(t, "redis-server", redisserver.Available())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := redisserver.Start(t.Context(), redisserver.Options{Dir: t.TempDir(), Port: port})
	if err == nil {
		s.Stop(t.Context())
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("error lacks the server log's reason: %v", err)
	}
}
