package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// TrustDomain is the host part of every peer URI.
const TrustDomain = "cangqiong"

const uriPrefix = "spiffe://" + TrustDomain + "/"

// Kind is the role of a certificate's holder in the deployment.
type Kind string

const (
	Edge  Kind = "edge"  // an edge node: a tunnel client that vouches for end users
	Core  Kind = "core"  // a core node: the tunnel server, and a client of other core nodes
	Admin Kind = "admin" // an operator's or terraform's client of the admin API
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k == Edge || k == Core || k == Admin }

// ErrBadPeer is wrapped by every error about a malformed peer identity.
var ErrBadPeer = errors.New("bad peer identity")

// Peer is the identity a certificate names.
type Peer struct {
	Kind   Kind
	Region string
	ID     string
}

// String returns "kind/region/id".
func (p Peer) String() string { return string(p.Kind) + "/" + p.Region + "/" + p.ID }

// URI returns the URI SAN that names p: spiffe://cangqiong/kind/region/id.
func (p Peer) URI() string { return uriPrefix + p.String() }

// Validate reports whether p can be put in a certificate.
func (p Peer) Validate() error {
	if !p.Kind.Valid() {
		return fmt.Errorf("%w: kind %q: want edge, core or admin", ErrBadPeer, p.Kind)
	}
	if err := ValidateName("region", p.Region); err != nil {
		return err
	}
	return ValidateName("id", p.ID)
}

// ValidateName checks a region or id: 1 to 63 lower-case letters, digits
// and '-', not starting or ending with '-'. what names it in the error.
func ValidateName(what, s string) error {
	if !validName(s) {
		return fmt.Errorf("%w: %s %q: use 1 to 63 lower-case letters, digits and '-', not at either end", ErrBadPeer, what, s)
	}
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ParseURI parses a peer URI strictly: exactly
// spiffe://cangqiong/<kind>/<region>/<id> with valid parts, and nothing
// else — no query, fragment, port, user, escaping or extra segment.
func ParseURI(s string) (Peer, error) {
	rest, ok := strings.CutPrefix(s, uriPrefix)
	if !ok {
		return Peer{}, fmt.Errorf("%w: URI %q does not start with %s", ErrBadPeer, s, uriPrefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return Peer{}, fmt.Errorf("%w: URI %q: want %s<kind>/<region>/<id>", ErrBadPeer, s, uriPrefix)
	}
	p := Peer{Kind: Kind(parts[0]), Region: parts[1], ID: parts[2]}
	if err := p.Validate(); err != nil {
		return Peer{}, fmt.Errorf("URI %q: %w", s, err)
	}
	return p, nil
}

// PeerFromCert returns the peer a leaf certificate names in its one URI
// SAN. A CA certificate, no URI SAN, several, or a malformed one is an
// error. It does not verify the certificate: call it on a verified chain's
// leaf (tls.ConnectionState.VerifiedChains[0][0]).
func PeerFromCert(cert *x509.Certificate) (Peer, error) {
	switch {
	case cert == nil:
		return Peer{}, fmt.Errorf("%w: no certificate", ErrBadPeer)
	case cert.IsCA:
		return Peer{}, fmt.Errorf("%w: %q is a CA certificate", ErrBadPeer, cert.Subject.CommonName)
	case len(cert.URIs) != 1:
		return Peer{}, fmt.Errorf("%w: certificate %q has %d URI SANs, want 1", ErrBadPeer, cert.Subject.CommonName, len(cert.URIs))
	case cert.URIs[0] == nil:
		return Peer{}, fmt.Errorf("%w: certificate %q has an empty URI SAN", ErrBadPeer, cert.Subject.CommonName)
	}
	return ParseURI(cert.URIs[0].String())
}
