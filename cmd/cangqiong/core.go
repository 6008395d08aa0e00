package main

import (
	"context"
	"fmt"
	"time"

	"github.com/cangqiong/cangqiong/core"
)

func init() {
	register("core", "Run a core node: the tunnel server for edges, the takeout API, gossip of the shard map and the admin API.", &coreCmd{})
}

type coreCmd struct {
	Config       string        `required:"" type:"existingfile" placeholder:"FILE" help:"JSON config file (see core.File). Secrets come from CQ_DB_PASSWORD, CQ_ADMIN_TOKEN and CQ_GOSSIP_KEY or the files it names."`
	DrainTimeout time.Duration `name:"drain-timeout" default:"30s" help:"On SIGTERM/SIGINT, how long in-flight requests may take to finish."`
}

func (c *coreCmd) Run(e *env) error {
	cfg, err := core.LoadConfig(c.Config, e.getenv)
	if err != nil {
		return err
	}
	cfg.Logger = e.logger
	node, err := core.New(cfg)
	if err != nil {
		return err
	}
	if err := node.Start(e.ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "core %s: tunnel %s, admin %s, gossip %s, shard map epoch %d\n", cfg.NodeName, node.TunnelAddr(), node.AdminAddr(), node.GossipAddr(), node.Epoch())
	var serveErr error
	select {
	case <-e.ctx.Done():
	case serveErr = <-node.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
	defer cancel()
	fmt.Fprintf(e.stdout, "core %s: draining\n", cfg.NodeName)
	if err := node.Shutdown(ctx); err != nil {
		return err
	}
	return serveErr
}
