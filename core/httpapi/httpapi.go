// Package httpapi is the JSON error and body contract shared by the core's
// HTTP surfaces (the takeout API on the tunnel, the admin API): every error
// is {"error":{"code":"…","message":"…"}} with a stable code, and request
// bodies are decoded strictly (unknown fields, wrong types, trailing data
// and oversized bodies are errors, never ignored). Handlers return errors
// rather than write them; Wrap turns an error or a panic into that answer,
// through each API's own FailFunc.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is an API error: the HTTP status, a stable machine-readable code
// and a human message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Codes used by the body decoder; handlers add their own.
const (
	CodeMalformedJSON = "malformed_json"
	CodeUnknownField  = "unknown_field"
	CodeWrongType     = "wrong_type"
	CodeBodyTooLarge  = "body_too_large"
	CodeInternal      = "internal"
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError writes err: an *Error as itself, anything else as a 500 whose
// message does not leak internals.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
	}
	WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

// Decode reads r's JSON body into dst strictly. limit bounds the body in
// bytes (413 beyond it).
func Decode(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err, limit)
		}
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "the body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error, limit int64) *Error {
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the body exceeds %d bytes", limit)
	case errors.As(err, &typeErr):
		return Errorf(http.StatusBadRequest, CodeWrongType, "field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, CodeMalformedJSON, "the body is not valid JSON: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf(http.StatusBadRequest, CodeUnknownField, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return Errorf(http.StatusBadRequest, CodeMalformedJSON, "%v", err)
}
