package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

// refreshLoop asks the core for its nodes every RefreshInterval.
func (c *Client) refreshLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if err := c.refresh(c.ctx); err != nil && c.ctx.Err() == nil {
				c.log.Warn("cannot refresh the core nodes", "err", err)
			}
		}
	}
}

// refresh replaces the node set with the nodes the core names (GET
// /tunnel/v1/nodes, sent like any request) and waits for the new ones'
// first probe. When no node answers, the seeds join the set, so that a
// client whose nodes all moved finds its way back.
func (c *Client) refresh(ctx context.Context) error {
	addrs, infos, err := c.askNodes(ctx)
	if err != nil {
		waitProbed(ctx, c.setNodes(c.cfg.Seeds, make([]nodeInfo, len(c.cfg.Seeds)), true))
		return err
	}
	waitProbed(ctx, c.setNodes(addrs, infos, false))
	return nil
}

func (c *Client) askNodes(ctx context.Context) ([]string, []nodeInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, coretunnel.PathNodes, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("tunnel: %s answered %s", coretunnel.PathNodes, resp.Status)
	}
	var got coretunnel.NodesResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&got); err != nil {
		return nil, nil, fmt.Errorf("tunnel: decoding %s: %w", coretunnel.PathNodes, err)
	}
	var addrs []string
	var infos []nodeInfo
	for _, n := range got.Nodes {
		if host, port, err := net.SplitHostPort(n.TunnelAddr); err != nil || host == "" || port == "" {
			c.log.Warn("the core named a node without a usable tunnel address", "name", n.Name, "tunnel_addr", n.TunnelAddr)
			continue
		}
		addrs = append(addrs, n.TunnelAddr)
		infos = append(infos, nodeInfo{Name: n.Name, Region: n.Region})
	}
	if len(addrs) == 0 {
		return nil, nil, errors.New("tunnel: the core named no node")
	}
	return addrs, infos, nil
}
