package core

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Environment variables that carry secrets; they override the files named
// in the config file. Secrets never live in the config file itself.
const (
	EnvDBPassword = "CQ_DB_PASSWORD"
	EnvAdminToken = "CQ_ADMIN_TOKEN"
	EnvGossipKey  = "CQ_GOSSIP_KEY" // base64
)

// File is the JSON config file of `cangqiong core --config FILE`. Relative
// paths are relative to the file's directory.
type File struct {
	NodeName string            `json:"node_name"`
	NodeID   *uint16           `json:"node_id"`
	Region   string            `json:"region"`
	Global   shardmap.Keyspace `json:"global"`
	DBUser   string            `json:"db_user,omitempty"`
	// CertsDir holds ca.crt and the node's core certificate and key, as
	// `cangqiong certs` writes them.
	CertsDir       string `json:"certs_dir"`
	TunnelListen   string `json:"tunnel_listen,omitempty"`
	AdminListen    string `json:"admin_listen,omitempty"`
	AdminTokenFile string `json:"admin_token_file,omitempty"`
	GossipListen   string `json:"gossip_listen,omitempty"`
	// The addresses other machines dial, when not the listen addresses
	// (Config.TunnelAdvertise and its siblings).
	TunnelAdvertise string   `json:"tunnel_advertise,omitempty"`
	AdminAdvertise  string   `json:"admin_advertise,omitempty"`
	GossipAdvertise string   `json:"gossip_advertise,omitempty"`
	GossipKeyFile   string   `json:"gossip_key_file,omitempty"`
	Seeds           []string `json:"seeds,omitempty"`
	GossipProfile   string   `json:"gossip_profile,omitempty"`
	MaxBodyBytes    int64    `json:"max_body_bytes,omitempty"`
	RequestTimeout  string   `json:"request_timeout,omitempty"`
	ReloadInterval  string   `json:"reload_interval,omitempty"`
	// IdempotencyRetention is a duration like "720h", or "forever" (the
	// default);
	// HousekeepingInterval a duration (Config's fields of those names).
	IdempotencyRetention string `json:"idempotency_retention,omitempty"`
	HousekeepingInterval string `json:"housekeeping_interval,omitempty"`
	// Reshard tunes resharding workflows (ReshardConfig): durations like
	// "6s", all optional.
	Reshard *ReshardFile `json:"reshard,omitempty"`
}

// ReshardFile is the "reshard" section of the config file.
type ReshardFile struct {
	LeaseTTL      string  `json:"lease_ttl,omitempty"`
	PollInterval  string  `json:"poll_interval,omitempty"`
	CutoverWait   string  `json:"cutover_wait,omitempty"`
	CutoverBudget string  `json:"cutover_budget,omitempty"`
	Grace         string  `json:"grace,omitempty"`
	ReadBatch     int     `json:"read_batch,omitempty"`
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
}

func (r *ReshardFile) config() (ReshardConfig, error) {
	var c ReshardConfig
	if r == nil {
		return c, nil
	}
	if r.ReadBatch < 0 || r.RowsPerSecond < 0 {
		return c, fmt.Errorf("%w: reshard read_batch and rows_per_second must not be negative", ErrConfig)
	}
	c.ReadBatch, c.RowsPerSecond = r.ReadBatch, r.RowsPerSecond
	for _, d := range []struct {
		dst        *time.Duration
		name, text string
	}{{&c.LeaseTTL, "reshard.lease_ttl", r.LeaseTTL}, {&c.PollInterval, "reshard.poll_interval", r.PollInterval},
		{&c.CutoverWait, "reshard.cutover_wait", r.CutoverWait}, {&c.CutoverBudget, "reshard.cutover_budget", r.CutoverBudget},
		{&c.Grace, "reshard.grace", r.Grace}} {
		var err error
		if *d.dst, err = duration(d.name, d.text); err != nil {
			return c, err
		}
	}
	return c, nil
}

