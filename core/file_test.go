package core

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
)

// configDir writes a CA, the certificate of core-1 and secret files.
func configDir(t *testing.T) string {
	dir := t.TempDir()
	ca, err := certs.NewCA("t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca.Save(dir, false)
	leaf, _ := ca.Issue(certs.IssueRequest{Peer: certs.Peer{Kind: certs.Core, Region: "eu", ID: "core-1"}})
	leaf.Save(dir)
	os.WriteFile(filepath.Join(dir, "token"), []byte("0123456789abcdef0123\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "key"), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o600)
	return dir
}

const goodFile = `{"node_name": "core-1", "node_id": 3, "region": "eu", "global": {"address": "127.0.0.1:3400"},
 "certs_dir": ".", "admin_token_file": "token", "gossip_key_file": "key", "request_timeout": "5s", "seeds": ["127.0.0.1:7946"]}`

func writeConfig(t *testing.T, dir, body string) string {
	p := filepath.Join(dir, "core.json")
	os.WriteFile(p, []byte(body), 0o644)
	return p
}

func TestLoadConfig(t *testing.T) {
	dir := configDir(t)
	env := map[string]string{EnvDBPassword: "pw"}
	cfg, err := LoadConfig(writeConfig(t, dir, goodFile), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeID != 3 || cfg.AdminToken != "0123456789abcdef0123" || len(cfg.GossipKey) != 32 || cfg.RequestTimeout != 5*time.Second ||
		cfg.Credentials.Password != "pw" || cfg.TunnelTLS == nil || cfg.TunnelListen != DefaultTunnelListen {
		t.Fatalf("loaded %+v", cfg)
	}
	if _, err := New(cfg); err != nil {
		t.Fatalf("a loaded config does not make a node: %v", err)
	}
	adv := strings.Replace(goodFile, `"seeds"`, `"tunnel_advertise": "core-1.eu.internal:7443", "admin_advertise": "10.0.0.1:7444", "gossip_advertise": "10.0.0.1:7946", "seeds"`, 1)
	if cfg, err := LoadConfig(writeConfig(t, dir, adv), func(k string) string { return env[k] }); err != nil ||
		cfg.TunnelAdvertise != "core-1.eu.internal:7443" || cfg.AdminAdvertise != "10.0.0.1:7444" || cfg.GossipAdvertise != "10.0.0.1:7946" {
		t.Fatalf("advertise addresses: %v %+v", err, cfg)
	}
	for v, want := range map[string]time.Duration{`"36h"`: 36 * time.Hour, `"forever"`: 0} {
		body := strings.Replace(goodFile, `"seeds"`, `"idempotency_retention": `+v+`, "housekeeping_interval": "1m", "seeds"`, 1)
		if cfg, err := LoadConfig(writeConfig(t, dir, body), func(k string) string { return env[k] }); err != nil ||
			cfg.IdempotencyRetention != want || cfg.HousekeepingInterval != time.Minute {
			t.Fatalf("idempotency_retention %s: %v %v %v", v, err, cfg.IdempotencyRetention, cfg.HousekeepingInterval)
		}
	}
	// The environment overrides the secret files.
	env[EnvAdminToken] = "from-the-environment-0123"
	if cfg, _ = LoadConfig(writeConfig(t, dir, goodFile), func(k string) string { return env[k] }); cfg.AdminToken != "from-the-environment-0123" {
		t.Fatalf("admin token %q, want the environment's", cfg.AdminToken)
	}
}

func TestLoadConfigRefuses(t *testing.T) {
	dir := configDir(t)
	os.WriteFile(filepath.Join(dir, "open-token"), []byte("0123456789abcdef0123"), 0o644)
	for name, c := range map[string]struct{ body, want string }{
		"unknown field":     {strings.Replace(goodFile, `"region"`, `"regoin": "x", "region"`, 1), "unknown field"},
		"no node id":        {strings.Replace(goodFile, `"node_id": 3,`, "", 1), "node_id is required"},
		"readable secret":   {strings.Replace(goodFile, `"token"`, `"open-token"`, 1), "readable by others"},
		"missing secret":    {strings.Replace(goodFile, `"token"`, `"nope"`, 1), "admin token"},
		"bad duration":      {strings.Replace(goodFile, `"5s"`, `"soon"`, 1), "request_timeout"},
		"bad retention":     {strings.Replace(goodFile, `"seeds"`, `"idempotency_retention": "a day", "seeds"`, 1), "idempotency_retention"},
		"no certificate":    {strings.Replace(goodFile, `"core-1"`, `"core-2"`, 1), "certs issue --kind core --region eu --id core-2"},
		"not JSON":          {`{"node_name": `, "core.json"},
		"key not base64":    {strings.Replace(goodFile, `"key"`, `"token"`, 1), "gossip key"},
		"certs_dir missing": {strings.Replace(goodFile, `"certs_dir": ".",`, "", 1), "certs_dir is required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, dir, c.body), func(string) string { return "" })
			if !errors.Is(err, ErrConfig) || !strings.Contains(fmtErr(err), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
