package limit

import (
	"errors"
	"net/netip"
	"testing"
)

func TestRules(t *testing.T) {
	r, err := NewRules(Config{Rate: 1, Burst: 2}, Config{Rate: 1, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2::2") // same /64
	if ok, _ := r.AllowIP(a); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := r.AllowIP(b); !ok {
		t.Fatal("second request refused")
	}
	if ok, retry := r.AllowIP(a); ok || RetryAfterSeconds(retry) != 1 {
		t.Fatalf("third request from the /64: %v, %v", ok, retry)
	}
	if ok, _ := r.AllowUser(42); !ok {
		t.Fatal("user's first request refused")
	}
	if ok, retry := r.AllowUser(42); ok || retry <= 0 {
		t.Fatalf("user's second request: %v, %v", ok, retry)
	}
	if ok, _ := r.AllowUser(43); !ok {
		t.Fatal("another user refused")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestRulesNilLimiterAllows(t *testing.T) {
	var r Rules
	if ok, _ := r.AllowIP(netip.MustParseAddr("192.0.2.1")); !ok {
		t.Fatal("nil IP limiter refused")
	}
	if ok, _ := r.AllowUser(1); !ok {
		t.Fatal("nil user limiter refused")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewRulesBadConfig(t *testing.T) {
	if _, err := NewRules(Config{Rate: 1, Burst: 1}, Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewRules = %v", err)
	}
}
