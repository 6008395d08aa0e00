package gossip

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/cangqiong/cangqiong/sharding/ring"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// MapStore is what a node needs from the authoritative copy of the map:
// *control.Store (sharding/control) over the global keyspace.
type MapStore interface {
	// Load returns the stored map.
	Load(ctx context.Context) (*shardmap.Map, error)
	// CompareAndSwap stores next if the stored epoch is still expectEpoch.
	CompareAndSwap(ctx context.Context, expectEpoch uint64, next *shardmap.Map) error
}

// Profiles name memberlist's timer presets.
const (
	// ProfileLAN is memberlist.DefaultLANConfig: 1 s probes with a 500 ms
	// timeout, 200 ms gossip to 3 nodes, 30 s push/pull. The default.
	ProfileLAN = "lan"
	// ProfileLocal is memberlist.DefaultLocalConfig, for loopback and
	// tests: 100 ms gossip, 1 s probes, a shorter suspicion
	// (3·max(1, log10 N)·1 s), 15 s dead-node gossip, with changes
	// measured on a busy 2-core machine running race-enabled clusters:
	//   - LAN's retransmit multiplier (4, not 2): with 2 a broadcast
	//     misses about 2% of the nodes (e^-4) and only push/pull repairs
	//     that, so a member's epoch announcement lagged by seconds;
	//   - push/pull every 5 s, not 15 s (anti-entropy is cheap on loopback);
	//   - LAN's 500 ms probe timeout, not 200 ms: a starved process acked
	//     late and healthy nodes were declared dead;
	//   - no compression: it costs CPU and saves only loopback bandwidth.
	ProfileLocal = "local"
)

// Defaults of Config fields left zero.
const (
	DefaultBindAddr       = "127.0.0.1"
	DefaultReloadInterval = 5 * time.Second
)

// ErrInvalidConfig marks a Config that Start refuses.
var ErrInvalidConfig = errors.New("gossip: invalid config")

// Config controls a gossip node. Zero fields take the documented defaults.
type Config struct {
	// NodeName is unique in the cluster, at most 255 bytes. Required. A
	// node restarted under the same name should come back on the same
	// BindAddr:BindPort: memberlist refuses a known name from a new
	// address until it has forgotten the dead node (its
	// GossipToTheDeadTime: 30 s lan, 15 s local).
	NodeName string
	// BindAddr is the address gossip listens (UDP and TCP) and advertises
	// on. "": DefaultBindAddr.
	BindAddr string
	// BindPort 0 picks a free port; LocalAddr reports it.
	BindPort int
	// AdvertiseAddr is the host:port other nodes reach this one's gossip
	// on, when that is not the bound address (NAT, a listener on every
	// address). "": the bound address, or when BindAddr is 0.0.0.0 or ::
	// memberlist's choice, a private address of the machine.
	AdvertiseAddr string
	// SecretKey is the cluster's gossip key: 16, 24 or 32 bytes select
	// AES-128, -192 or -256 GCM. Required: a node never gossips in clear,
	// and nodes with different keys cannot talk, let alone merge.
	SecretKey []byte
	// Seeds are host:port gossip addresses of nodes to join. Empty starts a
	// new cluster. With seeds, Start fails if none of them answers.
	Seeds []string
	// Region, TunnelAddr and AdminAddr travel in the node's metadata (see
	// Member); together they must fit memberlist.MetaMaxSize.
	Region     string
	TunnelAddr string
	AdminAddr  string
	// Store holds the authoritative map. Required.
	Store MapStore
	// ReloadInterval is how often the node re-reads Store to catch an epoch
	// gossip missed. 0: DefaultReloadInterval.
	ReloadInterval time.Duration
	// RingOptions compile every map; all nodes must agree on them.
	RingOptions ring.Options
	// Profile picks memberlist's timers: ProfileLAN ("", the default) or
	// ProfileLocal.
	Profile string
	// OnChange, if set, is called with each topology the node starts
	// serving: serially, in increasing epoch order, the first map
	// included (possibly before Start returns). The node announces the
	// epoch (in its metadata, and straight to every member: Member.Epoch)
	// only after OnChange returned, so a member announcing epoch e has
	// finished OnChange for e: that is the
	// hook for work the rest of the cluster must be able to rely on (the
	// core drains transactions of older maps there). It must not call
	// Commit or Shutdown; a slow OnChange delays the announcement and the
	// next epoch.
	OnChange func(*shardmap.Topology)
	// Logger; nil: slog.Default(). Records carry component=core.gossip
	// and the node name; memberlist's own lines come through it too.
	Logger *slog.Logger
}

