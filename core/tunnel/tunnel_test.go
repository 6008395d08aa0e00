package tunnel

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/identity"
)

// testPKI is a CA with a core node's server certificate and one client
// certificate per kind of peer, issued once per test binary (ECDSA signing
// is quick, but there is no need to repeat it).
type testPKI struct {
	ca                *certs.CA
	core, peerCore    *certs.Leaf
	edge, admin       *certs.Leaf
	expired, stranger *certs.Leaf // expired: our CA; stranger: another CA
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = makePKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

func makePKI() (*testPKI, error) {
	ca, err := certs.NewCA("Tunnel Test CA", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	other, err := certs.NewCA("Another CA", 24*time.Hour)
	if err != nil {
		return nil, err
	}
	var p testPKI
	p.ca = ca
	for _, x := range []struct {
		dst **certs.Leaf
		ca  *certs.CA
		req certs.IssueRequest
	}{
		{&p.core, ca, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "cn-east", ID: "core-0"}}},
		{&p.peerCore, ca, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "cn-east", ID: "core-1"}}},
		{&p.edge, ca, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"}}},
		{&p.admin, ca, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Admin, Region: "global", ID: "ops"}}},
		{&p.expired, ca, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-old"},
			NotBefore: time.Now().Add(-2 * time.Hour), Validity: time.Hour}},
		{&p.stranger, other, certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"}}},
	} {
		if *x.dst, err = x.ca.Issue(x.req); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a running tunnel server on loopback.
type testServer struct {
	*Server
	addr     string
	url      string
	logs     *syncBuffer
	serveErr chan error
}

// start serves h on 127.0.0.1 with the PKI's core certificate; edit
// adjusts the config. The server is shut down when the test ends.
func start(t testing.TB, h http.Handler, edit func(*Config)) *testServer {
	t.Helper()
	p := getPKI(t)
	logs := &syncBuffer{}
	cfg := DefaultConfig()
	cfg.TLS = certs.ServerTLS(p.ca.Pool(), p.core)
	cfg.Handler = h
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, addr: ln.Addr().String(), url: "https://" + ln.Addr().String(), logs: logs, serveErr: make(chan error, 1)}
	go func() { ts.serveErr <- srv.Serve(ln) }()
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop shuts the server down and checks that Serve returned nil.
func (ts *testServer) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-ts.serveErr:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		ts.serveErr <- nil // for a second stop
	case <-ctx.Done():
		t.Error("Serve did not return after Shutdown")
	}
}

// client returns an HTTP/2 client presenting own (nil: no certificate)
// and trusting the PKI's CA.
func client(t testing.TB, own *certs.Leaf) *http.Client {
	t.Helper()
	p := getPKI(t)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: p.ca.Pool(), NextProtos: []string{"h2", "http/1.1"}}
	if own != nil {
		cfg = certs.ClientTLS(p.ca.Pool(), own)
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// eventually polls cond until it holds or 10s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errorBody is the JSON error contract.
type errorBody struct {
	Error struct{ Code, Message string }
}

// do sends req and returns the status and body; it fails the test on a
// transport error.
func do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return resp, body
}

func checkError(t testing.TB, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e errorBody
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("got %d %s, want %d with code %q", resp.StatusCode, body, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get(HeaderRequestID) == "" {
		t.Errorf("no %s on the error", HeaderRequestID)
	}
}

func TestNewRefuses(t *testing.T) {
	p := getPKI(t)
	good := func() *tls.Config { return certs.ServerTLS(p.ca.Pool(), p.core) }
	h := http.NotFoundHandler()
	tests := []struct {
		name     string
		edit     func(*Config)
		noClient bool // the error is ErrClientAuthNotRequired
	}{
		{"no TLS", func(c *Config) { c.TLS = nil }, false},
		{"no client certificates", func(c *Config) { c.TLS.ClientAuth = tls.NoClientCert }, true},
		{"client certificates requested only", func(c *Config) { c.TLS.ClientAuth = tls.RequestClientCert }, true},
		{"client certificates not verified", func(c *Config) { c.TLS.ClientAuth = tls.RequireAnyClientCert }, true},
		{"client certificates verified if given", func(c *Config) { c.TLS.ClientAuth = tls.VerifyClientCertIfGiven }, true},
		{"no client CAs", func(c *Config) { c.TLS.ClientCAs = nil }, true},
		{"config per client", func(c *Config) {
			c.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }
		}, true},
		{"no server certificate", func(c *Config) { c.TLS.Certificates = nil }, false},
		{"no handler", func(c *Config) { c.Handler = nil }, false},
		{"negative body limit", func(c *Config) { c.MaxBodyBytes = -1 }, false},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -time.Second }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{TLS: good(), Handler: h}
			tt.edit(&cfg)
			srv, err := New(cfg)
			if err == nil {
				t.Fatalf("New accepted the config: %v", srv)
			}
			if errors.Is(err, ErrClientAuthNotRequired) != tt.noClient {
				t.Errorf("New: %v; ErrClientAuthNotRequired: want %v", err, tt.noClient)
			}
		})
	}
	if _, err := New(Config{TLS: good(), Handler: h}); err != nil {
		t.Fatalf("New refused a good config: %v", err)
	}
}

