package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake over an in-memory pipe. The client reads
// one byte after its side completes, so it sees a refusal the server sends
// after the client's last flight (TLS 1.3 client authentication).
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error, state tls.ConnectionState) {
	t.Helper()
	sc, cc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	done := make(chan error, 1)
	go func() {
		defer sc.Close()
		s := tls.Server(sc, server)
		err := s.Handshake()
		if err == nil {
			state = s.ConnectionState()
			_, err = s.Write([]byte{1})
		}
		done <- err
	}()
	c := tls.Client(cc, client)
	clientErr = c.Handshake()
	if clientErr == nil {
		_, clientErr = c.Read(make([]byte, 1))
	}
	cc.Close()
	return <-done, clientErr, state
}

func TestTLSConfigs(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	core := issue(t, ca, IssueRequest{Peer: Peer{Core, "cn-east", "core-0"}})
	edge := issue(t, ca, IssueRequest{Peer: Peer{Edge, "eu-west", "edge-1"}})
	stranger := issue(t, other, IssueRequest{Peer: Peer{Edge, "eu-west", "edge-1"}})
	noSAN := noPeerLeaf(t, ca)
	client := func(own *Leaf, roots *x509.CertPool) *tls.Config {
		cfg := ClientTLS(roots, own)
		cfg.ServerName = "127.0.0.1"
		return cfg
	}
	tests := []struct {
		name         string
		server       *tls.Config
		client       *tls.Config
		serverRefuse string // "" accepts
		clientRefuse string
	}{
		{"edge to core", ServerTLS(ca.Pool(), core), client(edge, ca.Pool()), "", ""},
		{"core to core", ServerTLS(ca.Pool(), core), client(core, ca.Pool()), "", ""},
		{"client from another CA", ServerTLS(ca.Pool(), core), client(stranger, ca.Pool()), "unknown authority", "unknown certificate authority"},
		{"client without a peer URI", ServerTLS(ca.Pool(), core), client(noSAN, ca.Pool()), "0 URI SANs", "bad certificate"},
		{"server that is not a core node", ServerTLS(ca.Pool(), edge), client(edge, ca.Pool()), "bad certificate", "names edge/eu-west/edge-1, want a peer of kind [core]"},
		{"server from another CA", ServerTLS(other.Pool(), stranger), client(edge, ca.Pool()), "bad certificate", "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr, clientErr, state := handshake(t, tt.server, tt.client)
			check(t, "server", serverErr, tt.serverRefuse)
			check(t, "client", clientErr, tt.clientRefuse)
			if tt.serverRefuse == "" && (state.Version != tls.VersionTLS13 || state.NegotiatedProtocol != "h2") {
				t.Errorf("negotiated version %x, protocol %q; want TLS 1.3 and h2", state.Version, state.NegotiatedProtocol)
			}
		})
	}
}

func check(t *testing.T, side string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", side, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: got %v, want an error containing %q", side, err, want)
	}
}

// noPeerLeaf signs a loopback leaf without a URI SAN, which Issue would
// never make.
func noPeerLeaf(t *testing.T, ca *CA) *Leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "no peer"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	cert, err := sign(tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &Leaf{Cert: cert, Key: key}
}
