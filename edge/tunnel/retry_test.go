package tunnel

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/net/http2"
)

func TestMayRetry(t *testing.T) {
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	for _, m := range methods {
		for _, key := range []bool{false, true} {
			for _, p := range []phase{notSent, sent} {
				// The rule, spelled out once more: what never ran may go
				// anywhere; what may have run is repeated only if that is
				// harmless.
				want := p == notSent || m == "GET" || m == "HEAD" || key
				t.Run(fmt.Sprintf("%s key=%v %s", m, key, p), func(t *testing.T) {
					if got := mayRetry(m, key, p); got != want {
						t.Fatalf("mayRetry = %v, want %v", got, want)
					}
				})
			}
		}
	}
	// The cases the design names.
	for _, tc := range []struct {
		method string
		key    bool
		p      phase
		want   bool
	}{
		{"POST", false, sent, false}, // a write lost mid-flight: 502, never repeated
		{"POST", true, sent, true},   // the core deduplicates it
		{"GET", false, sent, true},
		{"POST", false, notSent, true}, // refused before sending: nothing to repeat
		{"DELETE", false, sent, false}, // idempotent in HTTP, but only the key counts here
	} {
		if got := mayRetry(tc.method, tc.key, tc.p); got != tc.want {
			t.Errorf("%s key=%v %s: %v, want %v", tc.method, tc.key, tc.p, got, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		anySent, timedOut bool
		want              int
	}{
		{false, false, 503},
		{true, false, 502},
		{false, true, 504},
		{true, true, 504},
	} {
		if got := status(tc.anySent, tc.timedOut); got != tc.want {
			t.Errorf("status(sent=%v, timedOut=%v) = %d, want %d", tc.anySent, tc.timedOut, got, tc.want)
		}
	}
}

func TestPhaseOf(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name                   string
		err                    error
		wroteHeaders, wroteReq bool
		want                   phase
	}{
		{"headers never written", errors.New("http2: client conn not usable"), false, false, notSent},
		{"the header write failed", &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}, true, false, notSent},
		{"reset after the request", reset, true, true, sent},
		{"the body write failed", &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}, true, true, sent},
		{"EOF after the request", io.ErrUnexpectedEOF, true, true, sent},
		{"refused stream", http2.StreamError{StreamID: 3, Code: http2.ErrCodeRefusedStream}, true, true, notSent},
		{"wrapped refused stream", fmt.Errorf("x: %w", http2.StreamError{StreamID: 3, Code: http2.ErrCodeRefusedStream}), true, true, notSent},
		{"other stream error", http2.StreamError{StreamID: 3, Code: http2.ErrCodeInternal}, true, true, sent},
		{"above the GOAWAY's last stream", fmt.Errorf("rt: %w", errors.New(errGoAwayUnprocessed)), true, true, notSent},
		{"connection closed after GOAWAY", http2.GoAwayError{LastStreamID: 5, ErrCode: http2.ErrCodeNo}, true, true, sent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := phaseOf(tc.err, tc.wroteHeaders, tc.wroteReq); got != tc.want {
				t.Fatalf("phaseOf(%v, %v, %v) = %s, want %s", tc.err, tc.wroteHeaders, tc.wroteReq, got, tc.want)
			}
		})
	}
}

func TestHandshakeErrorNamesRefusals(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		err     error
		inTLS   bool
		refusal bool
	}{
		{"unknown authority", &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}, true, true},
		{"alert from the server", &net.OpError{Op: "remote error", Err: errors.New("tls: unknown certificate authority")}, false, true},
		{"our VerifyConnection", errors.New("certs: server certificate names edge/eu/e1, want a peer of kind [core]"), true, true},
		{"not TLS at all", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true, true},
		{"reset during the handshake", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true, false},
		{"EOF during the PING", io.EOF, false, false},
		{"closed under us", fmt.Errorf("read: %w", net.ErrClosed), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := handshakeError(ctx, "10.0.0.1:7443", tc.err, tc.inTLS)
			if errors.Is(err, ErrHandshake) != tc.refusal || !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "10.0.0.1:7443") {
				t.Fatalf("%v: ErrHandshake %v, want %v", err, errors.Is(err, ErrHandshake), tc.refusal)
			}
		})
	}
}

func TestUnavailableError(t *testing.T) {
	cause := errors.New("connection reset")
	err := error(&UnavailableError{Status: 502, Sent: true, Attempts: 1, Err: cause})
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, cause) || !strings.Contains(err.Error(), "502 Bad Gateway after 1 attempt(s): connection reset") {
		t.Fatalf("%v", err)
	}
}

func TestReplayable(t *testing.T) {
	t.Run("GetBody is used", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "/x", strings.NewReader("hello"))
		get, err := replayable(req, 3) // the bound is for bodies read in advance only
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if b, _ := get(); readAll(t, b) != "hello" {
				t.Fatal("GetBody's body differs")
			}
		}
	})
	t.Run("a plain reader is read in advance", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "/x", io.NopCloser(bytes.NewBufferString("hello")))
		req.GetBody = nil
		get, err := replayable(req, 5)
		if err != nil || req.ContentLength != 5 {
			t.Fatalf("%v, ContentLength %d", err, req.ContentLength)
		}
		for range 2 {
			if b, _ := get(); readAll(t, b) != "hello" {
				t.Fatal("the kept body differs")
			}
		}
	})
	t.Run("past the bound", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "/x", io.NopCloser(bytes.NewBufferString("hello!")))
		if _, err := replayable(req, 5); !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("%v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("no body", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "/x", nil)
		get, err := replayable(req, 5)
		if b, _ := get(); err != nil || b != nil {
			t.Fatalf("%v %v", b, err)
		}
	})
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
