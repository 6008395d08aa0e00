package relay_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/replication/relay"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

func ExampleDefaultConfig() {
	c := relay.DefaultConfig()
	fmt.Println(c.LeaseTTL, c.LeaseGrace, c.PollInterval, c.Heartbeat, c.Retention)
	// Output: 3s 1s 10ms 1s 24h0m0s
}

// A core node makes its relay, mounts its routes on the tunnel (exempt
// from the request timeout) and starts it once the tunnel serves; its
// Shutdown comes before the tunnel's and gossip's.
func Example() {
	var executor *exec.Executor // the node's
	cfg := relay.DefaultConfig()
	cfg.Node, cfg.Exec = "core-0", executor
	cfg.Members = func() []string { return []string{"core-0", "core-1"} } // gossip's alive members
	r, err := relay.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	tc := tunnel.DefaultConfig()
	tc.Handler, tc.Routes = http.NotFoundHandler(), r.Routes()
	// … tunnel.New(tc), Serve …
	if err := r.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer r.Shutdown(context.Background())
}
