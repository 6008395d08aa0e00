package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

const (
	// ClockSkew is how far in the past NotBefore is put, so that a node whose
	// clock is a little behind the issuer's accepts a fresh certificate.
	ClockSkew = 5 * time.Minute
	// DefaultValidity is a leaf's lifetime when IssueRequest.Validity is 0.
	DefaultValidity = 365 * 24 * time.Hour
	// organization is the subject organization of everything issued.
	organization = "cangqiong"
)

// DefaultHosts are the SAN hosts of a leaf when IssueRequest.Hosts is empty:
// enough for everything on one machine.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// CA is a certificate authority: its self-signed certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA valid for validity from now (NotBefore is
// ClockSkew earlier). It may sign leaves but not other CAs.
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	if strings.TrimSpace(commonName) == "" {
		return nil, errors.New("certs: new CA: empty common name")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("certs: new CA: validity %v: want more than 0", validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: new CA: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, fmt.Errorf("certs: new CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{organization}},
		NotBefore:             now.Add(-ClockSkew),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	cert, err := sign(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: new CA: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pool returns a pool holding only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool { return Pool(ca.Cert) }

// Pool returns a pool of the given CA certificates (more than one while a CA
// is being replaced).
func Pool(cas ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cas {
		p.AddCert(c)
	}
	return p
}

// IssueRequest says what certificate to issue.
type IssueRequest struct {
	// Peer is the identity put in the URI SAN; it must be valid.
	Peer Peer
	// Hosts are the DNS names and IP addresses the holder serves.
	// Empty: DefaultHosts.
	Hosts []string
	// Validity is the lifetime from now; a certificate that would outlive
	// its CA is refused. 0: DefaultValidity, cut short to the CA's end.
	Validity time.Duration
	// NotBefore starts the lifetime at a given time instead of ClockSkew
	// before now; the certificate then ends at NotBefore+Validity. Tests use
	// it to make expired certificates.
	NotBefore time.Time
}

// Leaf is an issued certificate, its key and the peer it names.
type Leaf struct {
	Peer Peer
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// TLSCertificate returns the leaf for a tls.Config's Certificates.
func (l *Leaf) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}
}

// Issue signs a new key for req.Peer. The certificate may serve and
// authenticate clients, and never outlives the CA.
func (ca *CA) Issue(req IssueRequest) (*Leaf, error) {
	leaf, err := ca.issue(req)
	if err != nil {
		return nil, fmt.Errorf("certs: issue %s: %w", req.Peer, err)
	}
	return leaf, nil
}

func (ca *CA) issue(req IssueRequest) (*Leaf, error) {
	if err := req.Peer.Validate(); err != nil {
		return nil, err
	}
	if req.Validity < 0 {
		return nil, fmt.Errorf("validity %v: want 0 (the default) or more", req.Validity)
	}
	validity := req.Validity
	if validity == 0 {
		validity = DefaultValidity
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-ClockSkew), now.Add(validity)
	if !req.NotBefore.IsZero() {
		notBefore, notAfter = req.NotBefore, req.NotBefore.Add(validity)
	}
	if req.Validity == 0 && notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if notAfter.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("it would expire at %s, after its CA (%s): issue a shorter one or make a new CA",
			notAfter.UTC().Format(time.RFC3339), ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	hosts := req.Hosts
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	dns, ips, err := splitHosts(hosts)
	if err != nil {
		return nil, err
	}
	uri, err := url.Parse(req.Peer.URI())
	if err != nil {
		return nil, err // unreachable: a valid peer makes a valid URI
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.Peer.String(), Organization: []string{organization}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{uri},
		DNSNames:     dns,
		IPAddresses:  ips,
		// BasicConstraintsValid with IsCA false: explicitly not a CA.
		BasicConstraintsValid: true,
	}
	cert, err := sign(tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Peer: req.Peer, Cert: cert, Key: key}, nil
}

// splitHosts sorts hosts into DNS names and IP addresses.
func splitHosts(hosts []string) ([]string, []net.IP, error) {
	var (
		dns []string
		ips []net.IP
	)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if !validHostname(h) {
			return nil, nil, fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
		}
		dns = append(dns, strings.ToLower(h))
	}
	return dns, ips, nil
}

// validHostname accepts dot-separated labels of letters, digits and '-'.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if !validName(strings.ToLower(label)) {
			return false
		}
	}
	return true
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func sign(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, priv *ecdsa.PrivateKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
