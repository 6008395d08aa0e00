package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/net/http2"
)

// node is one core node: its connections, breaker and counters.
type node struct {
	addr string
	c    *Client
	tls  *tls.Config
	log  *slog.Logger

	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	closed  atomic.Bool // the breaker is closed: mirrors OnStateChange
	healthy atomic.Bool // the last probe got a 200

	everProbed bool // only run's goroutine uses it

	outstanding atomic.Int64  // attempts in flight, response bodies included
	requests    atomic.Uint64 // attempts made
	failures    atomic.Uint64 // attempts failed without an answer
	rr          atomic.Uint32 // rotates ties between connections

	mu      sync.Mutex
	info    nodeInfo // from discovery; guarded by mu
	conns   []*conn
	dialing *dialCall // the dial in progress, if any
	lastErr error
	gone    bool // removed from the set or the client closed: dial no more

	stop   context.CancelFunc // ends run
	probed chan struct{}      // closed after the first probe
}

// nodeInfo names a node as the core does.
type nodeInfo struct {
	Name, Region string
}

// conn is one HTTP/2 connection to a node.
type conn struct {
	cc     *http2.ClientConn
	wc     *watchedConn
	active atomic.Int64 // attempts on it, response bodies included
}

// live: the connection takes new streams: it is not closing (GOAWAY)
// and its reader has not failed. (CanTakeNewRequest alone says yes for a
// connection that died before its first request, so that the request
// reports why.)
func (cn *conn) live() bool {
	return !cn.wc.dead() && cn.cc.CanTakeNewRequest()
}

// dialCall is a dial others wait for instead of dialling too.
type dialCall struct {
	done chan struct{}
	err  error
}

func (c *Client) newNode(addr string) *node {
	n := &node{addr: addr, c: c, log: c.log.With("node", addr), probed: make(chan struct{})}
	n.tls = c.cfg.TLS.Clone()
	if n.tls.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			n.tls.ServerName = host
		}
	}
	n.closed.Store(true)
	n.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        addr,
		MaxRequests: 1, // one probe decides in half-open
		Timeout:     c.cfg.Breaker.OpenFor,
		ReadyToTrip: func(cnt gobreaker.Counts) bool { return cnt.ConsecutiveFailures >= c.cfg.Breaker.Failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) }, // the caller left: not the node's fault
		OnStateChange: func(_ string, from, to gobreaker.State) {
			n.closed.Store(to == gobreaker.StateClosed)
			level := slog.LevelWarn // opened: the node gets nothing
			switch {
			case to == gobreaker.StateClosed:
				level = slog.LevelInfo
			case to == gobreaker.StateHalfOpen, from == gobreaker.StateHalfOpen:
				level = slog.LevelDebug // a dead node's periodic trial
			}
			n.log.Log(context.Background(), level, "circuit breaker", "from", from.String(), "to", to.String())
		},
	})
	return n
}

// usable: healthy and breaker closed, the normal condition to get traffic.
func (n *node) usable() bool { return n.healthy.Load() && n.closed.Load() }

// getConn returns the node's connection with the fewest streams, dialling
// one if it has none. Dead connections are dropped on the way.
func (n *node) getConn(ctx context.Context) (*conn, error) {
	for {
		n.mu.Lock()
		if n.gone {
			n.mu.Unlock()
			return nil, ErrClosed
		}
		if cn := n.bestConnLocked(); cn != nil {
			n.mu.Unlock()
			return cn, nil
		}
		call := n.dialing
		if call == nil {
			call = &dialCall{done: make(chan struct{})}
			n.dialing = call
			go n.dialFor(call)
		}
		n.mu.Unlock()
		select {
		case <-call.done:
			if call.err != nil {
				return nil, call.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// bestConnLocked drops the connections that take no new streams (closed,
// or told to go away) and returns the least busy of the others.
func (n *node) bestConnLocked() *conn {
	live := n.conns[:0]
	for _, cn := range n.conns {
		if cn.live() {
			live = append(live, cn)
		}
	}
	clear(n.conns[len(live):])
	n.conns = live
	if len(live) == 0 {
		return nil
	}
	start := int(n.rr.Add(1))
	var best *conn
	for i := range live {
		cn := live[(start+i)%len(live)]
		if best == nil || cn.active.Load() < best.active.Load() {
			best = cn
		}
	}
	return best
}

// dialFor runs a dial for whoever waits on call. It is bounded by the
// client's lifetime and DialTimeout, not by the first waiter's context:
// its connection serves the others too.
func (n *node) dialFor(call *dialCall) {
	cn, err := n.c.dial(n.c.ctx, n.addr, n.tls)
	n.mu.Lock()
	if err == nil && n.gone {
		cn.cc.Close()
		err = ErrClosed
	}
	if err == nil {
		n.conns = append(n.conns, cn)
	} else {
		n.setErrLocked(err)
	}
	n.dialing = nil
	call.err = err
	n.mu.Unlock()
	close(call.done)
}

// topUp dials until the node has ConnsPerNode live connections.
func (n *node) topUp(ctx context.Context) {
	for {
		n.mu.Lock()
		n.bestConnLocked() // drops the dead
		missing := n.c.cfg.ConnsPerNode - len(n.conns)
		call := n.dialing
		if missing <= 0 || n.gone {
			n.mu.Unlock()
			return
		}
		if call == nil {
			call = &dialCall{done: make(chan struct{})}
			n.dialing = call
			go n.dialFor(call)
		}
		n.mu.Unlock()
		select {
		case <-call.done:
			if call.err != nil {
				return // the next tick tries again
			}
		case <-ctx.Done():
			return
		}
	}
}

// setErrLocked records the node's latest failure (nil: a good probe) for
// NodeStatus. It does not log: failures show in the logs as changes of
// health and breaker state, not one line per failed request.
func (n *node) setErrLocked(err error) { n.lastErr = err }

func (n *node) setErr(err error) {
	n.mu.Lock()
	n.setErrLocked(err)
	n.mu.Unlock()
}

// shutdown stops the node's loop and closes its connections: gracefully
// (streams in flight finish, within grace) or at once.
func (n *node) shutdown(grace time.Duration) {
	n.mu.Lock()
	n.gone = true
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	if n.stop != nil {
		n.stop()
	}
	for _, cn := range conns {
		if grace <= 0 {
			cn.cc.Close()
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if cn.cc.Shutdown(ctx) != nil {
				cn.cc.Close()
			}
		}()
	}
}

// status is the node's NodeStatus.
func (n *node) status() NodeStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := NodeStatus{
		Addr: n.addr, Name: n.info.Name, Region: n.info.Region,
		Healthy: n.healthy.Load(), Breaker: n.breaker.State().String(),
		Outstanding: n.outstanding.Load(), Requests: n.requests.Load(), Failures: n.failures.Load(),
	}
	for _, cn := range n.conns {
		if cn.live() {
			s.Conns++
		}
	}
	if n.lastErr != nil {
		s.LastError = n.lastErr.Error()
	}
	return s
}
