package certs

import (
	"crypto/x509"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri  string
		want Peer // zero: an error
	}{
		{"spiffe://cangqiong/edge/eu-west/edge-1", Peer{Edge, "eu-west", "edge-1"}},
		{"spiffe://cangqiong/core/cn-east/0", Peer{Core, "cn-east", "0"}},
		{"spiffe://cangqiong/admin/global/terraform", Peer{Admin, "global", "terraform"}},
		{"spiffe://cangqiong/edge/" + strings.Repeat("r", 63) + "/e", Peer{Edge, strings.Repeat("r", 63), "e"}},

		{"", Peer{}},
		{"spiffe://cangqiong/", Peer{}},
		{"spiffe://cangqiong/edge/eu-west", Peer{}},
		{"spiffe://cangqiong/edge/eu-west/e1/extra", Peer{}},
		{"spiffe://cangqiong/edge/eu-west/e1/", Peer{}},
		{"spiffe://cangqiong/edge//e1", Peer{}},
		{"spiffe://cangqiong//eu-west/e1", Peer{}},
		{"spiffe://cangqiong/user/eu-west/e1", Peer{}},
		{"spiffe://cangqiong/Edge/eu-west/e1", Peer{}},
		{"spiffe://cangqiong/edge/EU-west/e1", Peer{}},
		{"spiffe://cangqiong/edge/eu_west/e1", Peer{}},
		{"spiffe://cangqiong/edge/-eu/e1", Peer{}},
		{"spiffe://cangqiong/edge/eu-/e1", Peer{}},
		{"spiffe://cangqiong/edge/eu.west/e1", Peer{}},
		{"spiffe://cangqiong/edge/" + strings.Repeat("r", 64) + "/e", Peer{}},
		{"spiffe://cangqiong/edge/eu-west/e1?x=1", Peer{}},
		{"spiffe://cangqiong/edge/eu-west/e1#f", Peer{}},
		{"spiffe://cangqiong/edge/eu%2Dwest/e1", Peer{}},
		{"spiffe://cangqiong:443/edge/eu-west/e1", Peer{}},
		{"spiffe://user@cangqiong/edge/eu-west/e1", Peer{}},
		{"spiffe://other/edge/eu-west/e1", Peer{}},
		{"spiffe://cangqiong.evil/edge/eu-west/e1", Peer{}},
		{"https://cangqiong/edge/eu-west/e1", Peer{}},
		{" spiffe://cangqiong/edge/eu-west/e1", Peer{}},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if tt.want == (Peer{}) {
				if err == nil || !errors.Is(err, ErrBadPeer) {
					t.Fatalf("ParseURI = %+v, %v; want an ErrBadPeer", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseURI = %+v, %v; want %+v", got, err, tt.want)
			}
			if got.URI() != tt.uri {
				t.Errorf("URI() = %q, want %q", got.URI(), tt.uri)
			}
		})
	}
}

func TestPeerFromCert(t *testing.T) {
	ca := newCA(t)
	edge := issue(t, ca, IssueRequest{Peer: Peer{Edge, "eu-west", "edge-1"}})
	core := issue(t, ca, IssueRequest{Peer: Peer{Core, "cn-east", "core-0"}, Hosts: []string{"core-0.internal", "10.0.0.7"}})
	withURIs := func(uris ...string) *x509.Certificate {
		c := *edge.Cert
		c.URIs = nil
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			c.URIs = append(c.URIs, u)
		}
		return &c
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		want Peer // zero: an error
	}{
		{"edge", edge.Cert, edge.Peer},
		{"core", core.Cert, core.Peer},
		{"nil", nil, Peer{}},
		{"CA", ca.Cert, Peer{}},
		{"no URI", withURIs(), Peer{}},
		{"two URIs", withURIs(edge.Peer.URI(), core.Peer.URI()), Peer{}},
		{"nil URI", &x509.Certificate{URIs: []*url.URL{nil}}, Peer{}},
		{"other trust domain", withURIs("spiffe://example.org/edge/eu-west/edge-1"), Peer{}},
		{"upper-case host", withURIs("spiffe://CANGQIONG/edge/eu-west/edge-1"), Peer{}},
		{"escaped", withURIs("spiffe://cangqiong/edge/eu%2Fwest/edge-1"), Peer{}},
		{"query", withURIs("spiffe://cangqiong/edge/eu-west/edge-1?admin=1"), Peer{}},
		{"empty query", withURIs("spiffe://cangqiong/edge/eu-west/edge-1?"), Peer{}},
		{"opaque", withURIs("spiffe:cangqiong/edge/eu-west/edge-1"), Peer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeerFromCert(tt.cert)
			if tt.want == (Peer{}) {
				if !errors.Is(err, ErrBadPeer) {
					t.Fatalf("PeerFromCert = %+v, %v; want an ErrBadPeer", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PeerFromCert = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzPeerFromCert feeds arbitrary URI SANs, as crypto/x509 would parse
// them, to PeerFromCert, and arbitrary strings to ParseURI. Whatever is
// accepted must be a valid peer whose canonical URI is what was read: no
// two spellings of one peer, nothing lost on the way.
func FuzzPeerFromCert(f *testing.F) {
	for _, s := range []string{
		"spiffe://cangqiong/edge/eu-west/edge-1",
		"spiffe://cangqiong/core/cn-east/0",
		"spiffe://cangqiong/admin/r/i",
		"spiffe://cangqiong/edge/eu-west/edge-1?x",
		"spiffe://cangqiong/edge/eu%2Dwest/edge-1",
		"SPIFFE://cangqiong/edge/a/b",
		"spiffe://cangqiong/edge/a/b/c",
		"spiffe://cangqiong:1/edge/a/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParseURI(s); err == nil {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("ParseURI(%q) accepted an invalid peer: %v", s, verr)
			}
			if p.URI() != s {
				t.Fatalf("ParseURI(%q) = %+v, whose URI is %q", s, p, p.URI())
			}
		}
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		p, err := PeerFromCert(&x509.Certificate{URIs: []*url.URL{u}})
		if err != nil {
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("PeerFromCert(%q) accepted an invalid peer: %v", s, verr)
		}
		if p.URI() != u.String() {
			t.Fatalf("PeerFromCert(%q) = %+v, whose URI %q is not the SAN %q", s, p, p.URI(), u.String())
		}
	})
}
