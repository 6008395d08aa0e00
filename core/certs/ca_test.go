package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func newCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA("Test CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *CA, req IssueRequest) *Leaf {
	t.Helper()
	leaf, err := ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestNewCA(t *testing.T) {
	before := time.Now()
	ca := newCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("not a path-length-0 CA: IsCA %v, MaxPathLen %d", c.IsCA, c.MaxPathLen)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("key usage %b lacks cert signing", c.KeyUsage)
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if c.NotBefore.After(before.Add(-ClockSkew+time.Second)) || c.NotAfter.Before(before.Add(24*time.Hour-time.Second)) {
		t.Errorf("validity %s to %s", c.NotBefore, c.NotAfter)
	}
	for _, bad := range []struct {
		name     string
		validity time.Duration
	}{{"", time.Hour}, {" ", time.Hour}, {"CA", 0}, {"CA", -time.Hour}} {
		if _, err := NewCA(bad.name, bad.validity); err == nil {
			t.Errorf("NewCA(%q, %v) succeeded", bad.name, bad.validity)
		}
	}
}

func TestIssue(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	edge := issue(t, ca, IssueRequest{Peer: Peer{Edge, "eu-west", "edge-1"}})
	core := issue(t, ca, IssueRequest{Peer: Peer{Core, "cn-east", "core-0"}, Hosts: []string{"Core-0.Internal", "10.0.0.7"}, Validity: time.Hour})

	t.Run("SANs", func(t *testing.T) {
		if got := edge.Cert.URIs[0].String(); got != "spiffe://cangqiong/edge/eu-west/edge-1" {
			t.Errorf("edge URI SAN %q", got)
		}
		if !slices.Equal(edge.Cert.DNSNames, []string{"localhost"}) || len(edge.Cert.IPAddresses) != 2 ||
			!edge.Cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !edge.Cert.IPAddresses[1].Equal(net.IPv6loopback) {
			t.Errorf("default hosts: DNS %v IP %v", edge.Cert.DNSNames, edge.Cert.IPAddresses)
		}
		if !slices.Equal(core.Cert.DNSNames, []string{"core-0.internal"}) || !core.Cert.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) {
			t.Errorf("given hosts: DNS %v IP %v", core.Cert.DNSNames, core.Cert.IPAddresses)
		}
		if edge.Cert.IsCA {
			t.Error("a leaf is a CA")
		}
	})

	t.Run("lifetime", func(t *testing.T) {
		now := time.Now()
		nb, na := core.Cert.NotBefore, core.Cert.NotAfter
		if nb.After(now.Add(-ClockSkew+time.Second)) || nb.Before(now.Add(-ClockSkew-time.Minute)) {
			t.Errorf("NotBefore %s is not about %v before now", nb, ClockSkew)
		}
		if d := na.Sub(now); d > time.Hour || d < time.Hour-time.Minute {
			t.Errorf("NotAfter is %v from now, want 1h", d)
		}
		if !edge.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
			t.Errorf("the default validity ends at %s, not with the CA (%s)", edge.Cert.NotAfter, ca.Cert.NotAfter)
		}
	})

	// Verification as the tunnel does it (client auth) and as an edge does
	// (server auth, with the host name).
	verify := func(leaf *Leaf, roots *x509.CertPool, usage x509.ExtKeyUsage, host string, at time.Time) error {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host, CurrentTime: at})
		return err
	}
	now := time.Now()
	expired := issue(t, ca, IssueRequest{Peer: Peer{Edge, "eu-west", "old"}, NotBefore: now.Add(-3 * time.Hour), Validity: time.Hour})
	if err := expired.Cert.CheckSignatureFrom(ca.Cert); err != nil || !expired.Cert.NotAfter.Before(now) {
		t.Fatalf("the expired certificate: %v, NotAfter %s", err, expired.Cert.NotAfter)
	}
	tests := []struct {
		name  string
		leaf  *Leaf
		roots *x509.CertPool
		usage x509.ExtKeyUsage
		host  string
		at    time.Time
		ok    bool
	}{
		{"edge as client", edge, ca.Pool(), x509.ExtKeyUsageClientAuth, "", now, true},
		{"core as server by IP", core, ca.Pool(), x509.ExtKeyUsageServerAuth, "10.0.0.7", now, true},
		{"core as server by name", core, ca.Pool(), x509.ExtKeyUsageServerAuth, "core-0.internal", now, true},
		{"core as client", core, ca.Pool(), x509.ExtKeyUsageClientAuth, "", now, true},
		{"edge on loopback", edge, ca.Pool(), x509.ExtKeyUsageServerAuth, "127.0.0.1", now, true},
		{"another CA", edge, other.Pool(), x509.ExtKeyUsageClientAuth, "", now, false},
		{"wrong host", core, ca.Pool(), x509.ExtKeyUsageServerAuth, "127.0.0.1", now, false},
		{"expired", expired, ca.Pool(), x509.ExtKeyUsageClientAuth, "", now, false},
		{"after its lifetime", core, ca.Pool(), x509.ExtKeyUsageClientAuth, "", now.Add(2 * time.Hour), false},
		{"both CAs trusted", edge, Pool(other.Cert, ca.Cert), x509.ExtKeyUsageClientAuth, "", now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify(tt.leaf, tt.roots, tt.usage, tt.host, tt.at)
			if (err == nil) != tt.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ca := newCA(t)
	good := Peer{Edge, "eu-west", "edge-1"}
	tests := []struct {
		name string
		req  IssueRequest
		want string
	}{
		{"no kind", IssueRequest{Peer: Peer{"", "eu-west", "e1"}}, "kind"},
		{"unknown kind", IssueRequest{Peer: Peer{"shop", "eu-west", "e1"}}, "kind"},
		{"empty region", IssueRequest{Peer: Peer{Edge, "", "e1"}}, "region"},
		{"upper-case id", IssueRequest{Peer: Peer{Edge, "eu-west", "E1"}}, "id"},
		{"slash in id", IssueRequest{Peer: Peer{Edge, "eu-west", "a/b"}}, "id"},
		{"dot in region", IssueRequest{Peer: Peer{Edge, "eu.west", "e1"}}, "region"},
		{"bad host", IssueRequest{Peer: good, Hosts: []string{"not a host"}}, "host"},
		{"empty host", IssueRequest{Peer: good, Hosts: []string{""}}, "host"},
		{"negative validity", IssueRequest{Peer: good, Validity: -time.Hour}, "validity"},
		{"outlives the CA", IssueRequest{Peer: good, Validity: 48 * time.Hour}, "after its CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := ca.Issue(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Issue = %v, %v; want an error about %s", leaf, err, tt.want)
			}
			if slices.Contains([]string{"kind", "region", "id"}, tt.want) && !errors.Is(err, ErrBadPeer) {
				t.Errorf("%v does not wrap ErrBadPeer", err)
			}
		})
	}
}
