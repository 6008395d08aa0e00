package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cangqiong/cangqiong/edge"
	"github.com/cloudflare/tableflip"
)

func init() {
	register("edge", "Run an edge node: the cache in front of the core (or any HTTP origin). SIGHUP upgrades it in place without dropping a connection; SIGTERM drains and exits.", &edgeCmd{})
}

type edgeCmd struct {
	Config       string        `required:"" type:"existingfile" placeholder:"FILE" help:"JSON config file (see edge.File)."`
	DrainTimeout time.Duration `name:"drain-timeout" default:"30s" help:"How long requests in flight may take to finish when the process stops or hands over."`
}

// Run serves until SIGTERM/SIGINT or until an upgraded process, started by
// SIGHUP, is ready and takes over the listening sockets (tableflip); then
// it drains its connections and exits.
func (c *edgeCmd) Run(e *env) error {
	// The process that started the first edge may stop reading its output
	// once that one hands over; a later edge writing to the closed pipe must
	// not be killed by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	cfg, err := edge.LoadConfig(e.ctx, c.Config, e.getenv)
	if err != nil {
		return err
	}
	defer cfg.Close()
	upg, err := tableflip.New(tableflip.Options{PIDFile: cfg.PIDFile, UpgradeTimeout: time.Minute})
	if err != nil {
		return fmt.Errorf("upgrader: %w", err)
	}
	defer upg.Stop()
	go upgradeOnHUP(e, upg)
	cfg.Logger = e.logger
	srv, err := edge.New(cfg.Config)
	if err != nil {
		return err
	}
	ln, err := upg.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	aln, err := upg.Listen("tcp", cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.AdminListen, err)
	}
	go srv.Serve(ln)
	go srv.ServeAdmin(aln)
	if err := upg.Ready(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "edge %s/%s: serving %s, admin %s, pid %d\n", cfg.Region, cfg.ID, ln.Addr(), aln.Addr(), os.Getpid())
	select {
	case <-upg.Exit():
		fmt.Fprintf(e.stdout, "edge %s/%s: a new process took over; draining\n", cfg.Region, cfg.ID)
	case <-e.ctx.Done():
		fmt.Fprintf(e.stdout, "edge %s/%s: draining\n", cfg.Region, cfg.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
	defer cancel()
	return srv.Shutdown(ctx)
}

// upgradeOnHUP starts the new binary on each SIGHUP; a failed upgrade is
// logged and the current process keeps serving.
func upgradeOnHUP(e *env, upg *tableflip.Upgrader) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for {
		select {
		case <-hup:
			if err := upg.Upgrade(); err != nil {
				e.logger.Error("upgrade failed; still serving", "err", err)
			}
		case <-upg.Exit():
			return
		}
	}
}
