package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

// errNotReady: the node answered its probe, but not 200.
var errNotReady = errors.New("the core node says it does not serve")

// run probes the node every HealthInterval until ctx ends.
func (n *node) run(ctx context.Context) {
	n.probe(ctx)
	close(n.probed)
	t := time.NewTicker(n.c.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.probe(ctx)
		}
	}
}

// probe asks the node whether it serves, through its breaker: an open
// breaker gets no probe until it turns half-open, and then this probe
// decides. A healthy node with a closed breaker gets its missing
// connections.
func (n *node) probe(ctx context.Context) {
	done, err := n.breaker.Allow()
	if err != nil {
		return // open: nothing goes to it, probes included
	}
	pctx, cancel := context.WithTimeout(ctx, n.c.cfg.HealthTimeout)
	answered, err := n.checkHealth(pctx)
	cancel()
	switch {
	case ctx.Err() != nil:
		done(context.Canceled) // the client is closing
		return
	case answered:
		done(nil) // reachable, ready or not
	default:
		done(err)
	}
	ok := err == nil
	was := n.healthy.Swap(ok)
	switch {
	case ok && !was:
		n.log.Info("core node healthy")
	case !ok && (was || !n.everProbed):
		n.log.Warn("core node unhealthy", "err", err)
	}
	n.everProbed = true
	n.setErr(err)
	if ok && n.closed.Load() {
		n.topUp(ctx)
	}
}

// checkHealth sends GET /tunnel/v1/health over one of the node's
// connections (they take turns, which keeps each one in use). answered
// reports whether the node answered at all.
func (n *node) checkHealth(ctx context.Context) (answered bool, err error) {
	cn, err := n.getConn(ctx)
	if err != nil {
		return false, fmt.Errorf("probe: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.addr+coretunnel.PathHealth, nil)
	if err != nil {
		return false, err
	}
	cn.active.Add(1)
	defer cn.active.Add(-1)
	resp, err := cn.cc.RoundTrip(req)
	if err != nil {
		return false, fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, fmt.Errorf("probe: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &e)
		return true, fmt.Errorf("probe: %w: %d %s: %s", errNotReady, resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return true, nil
}
