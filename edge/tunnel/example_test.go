package tunnel_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/edge/tunnel"
)

// The edge starts a client with its certificate from `cangqiong certs`,
// forwards a request, and answers a failure with the status and
// Retry-After the error carries. (Compiled, not run: it needs a core.)
func Example() {
	ca, err := certs.LoadCACert("/etc/cangqiong/certs")
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := certs.LoadLeaf("/etc/cangqiong/certs", certs.Peer{Kind: certs.Edge, Region: "eu-west", ID: "edge-1"})
	if err != nil {
		log.Fatal(err)
	}
	cfg := tunnel.DefaultConfig()
	cfg.Seeds = []string{"10.0.1.10:7443", "10.0.1.11:7443"}
	cfg.TLS = certs.ClientTLS(certs.Pool(ca), leaf)
	c, err := tunnel.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}

	// A write the core deduplicates: the client may repeat it on another
	// node if its first node dies with the answer.
	req, _ := http.NewRequest("POST", "/api/v1/me/orders", strings.NewReader(`{"address_id":7}`))
	req.Header.Set("Idempotency-Key", "8d7f0c1e")
	req.Header.Set("Cq-User-Id", "42")
	req.Header.Set("Cq-User-Role", "customer")
	resp, err := c.Do(context.Background(), req)
	var ue *tunnel.UnavailableError
	switch {
	case errors.As(err, &ue):
		retryAfter := int(math.Ceil(ue.RetryAfter.Seconds()))
		fmt.Printf("answer %d, Retry-After: %d\n", ue.Status, retryAfter)
	case err != nil:
		fmt.Println("the user went away:", err)
	default:
		defer resp.Body.Close()
		fmt.Println("the core answered", resp.Status)
	}
}
