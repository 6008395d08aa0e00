package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type body struct {
		Quantity int    `json:"quantity"`
		Note     string `json:"note"`
	}
	for _, c := range []struct {
		in     string
		status int
		code   string
	}{
		{`{"quantity": 2}`, 0, ""},
		{`{"quantity": 2`, 400, CodeMalformedJSON},
		{``, 400, CodeMalformedJSON},
		{`{"quantity": "two"}`, 400, CodeWrongType},
		{`{"quantity": 2, "extra": 1}`, 400, CodeUnknownField},
		{`{"quantity": 2} {"quantity": 3}`, 400, CodeMalformedJSON},
		{`{"note": "` + strings.Repeat("x", 200) + `"}`, 413, CodeBodyTooLarge},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.in))
		var b body
		err := Decode(httptest.NewRecorder(), r, 100, &b)
		var e *Error
		if c.status == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.in, err)
			}
			continue
		}
		if !errors.As(err, &e) || e.Status != c.status || e.Code != c.code {
			t.Errorf("%.30s: got %v, want %d %s", c.in, err, c.status, c.code)
		}
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, Errorf(http.StatusConflict, "illegal_transition", "order is %s", "completed"))
	var got struct{ Error Error }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 409 || got.Error.Code != "illegal_transition" || got.Error.Message != "order is completed" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, errors.New("dial tcp 10.0.0.1: secret detail"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("internal errors must not leak: %d %s", rec.Code, rec.Body)
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		name   string
		h      Handler
		status int
		code   string
		logged bool
	}{
		{"success", func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusNoContent); return nil }, 204, "", false},
		{"API error", func(http.ResponseWriter, *http.Request) error {
			return Errorf(http.StatusConflict, "conflict", "taken")
		}, 409, "conflict", false},
		{"internal error", func(http.ResponseWriter, *http.Request) error { return errors.New("dial tcp: secret") }, 500, CodeInternal, true},
		{"panic", func(http.ResponseWriter, *http.Request) error { panic("boom") }, 500, CodeInternal, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			rec := httptest.NewRecorder()
			Wrap(c.h, Fail(slog.New(slog.NewTextHandler(&log, nil)))).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.code) || strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("%d %s, want %d %s", rec.Code, rec.Body, c.status, c.code)
			}
			if got := strings.Contains(log.String(), "request failed"); got != c.logged {
				t.Errorf("logged %v, want %v: %s", got, c.logged, log.String())
			}
		})
	}
}

func TestWrapPassesAbortHandlerOn(t *testing.T) {
	failed := false
	h := Wrap(func(http.ResponseWriter, *http.Request) error { panic(http.ErrAbortHandler) },
		func(http.ResponseWriter, *http.Request, error) { failed = true })
	defer func() {
		if p := recover(); p != http.ErrAbortHandler || failed {
			t.Fatalf("recovered %v, fail called %v; want http.ErrAbortHandler passed on untouched", p, failed)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
}
