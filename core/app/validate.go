package app

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fields validates a request body field by field and keeps the first
// problem: 400 invalid_field (or missing_field) naming the field.
type fields struct{ err error }

func (f *fields) fail(name, format string, args ...any) {
	if f.err == nil {
		f.err = errorf(http.StatusBadRequest, codeInvalidField, name+" "+format, args...)
	}
}

// text checks a string of min to max characters without control
// characters; a required one (min > 0) must not be blank.
func (f *fields) text(name, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case !utf8.ValidString(v):
		f.fail(name, "is not valid UTF-8")
	case n < min || n > max:
		f.fail(name, "must be %d to %d characters", min, max)
	case min > 0 && strings.TrimSpace(v) == "":
		f.fail(name, "must not be blank")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f.fail(name, "must not contain control characters")
	}
}

// between checks lo <= v <= hi.
func (f *fields) between(name string, v, lo, hi int64) {
	if v < lo || v > hi {
		f.fail(name, "must be %d to %d, not %d", lo, hi, v)
	}
}

// id checks a positive id.
func (f *fields) id(name string, v int64) {
	if v <= 0 {
		f.fail(name, "must be a positive id, not %d", v)
	}
}

// present checks that a field the body must carry is there.
func (f *fields) present(name string, set bool) {
	if !set && f.err == nil {
		f.err = errorf(http.StatusBadRequest, codeMissingField, "%s is required", name)
	}
}

// check records a failure when ok is false.
func (f *fields) check(ok bool, name, why string) {
	if !ok {
		f.fail(name, "%s", why)
	}
}

// phone accepts an empty string or 3 to 32 of digits, spaces, + - ( ).
func validPhone(s string) bool {
	if s == "" {
		return true
	}
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	return strings.Trim(s, "0123456789 +-()") == ""
}

// validEmail is a shape check, not a deliverability check: one @ with
// something on both sides and a dot in the domain.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t") &&
		!strings.Contains(domain, "@") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validCountry is an ISO 3166-1 alpha-2 shape: two capital letters.
func validCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
