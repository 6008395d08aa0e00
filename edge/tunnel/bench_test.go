package tunnel

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkTunnelGet: one tiny GET through the client to one core tunnel
// server (the real one, with a handler that answers "ok") over warm
// connections, client and server in this process. Compare with
// core/tunnel's BenchmarkTinyRequest, the same request (reused the same
// way) from net/http's client: the difference is this client's cost.
func BenchmarkTunnelGet(b *testing.B) {
	addr := startServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := newClient(b, getPKI(b).edgeTLS, []string{addr}, func(cfg *Config) { cfg.HealthInterval = time.Hour })
	ctx := context.Background()
	req, err := http.NewRequest(http.MethodGet, "/tiny", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Cq-User-Id", "42")
	req.Header.Set("Cq-User-Role", "customer")
	req.Header.Set("Cq-Request-Id", "bench") // as the edge sets one; Do would make one otherwise
	get := func() {
		resp, err := c.Do(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	get()
	b.ReportAllocs()
	for b.Loop() {
		get()
	}
}
