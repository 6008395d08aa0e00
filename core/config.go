package core

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/core/gossip"
	"github.com/cangqiong/cangqiong/core/tunnel"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/ids"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Config controls a Node. Start from DefaultConfig.
type Config struct {
	// NodeName names the node in the cluster and in its certificate
	// (spiffe://cangqiong/core/<Region>/<NodeName>). Required.
	NodeName string
	// Region is where the node runs. Required.
	Region string
	// NodeID numbers the node's app-generated ids (0–ids.MaxNode); it must
	// be unique among live core nodes. Required.
	NodeID uint16
	// Global is the global keyspace, where the control tables hold the
	// authoritative shard map. Required.
	Global shardmap.Keyspace
	// Credentials for the global keyspace and every shard.
	Credentials dbconn.Credentials
	// Pool sizes each shard's connection pool (dbconn defaults).
	Pool dbconn.Pool

	// TunnelListen is where edges connect (host:port; port 0 picks one).
	// Default "127.0.0.1:7443".
	TunnelListen string
	// TunnelAdvertise is the host:port edges are told to dial for this
	// node (a name or an address of one host). "": the tunnel listener's
	// address, which must then name one host: a node listening on every
	// address (0.0.0.0, ::) refuses to start without it.
	TunnelAdvertise string
	// TunnelTLS is the server side of mTLS: the node's core certificate and
	// the CA edges' certificates chain to (certs.ServerTLS). Required.
	TunnelTLS *tls.Config
	// MaxBodyBytes and RequestTimeout bound each tunnel request
	// (tunnel defaults: 1 MiB, 10 s).
	MaxBodyBytes   int64
	RequestTimeout time.Duration

	// AdminListen is the admin API's own listener. Default "127.0.0.1:7444".
	AdminListen string
	// AdminAdvertise is the admin address the node gives the cluster
	// (GET /admin/v1/members), as TunnelAdvertise is the tunnel's.
	AdminAdvertise string
	// AdminToken is the admin API's bearer token (≥ 16 bytes). Required.
	AdminToken string

	// GossipListen is memberlist's address (port 0 picks one). Default
	// "127.0.0.1:7946".
	GossipListen string
	// GossipAdvertise is the IP:port other nodes reach gossip on, when
	// that is not GossipListen (NAT). "": GossipListen, or when it listens
	// on every address memberlist's choice of a private address.
	GossipAdvertise string
	// GossipKey is the cluster's gossip encryption key (16, 24 or 32
	// bytes). Required.
	GossipKey []byte
	// Seeds are gossip addresses of nodes to join; empty starts a cluster.
	Seeds []string
	// GossipProfile is gossip.ProfileLAN (default) or gossip.ProfileLocal
	// (short timers, for tests on one machine).
	GossipProfile string
	// ReloadInterval re-reads the control tables (gossip default 5 s).
	ReloadInterval time.Duration
	// DrainTimeout bounds how long the node, once it switched to a new
	// shard map, waits for the transactions it began under older maps to
	// end before it announces the new epoch: a reshard's cutover relies on
	// the announcement meaning that none of them can still write. When it
	// passes the node logs a warning and announces anyway.
	// 0: DefaultDrainTimeout (5 s).
	DrainTimeout time.Duration

	// IdempotencyRetention, when positive, is how long an Idempotency-Key
	// and its stored answer are kept: a request repeated with the key
	// within it gets the first answer, later it is a new request. Every
	// HousekeepingInterval the node deletes older keys on every shard,
	// except while a reshard runs. 0 (the default) keeps keys for ever, as
	// the design's guarantee reads: a retry never makes a second order.
	IdempotencyRetention time.Duration
	// HousekeepingInterval is how often (±20 %) the node expires keys.
	// 0: DefaultHousekeepingInterval (10 min).
	HousekeepingInterval time.Duration

	// Catalog is the Cache-Control of public catalog reads (app defaults).
	Catalog app.CachePolicy

	// Reshard tunes the resharding workflows the node runs or resumes.
	Reshard ReshardConfig

	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultTunnelListen = "127.0.0.1:7443"
	DefaultAdminListen  = "127.0.0.1:7444"
	DefaultGossipListen = "127.0.0.1:7946"
	DefaultDrainTimeout = 5 * time.Second

	DefaultHousekeepingInterval = 10 * time.Minute
	// MinIdempotencyRetention is the shortest retention accepted.
	MinIdempotencyRetention = time.Hour
)

