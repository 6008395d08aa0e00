package edge

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines wraps a listener so that every Read on its connections must
// return within [read/2, read] and every Write finish within [write/2,
// write]: an idle or stalled client, or one that stops reading its
// responses, cannot pin a connection's goroutine for long.
//
// fasthttp's own timeouts read the clock and move the deadlines four times
// for every request, a noticeable share of a cache hit on machines with a
// slow clock; here a deadline moves at most once per half timeout of
// activity, against a clock read every coarseTick. The price: a client
// trickling a request a byte at a time is bounded per read, not per
// request; the per-IP connection limit (Config.MaxConnsPerIP) bounds what
// such clients can hold.
type deadlines struct {
	net.Listener
	read, write int64 // ns
	clock       *coarseClock
	perIP       int // connections one client address may hold; 0: no bound

	mu    sync.Mutex
	conns map[netip.Addr]int
}

// Accept returns the next connection, closing at once those of a client
// address that holds perIP already. (fasthttp's own MaxConnsPerIP races
// with its Shutdown.)
func (l *deadlines) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrOf(c)
		if l.admit(ip) {
			return &deadlineConn{Conn: c, l: l, ip: ip}, nil
		}
		c.Close()
	}
}

func addrOf(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	return netip.Addr{}
}

func (l *deadlines) admit(ip netip.Addr) bool {
	if l.perIP <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		l.conns = map[netip.Addr]int{}
	}
	if l.conns[ip] >= l.perIP {
		return false
	}
	l.conns[ip]++
	return true
}

func (l *deadlines) release(ip netip.Addr) {
	if l.perIP <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[ip]--; l.conns[ip] <= 0 {
		delete(l.conns, ip)
	}
}

// deadlineConn is one connection. fasthttp serves a connection from one
// goroutine at a time, so the deadline fields need no lock.
type deadlineConn struct {
	net.Conn
	l                 *deadlines
	ip                netip.Addr
	readDue, writeDue int64 // ns
	closed            atomic.Bool
}

func (c *deadlineConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c.ip)
	}
	return c.Conn.Close()
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	now := c.l.clock.now.Load()
	if c.readDue-now < c.l.read/2 {
		c.readDue = now + c.l.read
		if err := c.Conn.SetReadDeadline(time.Unix(0, c.readDue)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	now := c.l.clock.now.Load()
	if c.writeDue-now < c.l.write/2 {
		c.writeDue = now + c.l.write
		if err := c.Conn.SetWriteDeadline(time.Unix(0, c.writeDue)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// coarseTick is how often coarseClock reads the clock.
const coarseTick = 100 * time.Millisecond

// coarseClock is the time, read every coarseTick by one goroutine.
type coarseClock struct {
	now  atomic.Int64
	stop chan struct{}
}

func newCoarseClock() *coarseClock {
	c := &coarseClock{stop: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(coarseTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

func (c *coarseClock) Stop() { close(c.stop) }
