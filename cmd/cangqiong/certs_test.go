package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cangqiong/cangqiong/core/certs"
)

func TestCertsHelp(t *testing.T) {
	checkHelp(t, []helpCase{
		{[]string{"--help"}, []string{"certs"}},
		{[]string{"certs", "--help"}, []string{"Usage: cangqiong certs", "certs init", "certs issue"}},
		{[]string{"certs", "init", "--help"}, []string{"Usage: cangqiong certs init", "--dir=DIR", "--name", "--valid", "--force"}},
		{[]string{"certs", "issue", "--help"}, []string{"Usage: cangqiong certs issue", "--kind=KIND", "edge,core,admin", "--region=REGION", "--id=ID", "--host=HOST", "--valid"}},
	})
}

func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")

	r := runCLI(t, nil, "certs", "init", "--dir", dir, "--name", "Test CA", "--valid", "48h")
	if r.code != 0 {
		t.Fatalf("init: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLines(t, r.stdout, `CA "Test CA" valid until `, "wrote "+filepath.Join(dir, "ca.crt"), "wrote "+filepath.Join(dir, "ca.key"))
	checkPrivate(t, filepath.Join(dir, "ca.key"))

	r = runCLI(t, nil, "certs", "issue", "--dir", dir, "--kind", "edge", "--region", "eu-west", "--id", "edge-1", "--valid", "24h")
	if r.code != 0 {
		t.Fatalf("issue: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	edgeCrt, edgeKey := filepath.Join(dir, "edge.eu-west.edge-1.crt"), filepath.Join(dir, "edge.eu-west.edge-1.key")
	checkLines(t, r.stdout, "spiffe://cangqiong/edge/eu-west/edge-1 for localhost, 127.0.0.1, ::1 valid until ", "wrote "+edgeCrt, "wrote "+edgeKey)
	checkPrivate(t, edgeKey)

	r = runCLI(t, nil, "certs", "issue", "--dir", dir, "--kind", "core", "--region", "cn-east", "--id", "core-0",
		"--host", "core-0.internal", "--host", "10.0.0.7")
	if r.code == 0 {
		t.Fatalf("a certificate for a year from a CA for 48h: exit 0\n%s", r.stdout)
	}
	checkStderr(t, r)
	r = runCLI(t, nil, "certs", "issue", "--dir", dir, "--kind", "core", "--region", "cn-east", "--id", "core-0",
		"--host", "core-0.internal", "--host", "10.0.0.7", "--valid", "1h")
	if r.code != 0 {
		t.Fatalf("issue core: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkLines(t, r.stdout, "spiffe://cangqiong/core/cn-east/core-0 for core-0.internal, 10.0.0.7 valid until ", "wrote …core.cn-east.core-0.crt", "wrote …core.cn-east.core-0.key")

	// What a core node does with the files: the edge's certificate verifies
	// as a client against the CA and names the edge.
	caCert, err := certs.LoadCACert(dir)
	if err != nil {
		t.Fatal(err)
	}
	edge, err := certs.LoadLeaf(dir, certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(leaf *certs.Leaf, roots *x509.CertPool, usage x509.ExtKeyUsage, host string) error {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host})
		return err
	}
	if err := verify(edge, certs.Pool(caCert), x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Fatalf("the edge certificate does not verify against the CA: %v", err)
	}
	core, err := certs.LoadLeaf(dir, certs.Peer{Kind: certs.Core, Region: "cn-east", ID: "core-0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"core-0.internal", "10.0.0.7"} {
		if err := verify(core, certs.Pool(caCert), x509.ExtKeyUsageServerAuth, host); err != nil {
			t.Errorf("the core certificate does not verify for %s: %v", host, err)
		}
	}

	t.Run("existing CA", func(t *testing.T) {
		r := runCLI(t, nil, "certs", "init", "--dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
			t.Fatalf("exit %d, stderr %q; want 1 pointing at --force", r.code, r.stderr)
		}
		checkStderr(t, r)
		if now, _ := certs.LoadCACert(dir); !now.Equal(caCert) {
			t.Fatal("a refused init replaced the CA")
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			code int
			want string
		}{
			{"bad id", []string{"--kind", "edge", "--region", "eu-west", "--id", "Edge_1"}, 1, `id "Edge_1"`},
			{"bad region", []string{"--kind", "edge", "--region", "eu/west", "--id", "e1"}, 1, `region "eu/west"`},
			{"bad host", []string{"--kind", "edge", "--region", "eu-west", "--id", "e1", "--host", "a b", "--valid", "1h"}, 1, `host "a b"`},
			{"bad kind", []string{"--kind", "shop", "--region", "eu-west", "--id", "e1"}, 2, "--kind"},
			{"no id", []string{"--kind", "edge", "--region", "eu-west"}, 2, "--id"},
			{"zero validity", []string{"--kind", "edge", "--region", "eu-west", "--id", "e1", "--valid", "0s"}, 1, "--valid"},
			{"missing CA", []string{"--kind", "edge", "--region", "eu-west", "--id", "e1", "--dir", filepath.Join(dir, "nope")}, 1, "no CA in"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"certs", "issue", "--dir", dir}, tt.args...)
				r := runCLI(t, nil, args...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
					t.Fatalf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, tt.code, tt.want)
				}
				checkStderr(t, r)
			})
		}
		if _, err := os.Stat(filepath.Join(dir, "edge.eu-west.e1.key")); err == nil {
			t.Error("a refused issue wrote a key")
		}
	})

	t.Run("force", func(t *testing.T) {
		r := runCLI(t, nil, "certs", "init", "--dir", dir, "--force")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		newCA, err := certs.LoadCACert(dir)
		if err != nil || newCA.Equal(caCert) {
			t.Fatalf("--force did not replace the CA: %v", err)
		}
		if err := verify(edge, certs.Pool(newCA), x509.ExtKeyUsageClientAuth, ""); err == nil {
			t.Error("a certificate of the replaced CA verifies against the new one")
		}
	})
}

func checkPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}