// DefaultConfig returns a Config with the defaults filled in.
func DefaultConfig() Config {
	return Config{
		TunnelListen: DefaultTunnelListen,
		AdminListen:  DefaultAdminListen,
		GossipListen: DefaultGossipListen,
		DrainTimeout: DefaultDrainTimeout,

		HousekeepingInterval: DefaultHousekeepingInterval,
	}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("core: invalid config")

func (c Config) check() error {
	var problems []string
	need := func(ok bool, what string) {
		if !ok {
			problems = append(problems, what)
		}
	}
	need(c.NodeName != "", "node name is required")
	need(certs.ValidateName("node name", c.NodeName) == nil, "node name must be lower-case letters, digits and '-'")
	need(c.Region != "", "region is required")
	need(c.NodeID <= ids.MaxNode, fmt.Sprintf("node id must be 0–%d", ids.MaxNode))
	need(c.Global.Address != "", "global keyspace address is required")
	need(c.TunnelTLS != nil, "tunnel TLS config is required")
	need(len(c.AdminToken) >= 16, "admin token of at least 16 bytes is required")
	need(len(c.GossipKey) == 16 || len(c.GossipKey) == 24 || len(c.GossipKey) == 32, "gossip key of 16, 24 or 32 bytes is required")
	need(c.IdempotencyRetention <= 0 || c.IdempotencyRetention >= MinIdempotencyRetention,
		fmt.Sprintf("idempotency retention must be at least %v (a client's retries must find their key), or 0 to keep keys", MinIdempotencyRetention))
	for _, a := range []struct{ name, addr string }{{"tunnel advertise", c.TunnelAdvertise}, {"admin advertise", c.AdminAdvertise}} {
		if a.addr != "" {
			if err := checkAdvertise(a.addr); err != nil {
				problems = append(problems, fmt.Sprintf("%s address %v", a.name, err))
			}
		}
	}
	if c.GossipAdvertise != "" {
		if err := gossip.CheckAdvertise(c.GossipAdvertise); err != nil {
			problems = append(problems, fmt.Sprintf("gossip advertise address %v", err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TunnelListen == "" {
		c.TunnelListen = d.TunnelListen
	}
	if c.AdminListen == "" {
		c.AdminListen = d.AdminListen
	}
	if c.GossipListen == "" {
		c.GossipListen = d.GossipListen
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = d.DrainTimeout
	}
	if c.HousekeepingInterval <= 0 {
		c.HousekeepingInterval = d.HousekeepingInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// tunnelConfig is the tunnel server's part of the config.
func (c Config) tunnelConfig() tunnel.Config {
	t := tunnel.DefaultConfig()
	t.TLS = c.TunnelTLS
	if c.MaxBodyBytes > 0 {
		t.MaxBodyBytes = c.MaxBodyBytes
	}
	if c.RequestTimeout > 0 {
		t.RequestTimeout = c.RequestTimeout
	}
	t.Logger = c.Logger
	return t
}

// gossipProfile checks the profile name early, with the other config.
func validProfile(p string) bool {
	return p == "" || p == gossip.ProfileLAN || p == gossip.ProfileLocal
}

// decodeKey reads a base64 gossip key.
func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("gossip key: %d bytes; want 16, 24 or 32 (head -c 32 /dev/urandom | base64)", n)
	}
	return key, nil
}

// readSecret reads a secret from a file that others cannot read.
func readSecret(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// checkAdvertise says why addr cannot be dialed from other machines.
func checkAdvertise(addr string) error {
	host, port, err := splitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %v", addr, err)
	case host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified():
		return fmt.Errorf("%q names no host", addr)
	case port == 0:
		return fmt.Errorf("%q: port 0 cannot be dialed", addr)
	}
	return nil
}

// advertised is the address to give others for a listener: adv when set,
// else the listener's own address when it names one host.
func advertised(ln net.Listener, adv, field string) (string, error) {
	if adv != "" {
		return adv, nil
	}
	addr := ln.Addr().String()
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && (ta.IP == nil || ta.IP.IsUnspecified()) {
		return "", fmt.Errorf("%w: %s listens on every address (%s): set %s to the address other machines dial", ErrConfig, strings.TrimSuffix(field, "_advertise")+"_listen", addr, field)
	}
	return addr, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return host, port, nil
}
