package certs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCASaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki") // Save makes it
	ca := newCA(t)
	paths, err := ca.Save(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")}; !slices.Equal(paths, want) {
		t.Errorf("Save wrote %v, want %v", paths, want)
	}
	checkMode(t, filepath.Join(dir, "ca.key"), 0o600)
	checkMode(t, dir, 0o700|fs.ModeDir)

	got, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) || !got.Key.Equal(ca.Key) {
		t.Fatal("LoadCA returned another CA")
	}
	cert, err := LoadCACert(dir)
	if err != nil || !cert.Equal(ca.Cert) {
		t.Fatalf("LoadCACert = %v", err)
	}

	// A second CA must not silently replace the first: everything the
	// first issued would stop verifying.
	second := newCA(t)
	if _, err := second.Save(dir, false); !errors.Is(err, ErrCAExists) {
		t.Fatalf("Save over a CA = %v, want ErrCAExists", err)
	}
	if got, _ := LoadCA(dir); !got.Cert.Equal(ca.Cert) {
		t.Fatal("a refused Save changed the CA")
	}
	os.Remove(filepath.Join(dir, "ca.crt")) // half a CA counts too
	if _, err := second.Save(dir, false); !errors.Is(err, ErrCAExists) {
		t.Fatalf("Save over a CA key = %v, want ErrCAExists", err)
	}
	// A key left group-readable is made private again on overwrite.
	if err := os.Chmod(filepath.Join(dir, "ca.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Save(dir, true); err != nil {
		t.Fatal(err)
	}
	checkMode(t, filepath.Join(dir, "ca.key"), 0o600)
	if got, err := LoadCA(dir); err != nil || !got.Cert.Equal(second.Cert) {
		t.Fatalf("after overwrite LoadCA = %v", err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestLeafSaveLoad(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	peer := Peer{Edge, "eu-west", "edge-1"}
	leaf := issue(t, ca, IssueRequest{Peer: peer})
	paths, err := leaf.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "edge.eu-west.edge-1.crt"), filepath.Join(dir, "edge.eu-west.edge-1.key")}; !slices.Equal(paths, want) {
		t.Errorf("Save wrote %v, want %v", paths, want)
	}
	checkMode(t, paths[1], 0o600)
	got, err := LoadLeaf(dir, peer)
	if err != nil {
		t.Fatal(err)
	}
	if got.Peer != peer || !got.Cert.Equal(leaf.Cert) || !got.Key.Equal(leaf.Key) {
		t.Fatal("LoadLeaf returned another leaf")
	}

	// Renewal replaces the files.
	renewed := issue(t, ca, IssueRequest{Peer: peer})
	if _, err := renewed.Save(dir); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLeaf(dir, peer); err != nil || !got.Cert.Equal(renewed.Cert) {
		t.Fatalf("after renewal LoadLeaf = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	ca := newCA(t)
	peer := Peer{Core, "cn-east", "core-0"}
	leaf := issue(t, ca, IssueRequest{Peer: peer})
	other := issue(t, ca, IssueRequest{Peer: Peer{Core, "cn-east", "core-1"}})

	// setup prepares a directory; check inspects LoadCA's or LoadLeaf's error.
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		load  func(dir string) error
		want  string
	}{
		{"no CA", func(*testing.T, string) {}, loadCA, "no such file"},
		{"no CA key", func(t *testing.T, dir string) {
			save(t, dir, ca)
			os.Remove(filepath.Join(dir, "ca.key"))
		}, loadCA, "no such file"},
		{"garbage cert", func(t *testing.T, dir string) {
			save(t, dir, ca)
			write(t, filepath.Join(dir, "ca.crt"), "hello")
		}, loadCA, "no PEM CERTIFICATE block"},
		{"two certs", func(t *testing.T, dir string) {
			save(t, dir, ca)
			data, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
			write(t, filepath.Join(dir, "ca.crt"), string(data)+string(data))
		}, loadCA, "more than one PEM block"},
		{"leaf as CA", func(t *testing.T, dir string) {
			paths, _ := leaf.Save(dir)
			os.Rename(paths[0], filepath.Join(dir, "ca.crt"))
			os.Rename(paths[1], filepath.Join(dir, "ca.key"))
		}, loadCA, "not a CA"},
		{"mismatched key", func(t *testing.T, dir string) {
			a, _ := leaf.Save(dir)
			b, _ := other.Save(dir)
			os.Rename(b[1], a[1])
		}, loadLeaf(peer), "does not match"},
		{"leaf names another peer", func(t *testing.T, dir string) {
			a, _ := other.Save(dir)
			want0, want1 := LeafFiles(dir, peer)
			os.Rename(a[0], want0)
			os.Rename(a[1], want1)
		}, loadLeaf(peer), "names core/cn-east/core-1"},
		{"no leaf", func(*testing.T, string) {}, loadLeaf(peer), "no such file"},
		{"invalid peer", func(*testing.T, string) {}, loadLeaf(Peer{Core, "../x", "y"}), "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			err := tt.load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load = %v, want an error containing %q", err, tt.want)
			}
			if tt.want == "no such file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

func loadCA(dir string) error { _, err := LoadCA(dir); return err }

func loadLeaf(p Peer) func(string) error {
	return func(dir string) error { _, err := LoadLeaf(dir, p); return err }
}

func save(t *testing.T, dir string, ca *CA) {
	t.Helper()
	if _, err := ca.Save(dir, false); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
	}
}
