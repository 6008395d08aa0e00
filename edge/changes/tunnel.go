package changes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// Tunnel is the Core an edge reaches through its tunnel client: a
// subscription is a long-lived request to one node (tunnel.Client.Stream),
// an acknowledgement an ordinary request to any (tunnel.Client.Do).
type Tunnel struct {
	c *tunnel.Client
}

var _ Core = (*Tunnel)(nil)

// NewTunnel wraps a tunnel client; the caller starts and closes it.
func NewTunnel(c *tunnel.Client) *Tunnel { return &Tunnel{c: c} }

// StatusError is a core node's answer other than success to a
// subscription or an acknowledgement.
type StatusError struct {
	Node          string // "" for an acknowledgement (any node)
	Status        int
	Code, Message string // the core's JSON error, when it sent one
}

func (e *StatusError) Error() string {
	where := "the core"
	if e.Node != "" {
		where = "core node " + e.Node
	}
	if e.Code != "" {
		return fmt.Sprintf("changes: %s answered %d %s: %s", where, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("changes: %s answered %d %s", where, e.Status, http.StatusText(e.Status))
}

// Nodes are the tunnel's nodes whose circuit breaker is not open: a node
// that answers, ready or not, may hold leases and stream. They are at most
// the tunnel's Config.MaxNodes (8 by default): a bigger cluster's other
// nodes, and the keyspaces they relay, would go unheard, so keep MaxNodes
// at least the number of core nodes.
func (t *Tunnel) Nodes() []string {
	var out []string
	for _, n := range t.c.Nodes() {
		if n.Breaker != "open" {
			out = append(out, n.Addr)
		}
	}
	return out
}

// Subscribe sends GET stream.PathSubscribe to the node at addr.
func (t *Tunnel) Subscribe(ctx context.Context, addr string, sub Subscription) (io.ReadCloser, error) {
	q := url.Values{"region": {sub.Region}, "edge": {sub.Edge}, "from": {sub.From.String()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, stream.PathSubscribe+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := t.c.Stream(ctx, addr, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, statusError(addr, resp)
	}
	return resp.Body, nil
}

// Ack sends POST stream.PathAck to any node.
func (t *Tunnel) Ack(ctx context.Context, ack stream.Ack) error {
	body, err := json.Marshal(ack)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stream.PathAck, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.c.Do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError("", resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

func statusError(node string, resp *http.Response) error {
	e := &StatusError{Node: node, Status: resp.StatusCode}
	var body struct {
		Error struct{ Code, Message string }
	}
	if b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && json.Unmarshal(b, &body) == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	return e
}
