package httpapi

import (
	"encoding/json"
	"errors"
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
