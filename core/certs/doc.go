// Package certs is the deployment's PKI: one self-signed certificate
// authority and the certificates it issues to core nodes, edge nodes and
// admin clients, so that every tunnel is HTTP/2 over mutually authenticated
// TLS.
//
// # Model
//
// A CA (NewCA) holds an ECDSA P-256 key and signs leaf certificates
// (CA.Issue). Each leaf names exactly one Peer — a kind (edge, core, admin),
// a region and an id — in a single URI SAN:
//
//	spiffe://cangqiong/<kind>/<region>/<id>
//	spiffe://cangqiong/edge/eu-west/edge-1
//	spiffe://cangqiong/core/cn-east/core-0
//
// Regions and ids are 1 to 63 lower-case letters, digits and '-', neither
// starting nor ending with '-' (a DNS label), so the URI needs no escaping and
// PeerFromCert can be strict: anything but exactly that form is an error. A
// leaf also carries DNS and IP SANs for the hosts it serves (by default
// 127.0.0.1, ::1 and localhost) and both the server and the client
// extended key usage, since a core node is a server to edges and a client of
// its peers.
//
// # Files
//
// CA.Save and LoadCA keep the CA as ca.crt and ca.key in a directory; a node
// that verifies peers but issues nothing needs only ca.crt (LoadCACert).
// Leaf.Save writes <kind>.<region>.<id>.crt and .key next to them ('.' is
// not allowed in a region or id, so names never collide). Keys are PKCS #8
// PEM files with mode 0600; files are written to a temporary name and
// renamed, so a crash never leaves half a key. CA.Save refuses to replace an
// existing CA unless told to: every certificate the old CA issued would stop
// verifying.
//
// # TLS
//
// ServerTLS and ClientTLS build the tls.Config of each side: TLS 1.3, h2
// then http/1.1 by ALPN, the CA as the only root, and the peer's URI SAN
// checked during the handshake. A client without a certificate, with one
// from another CA, or with an expired one fails the handshake.
//
// The package uses only the standard library (crypto/x509, crypto/tls):
// issuing a handful of certificates needs no more.
package certs
