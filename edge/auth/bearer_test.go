package auth

import (
	"bytes"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"  Bearer   abc-_~+/==  ", "abc-_~+/==", true},
		{"Bearer\tabc", "", false},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearerabc", "", false},
		{"Bearer a b", "", false},
		{"Bearer a=b", "", false},
		{"Bearer ===", "", false},
		{"Bearer a\"b", "", false},
		{"Bearex abc", "", false},
	}
	for _, tt := range tests {
		tok, ok := BearerToken([]byte(tt.header))
		if ok != tt.ok || string(tok) != tt.token {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, tok, ok, tt.token, tt.ok)
		}
	}
	h := []byte("Bearer abc")
	if a := testing.AllocsPerRun(100, func() { BearerToken(h) }); a != 0 {
		t.Fatalf("BearerToken allocates %v times", a)
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer x==", "Basic abc", "Bearer a b", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		tok, ok := BearerToken(header)
		if !ok {
			if tok != nil {
				t.Fatalf("token %q with ok=false", tok)
			}
			return
		}
		if len(tok) == 0 || !bytes.Contains(header, tok) || !isToken68(tok) {
			t.Fatalf("BearerToken(%q) = %q", header, tok)
		}
		// What it accepts, it accepts again in canonical form.
		again, ok := BearerToken(append([]byte("Bearer "), tok...))
		if !ok || !bytes.Equal(again, tok) {
			t.Fatalf("canonical form of %q not accepted", tok)
		}
	})
}