// TestHandshakeRefused: a client without a certificate, with one from
// another CA, or with an expired one never gets to send a request.
func TestHandshakeRefused(t *testing.T) {
	p := getPKI(t)
	var calls atomic.Int64
	ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }), nil)
	tests := []struct {
		name   string
		own    *certs.Leaf
		alert  string // what the client hears
		server string // what the server logs
	}{
		{"no certificate", nil, "remote error: tls: certificate required", "didn't provide a certificate"},
		{"another CA", p.stranger, "remote error: tls: unknown certificate authority", "certificate signed by unknown authority"},
		{"expired", p.expired, "remote error: tls: expired certificate", "certificate has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// At the TLS layer: the server answers the client's
			// certificate with an alert, not with HTTP/2 settings.
			cfg := refusedClient(t, tt.own)
			if err := probe(ts.addr, cfg); err == nil || !strings.Contains(err.Error(), tt.alert) {
				t.Errorf("TLS: got %v, want %q", err, tt.alert)
			}
			eventually(t, "the server to log the refused handshake", func() bool {
				return strings.Contains(ts.logs.String(), tt.server)
			})
			// Through an HTTP client: an error, no response.
			tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(ts.url + "/")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got a response: %s", resp.Status)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the handler ran %d times", n)
	}
	// The same server does admit a good client.
	if err := probe(ts.addr, client(t, p.edge).Transport.(*http.Transport).TLSClientConfig); err != nil {
		t.Errorf("an edge's handshake: %v", err)
	}
}

// refusedClient is a client TLS config that presents own whatever CAs the
// server asks for: crypto/tls would otherwise keep a certificate from
// another CA to itself, as a well-behaved client does.
func refusedClient(t *testing.T, own *certs.Leaf) *tls.Config {
	cfg := client(t, own).Transport.(*http.Transport).TLSClientConfig
	if own != nil {
		cfg.Certificates = nil
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c := own.TLSCertificate()
			return &c, nil
		}
	}
	return cfg
}