// withDefaults checks c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	if err := c.check(); err != nil {
		return c, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if c.BindAddr == "" {
		c.BindAddr = DefaultBindAddr
	}
	if c.ReloadInterval == 0 {
		c.ReloadInterval = DefaultReloadInterval
	}
	if c.Profile == "" {
		c.Profile = ProfileLAN
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.SecretKey = append([]byte(nil), c.SecretKey...)
	c.Seeds = append([]string(nil), c.Seeds...)
	return c, nil
}

func (c Config) check() error {
	switch {
	case c.NodeName == "":
		return errors.New("NodeName is required")
	case len(c.NodeName) > maxNodeName:
		return fmt.Errorf("NodeName is %d bytes, at most %d", len(c.NodeName), maxNodeName)
	case len(c.SecretKey) == 0:
		return errors.New("SecretKey is required: gossip is always encrypted")
	case len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32:
		return fmt.Errorf("SecretKey is %d bytes, want 16, 24 or 32", len(c.SecretKey))
	case c.Store == nil:
		return errors.New("Store is required")
	case c.ReloadInterval < 0:
		return fmt.Errorf("ReloadInterval %v is negative", c.ReloadInterval)
	case c.BindPort < 0 || c.BindPort > 65535:
		return fmt.Errorf("BindPort %d is out of range", c.BindPort)
	case c.AdvertiseAddr != "" && CheckAdvertise(c.AdvertiseAddr) != nil:
		return fmt.Errorf("AdvertiseAddr: %w", CheckAdvertise(c.AdvertiseAddr))
	case c.Profile != "" && c.Profile != ProfileLAN && c.Profile != ProfileLocal:
		return fmt.Errorf("Profile %q: want %q or %q", c.Profile, ProfileLAN, ProfileLocal)
	}
	return c.meta().check()
}

// meta is the node's metadata, epoch aside.
func (c Config) meta() meta {
	return meta{region: c.Region, tunnelAddr: c.TunnelAddr, adminAddr: c.AdminAddr}
}

// memberlistConfig builds memberlist's configuration for the profile.
func (c Config) memberlistConfig(d memberlist.Delegate, ev memberlist.EventDelegate) *memberlist.Config {
	mc := c.profile()
	mc.Name = c.NodeName
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertisePort = c.BindPort // 0: memberlist uses the port it bound
	if c.AdvertiseAddr != "" {
		host, port, _ := net.SplitHostPort(c.AdvertiseAddr) // checked
		mc.AdvertiseAddr = host
		mc.AdvertisePort, _ = strconv.Atoi(port)
	}
	mc.SecretKey = c.SecretKey
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.Delegate = d
	mc.Events = ev
	mc.Logger = newStdLogger(c.Logger.With("component", "core.gossip.memberlist", "node", c.NodeName))
	return mc
}

// profile returns memberlist's preset for c.Profile.
func (c Config) profile() *memberlist.Config {
	if c.Profile == ProfileLocal {
		mc := memberlist.DefaultLocalConfig()
		lan := memberlist.DefaultLANConfig()
		mc.RetransmitMult = lan.RetransmitMult
		mc.PushPullInterval = 5 * time.Second
		mc.ProbeTimeout = lan.ProbeTimeout
		mc.EnableCompression = false
		return mc
	}
	return memberlist.DefaultLANConfig()
}

func newStdLogger(l *slog.Logger) *log.Logger { return log.New(logWriter{l}, "", 0) }

// CheckAdvertise says why addr cannot be Config.AdvertiseAddr: it must be
// an IP address (memberlist does not resolve names) and a port, and name
// one host.
func CheckAdvertise(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	switch p, err := strconv.Atoi(port); {
	case ip == nil:
		return fmt.Errorf("%q: want an IP address", addr)
	case ip.IsUnspecified():
		return fmt.Errorf("%q names no host", addr)
	case err != nil || p < 1 || p > 65535:
		return fmt.Errorf("%q: bad port", addr)
	}
	return nil
}
