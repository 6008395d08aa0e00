package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the CA's files in a certs directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// ErrCAExists is returned by CA.Save when the directory already holds a CA
// and replacing it was not asked for.
var ErrCAExists = errors.New("a CA already exists")

// Save writes the CA to dir (made if missing) as ca.crt and ca.key and
// returns the paths written. It refuses, with ErrCAExists, to replace an
// existing CA unless overwrite is set.
func (ca *CA) Save(dir string, overwrite bool) ([]string, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if !overwrite {
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("certs: save CA: %w in %s (%s)", ErrCAExists, dir, filepath.Base(p))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("certs: save CA: %w", err)
			}
		}
	}
	if err := savePair(dir, certPath, keyPath, ca.Cert, ca.Key); err != nil {
		return nil, fmt.Errorf("certs: save CA: %w", err)
	}
	return []string{certPath, keyPath}, nil
}

// LoadCA reads the CA, key included, from dir. A missing CA is an error
// that wraps fs.ErrNotExist.
func LoadCA(dir string) (*CA, error) {
	cert, key, err := loadPair(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("certs: load CA: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certs: load CA: %s is not a CA certificate", filepath.Join(dir, CACertFile))
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCACert reads only the CA's certificate from dir: what a node needs to
// verify its peers.
func LoadCACert(dir string) (*x509.Certificate, error) {
	path := filepath.Join(dir, CACertFile)
	cert, err := loadCert(path)
	if err != nil {
		return nil, fmt.Errorf("certs: load CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certs: load CA certificate: %s is not a CA certificate", path)
	}
	return cert, nil
}

// LeafFiles returns where p's certificate and key live in dir:
// <kind>.<region>.<id>.crt and .key.
func LeafFiles(dir string, p Peer) (certPath, keyPath string) {
	base := filepath.Join(dir, string(p.Kind)+"."+p.Region+"."+p.ID)
	return base + ".crt", base + ".key"
}

// Save writes the leaf to dir (made if missing), replacing an earlier
// certificate for the same peer, and returns the paths written.
func (l *Leaf) Save(dir string) ([]string, error) {
	certPath, keyPath := LeafFiles(dir, l.Peer)
	if err := savePair(dir, certPath, keyPath, l.Cert, l.Key); err != nil {
		return nil, fmt.Errorf("certs: save %s: %w", l.Peer, err)
	}
	return []string{certPath, keyPath}, nil
}

// LoadLeaf reads p's certificate and key from dir and checks that they
// match and that the certificate names p.
func LoadLeaf(dir string, p Peer) (*Leaf, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("certs: load leaf: %w", err)
	}
	certPath, keyPath := LeafFiles(dir, p)
	cert, key, err := loadPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s: %w", p, err)
	}
	got, err := PeerFromCert(cert)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s: %s: %w", p, certPath, err)
	}
	if got != p {
		return nil, fmt.Errorf("certs: load %s: %s names %s", p, certPath, got)
	}
	return &Leaf{Peer: p, Cert: cert, Key: key}, nil
}

func savePair(dir, certPath, keyPath string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

// writeFileAtomic writes data to a temporary file in path's directory with
// mode perm and renames it over path.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := loadCert(certPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := loadKey(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s does not match %s", keyPath, certPath)
	}
	return cert, key, nil
}

func loadCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

func loadKey(path string) (*ecdsa.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, want an ECDSA key", path, k)
	}
	return key, nil
}

// readPEM returns the bytes of the one PEM block of type typ in path.
func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %s block", path, typ)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, fmt.Errorf("%s: more than one PEM block", path)
	}
	return block.Bytes, nil
}