// probe handshakes with addr and reads the server's first bytes: with TLS
// 1.3 a refused client certificate shows up on that read.
func probe(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// seen is what the echo handler saw of a request.
type seen struct {
	Identity   bool
	UserID     int64
	Role       identity.Role
	Peer       string
	HeaderUser string
	HeaderRole string
	RequestID  string
	Proto      string
	ALPN       string
	Deadline   bool
}

func echo(w http.ResponseWriter, r *http.Request) {
	var s seen
	if id, ok := identity.From(r.Context()); ok {
		s.Identity, s.UserID, s.Role = true, id.UserID, id.Role
	}
	if p, ok := PeerFrom(r.Context()); ok {
		s.Peer = p.String()
	}
	s.HeaderUser, s.HeaderRole = r.Header.Get(HeaderUserID), r.Header.Get(HeaderUserRole)
	s.RequestID = RequestID(r.Context())
	s.Proto, s.ALPN = r.Proto, r.TLS.NegotiatedProtocol
	_, s.Deadline = r.Context().Deadline()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

func TestIdentity(t *testing.T) {
	p := getPKI(t)
	ts := start(t, http.HandlerFunc(echo), nil)
	edge, core, admin := client(t, p.edge), client(t, p.peerCore), client(t, p.admin)
	const (
		edgePeer  = "edge/eu-west/edge-1"
		corePeer  = "core/cn-east/core-1"
		adminPeer = "admin/global/ops"
	)
	tests := []struct {
		name    string
		client  *http.Client
		headers [][2]string
		peer    string
		want    *identity.Identity // nil: none
		bad     bool               // 400 bad_identity
	}{
		{"edge vouches for a customer", edge, [][2]string{{HeaderUserID, "42"}, {HeaderUserRole, "customer"}}, edgePeer, &identity.Identity{UserID: 42, Role: identity.Customer}, false},
		{"edge vouches for an admin", edge, [][2]string{{HeaderUserID, "9223372036854775807"}, {HeaderUserRole, "admin"}}, edgePeer, &identity.Identity{UserID: 1<<63 - 1, Role: identity.Admin}, false},
		{"edge, anonymous", edge, nil, edgePeer, nil, false},
		{"core node's headers are ignored", core, [][2]string{{HeaderUserID, "42"}, {HeaderUserRole, "admin"}}, corePeer, nil, false},
		{"admin client's headers are ignored", admin, [][2]string{{HeaderUserID, "42"}, {HeaderUserRole, "admin"}}, adminPeer, nil, false},
		{"core node's malformed headers are ignored too", core, [][2]string{{HeaderUserID, "x"}, {HeaderUserRole, "root"}}, corePeer, nil, false},

		{"zero id", edge, [][2]string{{HeaderUserID, "0"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"negative id", edge, [][2]string{{HeaderUserID, "-1"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"signed id", edge, [][2]string{{HeaderUserID, "+42"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"leading zero", edge, [][2]string{{HeaderUserID, "042"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"id overflows int64", edge, [][2]string{{HeaderUserID, "9223372036854775808"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"id not a number", edge, [][2]string{{HeaderUserID, "4e2"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"unknown role", edge, [][2]string{{HeaderUserID, "42"}, {HeaderUserRole, "root"}}, "", nil, true},
		{"role in capitals", edge, [][2]string{{HeaderUserID, "42"}, {HeaderUserRole, "Admin"}}, "", nil, true},
		{"id without role", edge, [][2]string{{HeaderUserID, "42"}}, "", nil, true},
		{"role without id", edge, [][2]string{{HeaderUserRole, "customer"}}, "", nil, true},
		{"two ids", edge, [][2]string{{HeaderUserID, "42"}, {HeaderUserID, "43"}, {HeaderUserRole, "customer"}}, "", nil, true},
		{"empty id", edge, [][2]string{{HeaderUserID, ""}, {HeaderUserRole, "customer"}}, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.url+"/whoami", nil)
			for _, h := range tt.headers {
				req.Header.Add(h[0], h[1])
			}
			resp, body := do(t, tt.client, req)
			if tt.bad {
				checkError(t, resp, body, http.StatusBadRequest, CodeBadIdentity)
				return
			}
			var s seen
			if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &s) != nil {
				t.Fatalf("%s %s", resp.Status, body)
			}
			if s.Peer != tt.peer {
				t.Errorf("peer %q, want %q", s.Peer, tt.peer)
			}
			switch {
			case tt.want == nil && s.Identity:
				t.Errorf("the handler got identity %d/%s", s.UserID, s.Role)
			case tt.want != nil && (!s.Identity || s.UserID != tt.want.UserID || s.Role != tt.want.Role):
				t.Errorf("the handler got identity %v %d/%s, want %+v", s.Identity, s.UserID, s.Role, *tt.want)
			}
			if s.HeaderUser != "" || s.HeaderRole != "" {
				t.Errorf("the handler saw the raw headers %q %q", s.HeaderUser, s.HeaderRole)
			}
		})
	}
}

func TestHTTP2AndRequestID(t *testing.T) {
	p := getPKI(t)
	ts := start(t, http.HandlerFunc(echo), nil)
	c := client(t, p.edge)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"none", "", false},
		{"the edge's", "edge-1:7f3a.19_x", true},
		{"too long", strings.Repeat("a", 129), false},
		{"bad characters", "a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.url+"/", nil)
			if tt.sent != "" {
				req.Header.Set(HeaderRequestID, tt.sent)
			}
			resp, body := do(t, c, req)
			var s seen
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			if resp.ProtoMajor != 2 || s.Proto != "HTTP/2.0" || s.ALPN != "h2" {
				t.Errorf("client saw %s, handler saw %s over ALPN %q; want HTTP/2 over h2", resp.Proto, s.Proto, s.ALPN)
			}
			if !s.Deadline {
				t.Error("the handler's context has no deadline")
			}
			got := resp.Header.Get(HeaderRequestID)
			if got == "" || got != s.RequestID || (got == tt.sent) != tt.kept {
				t.Errorf("request id: sent %q, handler saw %q, response carries %q", tt.sent, s.RequestID, got)
			}
		})
	}
}

// TestHTTP1: tools that speak only HTTP/1.1 over TLS (curl --http1.1) get
// the same treatment.
func TestHTTP1(t *testing.T) {
	p := getPKI(t)
	ts := start(t, http.HandlerFunc(echo), nil)
	cfg := certs.ClientTLS(p.ca.Pool(), p.edge)
	cfg.NextProtos = []string{"http/1.1"}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodGet, ts.url+"/", nil)
	req.Header.Set(HeaderUserID, "7")
	req.Header.Set(HeaderUserRole, "merchant")
	resp, body := do(t, &http.Client{Transport: tr}, req)
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("%s %s", resp.Status, body)
	}
	if resp.ProtoMajor != 1 || s.ALPN != "http/1.1" || !s.Identity || s.UserID != 7 || s.Role != identity.Merchant {
		t.Errorf("%s: %+v", resp.Proto, s)
	}
}

// TestBadPeer: with a TLS config that, unlike certs.ServerTLS, does not
// check the peer URI during the handshake, a certificate from the CA that
// names no peer still gets no further than a 403.
func TestBadPeer(t *testing.T) {
	p := getPKI(t)
	var calls atomic.Int64
	ts := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }), func(c *Config) {
		c.TLS.VerifyConnection = nil
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "edge/eu-west/edge-1"}, // a name is not a peer URI
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca.Cert, &key.PublicKey, p.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      p.ca.Pool(),
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	req, _ := http.NewRequest(http.MethodGet, ts.url+"/", nil)
	req.Header.Set(HeaderUserID, "1")
	req.Header.Set(HeaderUserRole, "admin")
	resp, body := do(t, &http.Client{Transport: tr}, req)
	checkError(t, resp, body, http.StatusForbidden, CodeBadPeer)
	if calls.Load() != 0 {
		t.Error("the handler ran")
	}
}
