package tunnel

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkTinyRequest: one small GET with an edge's identity over a warm
// HTTP/2 mTLS connection, client and server in this process.
func BenchmarkTinyRequest(b *testing.B) {
	p := getPKI(b)
	ts := start(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), nil)
	c := client(b, p.edge)
	req, err := http.NewRequest(http.MethodGet, ts.url+"/tiny", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set(HeaderUserID, "42")
	req.Header.Set(HeaderUserRole, "customer")
	get := func() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			b.Fatalf("%s %s", resp.Proto, resp.Status)
		}
	}
	get() // the handshake
	b.ReportAllocs()
	for b.Loop() {
		get()
	}
}
