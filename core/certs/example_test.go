package certs_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
)

func Example() {
	dir, err := os.MkdirTemp("", "pki-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// cangqiong certs init
	ca, err := certs.NewCA("Cangqiong CA", 10*365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ca.Save(dir, false); err != nil {
		log.Fatal(err)
	}

	// cangqiong certs issue --kind edge --region eu-west --id edge-1
	edge := certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"}
	leaf, err := ca.Issue(certs.IssueRequest{Peer: edge})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := leaf.Save(dir); err != nil {
		log.Fatal(err)
	}

	// The edge node, later: its own certificate and the CA's, no CA key.
	caCert, err := certs.LoadCACert(dir)
	if err != nil {
		log.Fatal(err)
	}
	mine, err := certs.LoadLeaf(dir, edge)
	if err != nil {
		log.Fatal(err)
	}
	cfg := certs.ClientTLS(certs.Pool(caCert), mine)

	p, _ := certs.PeerFromCert(mine.Cert)
	fmt.Println(mine.Cert.URIs[0], p.Kind, p.Region, p.ID, cfg.NextProtos)
	// Output: spiffe://cangqiong/edge/eu-west/edge-1 edge eu-west edge-1 [h2 http/1.1]
}
