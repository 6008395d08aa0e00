package tunnel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/identity"
	"github.com/cangqiong/cangqiong/core/tunnel"
)

func Example() {
	ca, _ := certs.NewCA("Example CA", time.Hour)
	core, _ := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "cn-east", ID: "core-0"}})
	edge, _ := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"}})

	// The core node.
	cfg := tunnel.DefaultConfig()
	cfg.TLS = certs.ServerTLS(ca.Pool(), core)
	cfg.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _ := tunnel.PeerFrom(r.Context())
		user, ok := identity.From(r.Context())
		if !ok {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello user %d (%s), via %s", user.UserID, user.Role, peer)
	})
	srv, err := tunnel.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	// An edge that verified user 42's JWT.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: certs.ClientTLS(ca.Pool(), edge), ForceAttemptHTTP2: true}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+ln.Addr().String()+"/", nil)
	req.Header.Set(tunnel.HeaderUserID, "42")
	req.Header.Set(tunnel.HeaderUserRole, "customer")
	resp, err := c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Proto, resp.StatusCode, string(body))
	// Output: HTTP/2.0 200 hello user 42 (customer), via edge/eu-west/edge-1
}
