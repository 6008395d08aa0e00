package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// dial opens one connection to addr: TCP, TLS with ALPN h2, then an
// HTTP/2 PING. The PING matters: under TLS 1.3 the client's handshake
// ends before the server has checked the client's certificate, so a core
// refusing the edge's certificate shows only when the client first reads.
func (c *Client) dial(ctx context.Context, addr string, cfg *tls.Config) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{KeepAlive: c.cfg.KeepAlive}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err // "dial tcp <addr>: …"
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, handshakeError(ctx, addr, err, true)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
		tc.Close()
		return nil, fmt.Errorf("%s: %w: ALPN chose %q, not h2", addr, ErrHandshake, p)
	}
	wc := &watchedConn{Conn: tc, failed: make(chan struct{})}
	cc, err := c.h2.NewClientConn(wc)
	if err != nil {
		tc.Close()
		return nil, fmt.Errorf("%s: http2: %w", addr, err)
	}
	if err := cc.Ping(ctx); err != nil {
		err = wc.why(ctx, err)
		cc.Close()
		return nil, handshakeError(ctx, addr, err, false)
	}
	return &conn{cc: cc, wc: wc}, nil
}

// watchedConn keeps the first read error of a connection, which ends
// it: x/net/http2's reader is always reading. That tells a dead
// connection without taking the ClientConn's write lock (State does,
// and a slow write holds it), and it gives the reason of a refusal: when
// a core refuses the edge's certificate it sends an alert and hangs up;
// the PING's write may fail first ("broken pipe"), and the alert is what
// the reader gets.
type watchedConn struct {
	*tls.Conn
	once    sync.Once
	readErr error
	failed  chan struct{} // closed once readErr is set
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() {
			c.readErr = err
			close(c.failed)
		})
	}
	return n, err
}

// dead reports whether the connection's reader has failed.
func (c *watchedConn) dead() bool {
	select {
	case <-c.failed:
		return true
	default:
		return false
	}
}

// alertWait bounds how long a failed dial waits for the reader's error.
const alertWait = 500 * time.Millisecond

// why returns the TLS alert behind err, if the reader gets one soon.
func (c *watchedConn) why(ctx context.Context, err error) error {
	if isTLSRefusal(err) || ctx.Err() != nil {
		return err
	}
	t := time.NewTimer(alertWait)
	defer t.Stop()
	select {
	case <-c.failed:
		if isTLSRefusal(c.readErr) {
			return c.readErr
		}
	case <-t.C:
	case <-ctx.Done():
	}
	return err
}

// handshakeError names a refused handshake as such, not a dial that ran
// out of time or a peer that went away. inTLS: err is from the TLS
// handshake itself, where any error that is not I/O is a refusal (our
// own VerifyConnection's, certs.ClientTLS's "names edge/…, want core",
// comes back as it is).
func handshakeError(ctx context.Context, addr string, err error, inTLS bool) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: handshake: %w", addr, ctx.Err())
	}
	if isTLSRefusal(err) || inTLS && !isIOError(err) {
		return fmt.Errorf("%s: %w: %w", addr, ErrHandshake, err)
	}
	return fmt.Errorf("%s: handshake: %w", addr, err)
}

// isTLSRefusal: this side's verification failed, or the peer sent a TLS
// alert (under TLS 1.3, how a core refuses the edge's certificate).
func isTLSRefusal(err error) bool {
	var (
		verify *tls.CertificateVerificationError
		alert  tls.AlertError
		record tls.RecordHeaderError
		op     *net.OpError
	)
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &op) && op.Op == "remote error" // crypto/tls's wrapping of a received alert
}

func isIOError(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
