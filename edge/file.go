package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/core/certs"
	"github.com/cangqiong/cangqiong/edge/auth"
	"github.com/cangqiong/cangqiong/edge/cache"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/edge/limit"
	"github.com/cangqiong/cangqiong/edge/origin"
	"github.com/cangqiong/cangqiong/edge/tunnel"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// EnvAdminToken overrides the admin token file.
const EnvAdminToken = "CQ_EDGE_ADMIN_TOKEN"

// File is the JSON config file of `cangqiong edge --config FILE`. Relative
// paths are relative to the file's directory. Every field but the origin
// has a default.
type File struct {
	Region         string `json:"region"`
	ID             string `json:"id"`
	Listen         string `json:"listen,omitempty"`       // default 127.0.0.1:8080
	AdminListen    string `json:"admin_listen,omitempty"` // default 127.0.0.1:8081
	AdminTokenFile string `json:"admin_token_file,omitempty"`
	PIDFile        string `json:"pid_file,omitempty"`

	Origin OriginFile  `json:"origin"`
	Redis  *RedisFile  `json:"redis,omitempty"`
	Cache  CacheFile   `json:"cache,omitempty"`
	Auth   *AuthFile   `json:"auth,omitempty"`
	Limits LimitsFile  `json:"limits,omitempty"`
	Routes []RouteFile `json:"routes,omitempty"`
	// Default applies to requests no route matches (default: optional
	// auth, the origin's caching headers, stale-if-error 5 min).
	Default *RouteFile `json:"default_route,omitempty"`
	// CookieSecure marks the version cookie Secure.
	CookieSecure bool `json:"cookie_secure,omitempty"`
	// Changes, even empty ({}), subscribes a tunnel-origin edge to the
	// core's change stream (ChangesFile).
	Changes *ChangesFile `json:"changes,omitempty"`
}

// OriginFile names exactly one origin.
type OriginFile struct {
	HTTP   string      `json:"http,omitempty"` // base URL of a plain HTTP origin
	Tunnel *TunnelFile `json:"tunnel,omitempty"`
}

// TunnelFile is the core as origin: seed core tunnel addresses and the
// directory with ca.crt and this edge's certificate (certs issue --kind
// edge --region <region> --id <id>).
type TunnelFile struct {
	Seeds    []string `json:"seeds"`
	CertsDir string   `json:"certs_dir"`
}

// RedisFile is the region's Redis (or Redis Cluster: several addresses
// and cluster true).
type RedisFile struct {
	Addrs   []string `json:"addrs"`
	Cluster bool     `json:"cluster,omitempty"`
}

// CacheFile sizes L1 and compression.
type CacheFile struct {
	L1Bytes          int64 `json:"l1_bytes,omitempty"`           // default 256 MiB
	CompressMinBytes int   `json:"compress_min_bytes,omitempty"` // default 256
}

// AuthFile configures JWT verification (see auth.ParseKey for key formats).
type AuthFile struct {
	Issuer   string    `json:"issuer,omitempty"`
	Audience string    `json:"audience,omitempty"`
	Leeway   string    `json:"leeway,omitempty"` // default 30s
	Keys     []KeyFile `json:"keys"`
}

// KeyFile is one verification key.
type KeyFile struct {
	KID string `json:"kid"`
	Alg string `json:"alg"` // EdDSA or HS256
	Key string `json:"key"` // EdDSA: PEM or base64 public key; HS256: base64 secret
}

// LimitsFile sets the token buckets (rate 0: off) and request limits.
type LimitsFile struct {
	PerIP          *BucketFile `json:"per_ip,omitempty"`
	PerUser        *BucketFile `json:"per_user,omitempty"`
	MaxURLBytes    int         `json:"max_url_bytes,omitempty"`
	MaxHeaderBytes int         `json:"max_header_bytes,omitempty"`
	MaxBodyBytes   int         `json:"max_body_bytes,omitempty"`
	RequestTimeout string      `json:"request_timeout,omitempty"`
}

// BucketFile is a token bucket: rate per second and burst.
type BucketFile struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
}

