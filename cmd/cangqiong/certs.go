package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
)

func init() {
	register("certs", "Make the deployment's CA and issue the certificates of core nodes, edge nodes and admin clients for the mTLS tunnels.", &certsCmd{})
}

type certsCmd struct {
	Init  certsInitCmd  `cmd:"" help:"Make a new CA in a directory: ca.crt, and ca.key (keep it secret)."`
	Issue certsIssueCmd `cmd:"" help:"Issue a certificate naming spiffe://cangqiong/<kind>/<region>/<id>, signed by the CA in the directory."`
}

type certsInitCmd struct {
	Dir   string        `required:"" placeholder:"DIR" help:"Directory of the CA (made if missing)."`
	Name  string        `default:"Cangqiong CA" help:"Common name of the CA."`
	Valid time.Duration `default:"87600h" help:"Lifetime of the CA."`
	Force bool          `help:"Replace an existing CA; every certificate it issued stops verifying."`
}

func (c *certsInitCmd) Run(e *env) error {
	ca, err := certs.NewCA(c.Name, c.Valid)
	if err != nil {
		return err
	}
	paths, err := ca.Save(c.Dir, c.Force)
	if errors.Is(err, certs.ErrCAExists) {
		return fmt.Errorf("a CA already exists in %s; pass --force to replace it (every certificate it issued stops verifying)", c.Dir)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "CA %q valid until %s\n", c.Name, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	printWritten(e, paths)
	return nil
}

type certsIssueCmd struct {
	Dir    string        `required:"" placeholder:"DIR" help:"Directory of the CA; the certificate and key are written there too."`
	Kind   string        `required:"" enum:"edge,core,admin" placeholder:"KIND" help:"What holds the certificate: ${enum}."`
	Region string        `required:"" placeholder:"REGION" help:"Region of the holder: lower-case letters, digits and '-'."`
	ID     string        `name:"id" required:"" placeholder:"ID" help:"Id of the holder within its region: lower-case letters, digits and '-'."`
	Host   []string      `placeholder:"HOST" help:"DNS name or IP address the holder serves (repeatable; default 127.0.0.1, ::1, localhost)."`
	Valid  time.Duration `default:"8760h" help:"Lifetime of the certificate (no longer than the CA's)."`
}

func (c *certsIssueCmd) Run(e *env) error {
	peer := certs.Peer{Kind: certs.Kind(c.Kind), Region: c.Region, ID: c.ID}
	if err := peer.Validate(); err != nil {
		return err
	}
	if c.Valid <= 0 {
		return fmt.Errorf("--valid %v: want more than 0", c.Valid)
	}
	ca, err := certs.LoadCA(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no CA in %s (make one with: cangqiong certs init --dir %s)", c.Dir, c.Dir)
	}
	if err != nil {
		return err
	}
	leaf, err := ca.Issue(certs.IssueRequest{Peer: peer, Hosts: c.Host, Validity: c.Valid})
	if err != nil {
		return err
	}
	paths, err := leaf.Save(c.Dir)
	if err != nil {
		return err
	}
	hosts := append(append([]string{}, leaf.Cert.DNSNames...), ipStrings(leaf)...)
	fmt.Fprintf(e.stdout, "%s for %s valid until %s\n", peer.URI(), strings.Join(hosts, ", "), leaf.Cert.NotAfter.UTC().Format(time.RFC3339))
	printWritten(e, paths)
	return nil
}

func ipStrings(l *certs.Leaf) []string {
	s := make([]string, len(l.Cert.IPAddresses))
	for i, ip := range l.Cert.IPAddresses {
		s[i] = ip.String()
	}
	return s
}

func printWritten(e *env, paths []string) {
	for _, p := range paths {
		fmt.Fprintf(e.stdout, "wrote %s\n", p)
	}
}
