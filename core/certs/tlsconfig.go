package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// nextProtos offers HTTP/2 first; HTTP/1.1 stays for tools like curl.
var nextProtos = []string{"h2", "http/1.1"}

// ServerTLS returns the config of a server that admits only clients holding
// a certificate from roots that names a valid peer: TLS 1.3, client
// certificates required and verified, h2 and http/1.1 by ALPN. own is the
// server's certificate (a core node's). Which kinds of peer may do what is
// the server's business after the handshake.
func ServerTLS(roots *x509.CertPool, own *Leaf) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{own.TLSCertificate()},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        roots,
		NextProtos:       nextProtos,
		VerifyConnection: verifyPeer("client", nil),
	}
}

// ClientTLS returns the config of a client (an edge, an admin tool, a test)
// that presents own and trusts only servers holding a certificate from roots
// that names a core node. The server's address must be among the
// certificate's DNS or IP SANs, as usual.
func ClientTLS(roots *x509.CertPool, own *Leaf) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{own.TLSCertificate()},
		RootCAs:          roots,
		NextProtos:       nextProtos,
		VerifyConnection: verifyPeer("server", []Kind{Core}),
	}
}

// verifyPeer checks, once the chain is verified, that the other side's
// leaf names a valid peer of one of kinds (any kind if kinds is nil).
func verifyPeer(side string, kinds []Kind) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("certs: the " + side + " sent no certificate")
		}
		p, err := PeerFromCert(cs.PeerCertificates[0])
		if err != nil {
			return fmt.Errorf("certs: %s certificate: %w", side, err)
		}
		if kinds == nil {
			return nil
		}
		for _, k := range kinds {
			if p.Kind == k {
				return nil
			}
		}
		return fmt.Errorf("certs: %s certificate names %s, want a peer of kind %v", side, p, kinds)
	}
}