// RouteFile is one policy route.
type RouteFile struct {
	Match string `json:"match"` // "GET /api/v1/shops/{shop}/menu", "* /api/v1/me/**"
	Auth  string `json:"auth,omitempty"`
	// TTL, SWR and SIE fill in what the origin did not say, or replace it
	// when the matching *_override is true.
	TTL                 string   `json:"ttl,omitempty"`
	TTLOverride         bool     `json:"ttl_override,omitempty"`
	SWR                 string   `json:"stale_while_revalidate,omitempty"`
	SWROverride         bool     `json:"stale_while_revalidate_override,omitempty"`
	SIE                 string   `json:"stale_if_error,omitempty"`
	SIEOverride         bool     `json:"stale_if_error_override,omitempty"`
	KeepForRevalidation string   `json:"keep_for_revalidation,omitempty"`
	SurrogateKeys       []string `json:"surrogate_keys,omitempty"`
	PerUser             bool     `json:"per_user,omitempty"`
	Bypass              bool     `json:"bypass,omitempty"`
	RequestDirectives   bool     `json:"request_directives,omitempty"`
}

// Loaded is a config file made into a Config, plus what the command that
// runs the edge needs around it. Close releases what LoadConfig opened.
type Loaded struct {
	Config
	Listen, AdminListen, PIDFile string
	tunnel                       *tunnel.Client
	redis                        redis.UniversalClient
}

// Close stops the tunnel client and the Redis client.
func (l *Loaded) Close() {
	if l.tunnel != nil {
		l.tunnel.Close()
	}
	if l.redis != nil {
		l.redis.Close()
	}
	if l.Auth != nil {
		l.Auth.Close()
	}
}

// LoadConfig reads a config file strictly, opens the origin, Redis and the
// JWT verifier, and returns the edge's Config.
func LoadConfig(ctx context.Context, path string, getenv func(string) string) (*Loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	l, err := f.load(ctx, filepath.Dir(path), getenv)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func (f *File) load(ctx context.Context, dir string, getenv func(string) string) (*Loaded, error) {
	l := &Loaded{Config: DefaultConfig(), Listen: or(f.Listen, "127.0.0.1:8080"), AdminListen: or(f.AdminListen, "127.0.0.1:8081"), PIDFile: rel(dir, f.PIDFile)}
	c := &l.Config
	c.Region, c.ID, c.CookieSecure = f.Region, f.ID, f.CookieSecure
	if err := f.origin(ctx, dir, l); err != nil {
		return l, err
	}
	if err := f.changesConfig(l); err != nil {
		return l, err
	}
	if f.Redis != nil {
		opts := cache.RedisOptions(f.Redis.Addrs...)
		opts.IsClusterMode = f.Redis.Cluster
		l.redis = redis.NewUniversalClient(opts)
		c.Cache.Redis = l.redis
	}
	if f.Cache.L1Bytes > 0 {
		c.Cache.L1MaxBytes = f.Cache.L1Bytes
	}
	c.Store.CompressMin = f.Cache.CompressMinBytes
	if err := f.auth(c); err != nil {
		return l, err
	}
	if err := f.limits(c); err != nil {
		return l, err
	}
	if err := f.routes(c); err != nil {
		return l, err
	}
	token := getenv(EnvAdminToken)
	if token == "" && f.AdminTokenFile != "" {
		b, err := os.ReadFile(rel(dir, f.AdminTokenFile))
		if err != nil {
			return l, fmt.Errorf("%w: admin token: %v", ErrConfig, err)
		}
		token = strings.TrimSpace(string(b))
	}
	c.AdminToken = token
	return l, nil
}

func (f *File) origin(ctx context.Context, dir string, l *Loaded) error {
	switch o := f.Origin; {
	case o.HTTP != "" && o.Tunnel == nil:
		h, err := origin.NewHTTP(o.HTTP)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		l.Origin = h
		return nil
	case o.HTTP == "" && o.Tunnel != nil:
		return f.tunnelOrigin(ctx, rel(dir, o.Tunnel.CertsDir), o.Tunnel.Seeds, l)
	}
	return fmt.Errorf("%w: origin: name exactly one of \"http\" and \"tunnel\"", ErrConfig)
}

func (f *File) tunnelOrigin(ctx context.Context, certsDir string, seeds []string, l *Loaded) error {
	ca, err := certs.LoadCACert(certsDir)
	if err != nil {
		return fmt.Errorf("%w: tunnel CA: %v", ErrConfig, err)
	}
	leaf, err := certs.LoadLeaf(certsDir, certs.Peer{Kind: certs.Edge, Region: f.Region, ID: f.ID})
	if err != nil {
		return fmt.Errorf("%w: the edge's certificate (cangqiong certs issue --kind edge --region %s --id %s): %v", ErrConfig, f.Region, f.ID, err)
	}
	tc, err := tunnel.New(tunnel.Config{Seeds: seeds, TLS: certs.ClientTLS(certs.Pool(ca), leaf)})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	l.tunnel = tc
	if err := tc.Start(ctx); err != nil {
		return err
	}
	l.Origin, l.Tunnel = origin.NewTunnel(tc), true
	return nil
}

func (f *File) auth(c *Config) error {
	if f.Auth == nil {
		return nil
	}
	ac := auth.DefaultConfig()
	ac.Issuer, ac.Audience = f.Auth.Issuer, f.Auth.Audience
	if f.Auth.Leeway != "" {
		d, err := time.ParseDuration(f.Auth.Leeway)
		if err != nil {
			return fmt.Errorf("%w: auth leeway %q", ErrConfig, f.Auth.Leeway)
		}
		ac.Leeway = d
	}
	for _, k := range f.Auth.Keys {
		key, err := auth.ParseKey(k.KID, k.Alg, k.Key)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
		ac.Keys = append(ac.Keys, key)
	}
	v, err := auth.New(ac)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.Auth = v
	return nil
}

func (f *File) limits(c *Config) error {
	lf := f.Limits
	for _, b := range []struct {
		in  *BucketFile
		out *limit.Config
	}{{lf.PerIP, &c.PerIP}, {lf.PerUser, &c.PerUser}} {
		if b.in != nil && b.in.Rate > 0 {
			*b.out = limit.Config{Rate: rate.Limit(b.in.Rate), Burst: max(b.in.Burst, 1)}
		}
	}
	c.MaxURLBytes, c.MaxHeaderBytes, c.MaxBodyBytes = lf.MaxURLBytes, lf.MaxHeaderBytes, lf.MaxBodyBytes
	if lf.RequestTimeout != "" {
		d, err := time.ParseDuration(lf.RequestTimeout)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: request_timeout %q", ErrConfig, lf.RequestTimeout)
		}
		c.RequestTimeout = d
	}
	return nil
}