// LoadConfig reads a config file (strictly: unknown fields are errors) and
// the secrets it points to, and returns the Node's Config.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	cfg, err := f.config(filepath.Dir(path), getenv)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func (f File) config(dir string, getenv func(string) string) (Config, error) {
	if f.NodeID == nil {
		return Config{}, fmt.Errorf("%w: node_id is required (unique per live core node)", ErrConfig)
	}
	cfg := DefaultConfig()
	cfg.NodeName, cfg.NodeID, cfg.Region, cfg.Global = f.NodeName, *f.NodeID, f.Region, f.Global
	cfg.Credentials = dbconn.Credentials{User: f.DBUser, Password: getenv(EnvDBPassword)}
	cfg.Seeds, cfg.GossipProfile, cfg.MaxBodyBytes = f.Seeds, f.GossipProfile, f.MaxBodyBytes
	cfg.TunnelAdvertise, cfg.AdminAdvertise, cfg.GossipAdvertise = f.TunnelAdvertise, f.AdminAdvertise, f.GossipAdvertise
	for _, l := range []struct {
		dst *string
		src string
	}{{&cfg.TunnelListen, f.TunnelListen}, {&cfg.AdminListen, f.AdminListen}, {&cfg.GossipListen, f.GossipListen}} {
		if l.src != "" {
			*l.dst = l.src
		}
	}
	var err error
	if cfg.RequestTimeout, err = duration("request_timeout", f.RequestTimeout); err != nil {
		return cfg, err
	}
	if cfg.ReloadInterval, err = duration("reload_interval", f.ReloadInterval); err != nil {
		return cfg, err
	}
	if f.IdempotencyRetention == "forever" {
		cfg.IdempotencyRetention = 0
	} else if cfg.IdempotencyRetention, err = duration("idempotency_retention", f.IdempotencyRetention); err != nil {
		return cfg, err
	}
	if cfg.HousekeepingInterval, err = duration("housekeeping_interval", f.HousekeepingInterval); err != nil {
		return cfg, err
	}
	if cfg.Reshard, err = f.Reshard.config(); err != nil {
		return cfg, err
	}
	if cfg.AdminToken, err = secret(getenv(EnvAdminToken), rel(dir, f.AdminTokenFile), "admin token"); err != nil {
		return cfg, err
	}
	key, err := secret(getenv(EnvGossipKey), rel(dir, f.GossipKeyFile), "gossip key")
	if err != nil {
		return cfg, err
	}
	if cfg.GossipKey, err = decodeKey(key); err != nil {
		return cfg, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	cfg.TunnelTLS, err = tunnelTLS(rel(dir, f.CertsDir), certs.Peer{Kind: certs.Core, Region: f.Region, ID: f.NodeName})
	return cfg, err
}

func rel(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func duration(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: %s %q is not a duration like \"10s\"", ErrConfig, name, s)
	}
	return d, nil
}

// secret takes the environment's value, else the file's.
func secret(env, file, what string) (string, error) {
	if env != "" {
		return env, nil
	}
	if file == "" {
		return "", fmt.Errorf("%w: no %s: set the environment variable or name a file", ErrConfig, what)
	}
	s, err := readSecret(file)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrConfig, what, err)
	}
	return s, nil
}

// tunnelTLS loads the node's certificate and the CA from dir.
func tunnelTLS(dir string, self certs.Peer) (*tls.Config, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: certs_dir is required", ErrConfig)
	}
	ca, err := certs.LoadCACert(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: CA certificate: %v", ErrConfig, err)
	}
	leaf, err := certs.LoadLeaf(dir, self)
	if err != nil {
		return nil, fmt.Errorf("%w: the node's certificate (cangqiong certs issue --kind core --region %s --id %s): %v", ErrConfig, self.Region, self.ID, err)
	}
	return certs.ServerTLS(certs.Pool(ca), leaf), nil
}
