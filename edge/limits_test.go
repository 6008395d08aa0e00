package edge

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAClientThatStopsReadingIsDropped(t *testing.T) {
	big := strings.Repeat("x", 16<<20)
	o := newOrigin(t, answer(big, "Cache-Control", "no-store", "Content-Type", "application/octet-stream"))
	e := startEdge(t, httpOrigin(t, o), func(c *Config) { c.WriteTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	conn.Write([]byte("GET /big HTTP/1.1\r\nHost: edge\r\n\r\n"))
	eventually(t, "the edge to give up on the stalled reader", func() bool { return e.s.public.GetOpenConnectionsCount() == 0 })
}

func TestRequestLimits(t *testing.T) {
	o := newOrigin(t, answer("ok", "Cache-Control", "no-store"))
	e := edgeFor(t, o, func(c *Config) { c.MaxURLBytes, c.MaxHeaderBytes, c.MaxBodyBytes = 100, 4096, 1000 })
	for _, c := range []struct {
		name   string
		raw    string
		status int
		code   string
	}{
		{"long URL", "GET /" + strings.Repeat("a", 200) + " HTTP/1.1\r\nHost: e\r\n\r\n", 414, "uri_too_long"},
		{"big header", "GET / HTTP/1.1\r\nHost: e\r\nX-Big: " + strings.Repeat("b", 8000) + "\r\n\r\n", 431, "header_too_large"},
		{"big body", "POST / HTTP/1.1\r\nHost: e\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("c", 5000), 413, "body_too_large"},
		{"malformed", "GET / HTTP/1.1\r\nHost e\r\n\r\n", 400, "malformed_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(c.raw))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			var body strings.Builder
			bufio.NewReader(resp.Body).WriteTo(&body)
			if resp.StatusCode != c.status || !strings.Contains(body.String(), `"code":"`+c.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body.String(), c.status, c.code)
			}
		})
	}
	if o.hits.Load() != 0 {
		t.Fatalf("%d refused requests reached the origin", o.hits.Load())
	}
}

func TestAnIdleClientIsDropped(t *testing.T) {
	o := newOrigin(t, answer("ok"))
	e := startEdge(t, httpOrigin(t, o), func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET /a HTTP/1.1\r\nHost: e\r\nX-Half: ")) // and never finish the request
	eventually(t, "the edge to close the stalled connection", func() bool { return e.s.public.GetOpenConnectionsCount() == 0 })
}

func TestConnectionsPerClientAreBounded(t *testing.T) {
	o := newOrigin(t, answer("ok"))
	e := startEdge(t, httpOrigin(t, o), func(c *Config) { c.MaxConnsPerIP = 2 })
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	conns[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conns[2].Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection from one address was served")
	}
	conns[0].Close()
	eventually(t, "a freed slot to take a new connection", func() bool {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\nHost: e\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == 200
	})
}