func (f *File) routes(c *Config) error {
	for _, rf := range f.Routes {
		r, err := rf.route()
		if err != nil {
			return err
		}
		c.Routes = append(c.Routes, r)
	}
	if f.Default != nil {
		r, err := f.Default.route()
		if err != nil {
			return err
		}
		r.Pattern = "* /**"
		c.Default = r
	}
	return nil
}

func (rf RouteFile) route() (Route, error) {
	p := httpcache.DefaultPolicy()
	p.SurrogateKeys, p.PerUser, p.Bypass, p.RequestDirectives = rf.SurrogateKeys, rf.PerUser, rf.Bypass, rf.RequestDirectives
	for _, s := range []struct {
		text     string
		override bool
		dst      *httpcache.Setting
	}{{rf.TTL, rf.TTLOverride, &p.TTL}, {rf.SWR, rf.SWROverride, &p.StaleWhileRevalidate}, {rf.SIE, rf.SIEOverride, &p.StaleIfError}} {
		if s.text == "" {
			continue
		}
		d, err := time.ParseDuration(s.text)
		if err != nil || d < 0 {
			return Route{}, fmt.Errorf("%w: route %q: duration %q", ErrConfig, rf.Match, s.text)
		}
		*s.dst = httpcache.Setting{Value: d, Override: s.override}
	}
	if rf.KeepForRevalidation != "" {
		d, err := time.ParseDuration(rf.KeepForRevalidation)
		if err != nil || d < 0 {
			return Route{}, fmt.Errorf("%w: route %q: keep_for_revalidation %q", ErrConfig, rf.Match, rf.KeepForRevalidation)
		}
		p.KeepForRevalidation = d
	}
	return Route{Pattern: rf.Match, Auth: AuthMode(rf.Auth), Policy: p}, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func rel(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
