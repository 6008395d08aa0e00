package gossip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStartRefusesBadConfig(t *testing.T) {
	store := &memStore{m: testMap(1)}
	good := Config{NodeName: "n", SecretKey: testKey, Store: store, Profile: ProfileLocal}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no name", func(c *Config) { c.NodeName = "" }, "NodeName"},
		{"no key", func(c *Config) { c.SecretKey = nil }, "SecretKey is required"},
		{"short key", func(c *Config) { c.SecretKey = testKey[:15] }, "15 bytes"},
		{"odd key", func(c *Config) { c.SecretKey = testKey[:20] }, "20 bytes"},
		{"no store", func(c *Config) { c.Store = nil }, "Store"},
		{"negative reload", func(c *Config) { c.ReloadInterval = -time.Second }, "negative"},
		{"bad port", func(c *Config) { c.BindPort = 70000 }, "BindPort"},
		{"bad profile", func(c *Config) { c.Profile = "wan" }, "Profile"},
		{"advertise a name", func(c *Config) { c.AdvertiseAddr = "core-1.internal:7946" }, "want an IP address"},
		{"advertise every address", func(c *Config) { c.AdvertiseAddr = "0.0.0.0:7946" }, "names no host"},
		{"advertise port 0", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:0" }, "bad port"},
		{"advertise no port", func(c *Config) { c.AdvertiseAddr = "10.0.0.1" }, "AdvertiseAddr"},
		{"meta too big", func(c *Config) { c.Region = strings.Repeat("r", 300) }, "Region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			g, err := Start(context.Background(), cfg)
			if err == nil {
				_ = g.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start = %v; want ErrInvalidConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{NodeName: "n", SecretKey: testKey, Store: &memStore{}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BindAddr != DefaultBindAddr || cfg.ReloadInterval != DefaultReloadInterval || cfg.Profile != ProfileLAN || cfg.Logger == nil {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	mc := cfg.memberlistConfig(nil, nil)
	if mc.ProbeInterval != time.Second || mc.GossipInterval != 200*time.Millisecond || !mc.GossipVerifyIncoming {
		t.Errorf("lan profile: probe %v gossip %v verify %v", mc.ProbeInterval, mc.GossipInterval, mc.GossipVerifyIncoming)
	}
	cfg.Profile = ProfileLocal
	if mc := cfg.memberlistConfig(nil, nil); mc.GossipInterval != 100*time.Millisecond {
		t.Errorf("local profile gossips every %v", mc.GossipInterval)
	}
}
