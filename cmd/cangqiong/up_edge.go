package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/cangqiong/cangqiong/core"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/edge"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/changes"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/origin"
	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/cangqiong/cangqiong/internal/redisserver"
	"github.com/redis/go-redis/v9"
)

// upRegions are the local deployment's edge regions, one edge and one
// Redis each.
var upRegions = []string{"eu", "us"}

// upEdge is one running edge and what it holds.
type upEdge struct {
	region      string
	srv         *edge.Server
	redis       *redisserver.Server
	rc          redis.UniversalClient
	tc          *tunnel.Client
	auth        *auth.Verifier
	addr, admin string
}

// TakeoutRoutes is the edge policy for the takeout API: a signed-in user's
// own reads are cached for that user for a minute (read-your-writes keeps
// them honest); everything else follows the core's caching headers.
func takeoutRoutes() []edge.Route {
	me := httpcache.DefaultPolicy()
	me.PerUser = true
	me.TTL = httpcache.Setting{Value: time.Minute}
	return []edge.Route{{Pattern: "* /api/v1/me/**", Auth: edge.AuthRequired, Policy: me}}
}

// startEdges starts, per region, a Redis and an edge whose tunnels reach
// the core nodes. On error it returns those already started.
func (c *upCmd) startEdges(e *env, pki *upPKI, nodes []*core.Node) ([]*upEdge, error) {
	var seeds []string
	for _, n := range nodes {
		seeds = append(seeds, n.TunnelAddr())
	}
	secret, err := secretFile(filepath.Join(pki.dir, "jwt.key"), 32)
	if err != nil {
		return nil, err
	}
	key, err := auth.ParseKey("local-1", auth.AlgHS256, secret)
	if err != nil {
		return nil, err
	}
	var edges []*upEdge
	for i, region := range upRegions {
		ue := &upEdge{region: region}
		edges = append(edges, ue)
		if err := c.startEdge(e, pki, ue, i, seeds, key); err != nil {
			return edges, fmt.Errorf("edge %s: %w", region, err)
		}
		fmt.Fprintf(e.stdout, "up: edge %-10s %s (admin %s, Redis %s)\n", region, ue.addr, ue.admin, ue.redis.Addr())
	}
	return edges, nil
}

func (c *upCmd) startEdge(e *env, pki *upPKI, ue *upEdge, i int, seeds []string, key auth.Key) error {
	var err error
	if ue.redis, err = redisserver.Start(e.ctx, redisserver.Options{Dir: filepath.Join(c.StateDir, "redis", ue.region), Port: c.port(2020, i), Logger: e.logger}); err != nil {
		return err
	}
	ue.rc = redis.NewUniversalClient(cache.RedisOptions(ue.redis.Addr()))
	leaf, err := pki.leaf(certs.Peer{Kind: certs.Edge, Region: ue.region, ID: "edge-" + ue.region})
	if err != nil {
		return err
	}
	if ue.tc, err = tunnel.New(tunnel.Config{Seeds: seeds, TLS: certs.ClientTLS(pki.ca.Pool(), leaf), Logger: e.logger}); err != nil {
		return err
	}
	if err := ue.tc.Start(e.ctx); err != nil {
		return err
	}
	ac := auth.DefaultConfig()
	ac.Keys, ac.Issuer, ac.Audience = []auth.Key{key}, "cangqiong-local", "cangqiong"
	if ue.auth, err = auth.New(ac); err != nil {
		return err
	}
	cfg := edge.DefaultConfig()
	cfg.Region, cfg.ID, cfg.Origin, cfg.Tunnel, cfg.Auth = ue.region, "edge-"+ue.region, origin.NewTunnel(ue.tc), true, ue.auth
	cfg.Cache.Redis, cfg.Routes, cfg.AdminToken, cfg.Logger = ue.rc, takeoutRoutes(), pki.token, e.logger
	cfg.Changes = &edge.ChangesConfig{Core: changes.NewTunnel(ue.tc)} // the core's writes purge the caches
	if ue.srv, err = edge.New(cfg); err != nil {
		return err
	}
	return ue.listen(c.port(2000, i), c.port(2010, i))
}

func (ue *upEdge) listen(port, adminPort int) error {
	ln, err := net.Listen("tcp", loopback(port))
	if err != nil {
		return err
	}
	al, err := net.Listen("tcp", loopback(adminPort))
	if err != nil {
		ln.Close()
		return err
	}
	ue.addr, ue.admin = ln.Addr().String(), al.Addr().String()
	go ue.srv.Serve(ln)
	go ue.srv.ServeAdmin(al)
	return nil
}

// port is base+offset+i, or 0 (a free port) when the base is 0.
func (c *upCmd) port(offset, i int) int {
	if c.BasePort == 0 {
		return 0
	}
	return c.BasePort + offset + i
}

func stopEdges(e *env, edges []*upEdge) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ue := range edges {
		if ue.srv != nil {
			ue.srv.Shutdown(ctx)
		}
		if ue.tc != nil {
			ue.tc.Close()
		}
		if ue.auth != nil {
			ue.auth.Close()
		}
		if ue.rc != nil {
			ue.rc.Close()
		}
		if ue.redis != nil {
			if err := ue.redis.Stop(ctx); err != nil {
				fmt.Fprintf(e.stderr, "up: stopping Redis of %s: %v\n", ue.region, err)
			}
		}
	}
}
