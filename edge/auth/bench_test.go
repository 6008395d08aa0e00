package auth

import "testing"

// go test -run '^$' -bench Verify -benchmem ./edge/auth/

func BenchmarkVerifyCached(b *testing.B) {
	v := newVerifier(b, testConfig())
	tok := []byte(edToken(b, claims()))
	if _, err := v.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCachedParallel(b *testing.B) {
	v := newVerifier(b, testConfig())
	tok := []byte(edToken(b, claims()))
	if _, err := v.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchmarkUncached(b *testing.B, tok string) {
	cfg := testConfig()
	cfg.CacheSize = 0
	v := newVerifier(b, cfg)
	t := []byte(tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkUncached(b, edToken(b, claims())) }
func BenchmarkVerifyHS256(b *testing.B) { benchmarkUncached(b, hsToken(b, claims())) }

// BenchmarkVerifyForged is what a token with a bad signature costs: the
// per-IP limit in front of auth bounds how often it is paid.
func BenchmarkVerifyForged(b *testing.B) {
	v := newVerifier(b, testConfig())
	tok := []byte(tamper(edToken(b, claims())))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err == nil {
			b.Fatal("forged token verified")
		}
	}
}
