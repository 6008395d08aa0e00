package app

import (
	"net/http"
	"strconv"
)

// Pagination bounds.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// parseID reads a row id: a positive decimal int64 in canonical form (no
// sign, no leading zeros), so one id has one spelling.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// pathID is the id in the path wildcard name: 400 bad_id when malformed.
func pathID(r *http.Request, name string) (int64, error) {
	id, ok := parseID(r.PathValue(name))
	if !ok {
		return 0, errorf(http.StatusBadRequest, codeBadID, "%s must be a positive integer id, not %q", name, r.PathValue(name))
	}
	return id, nil
}

// pageLimit is the limit query parameter: DefaultPageLimit when absent,
// 1..MaxPageLimit otherwise.
func pageLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return DefaultPageLimit, nil
	}
	n, ok := parseID(s)
	if !ok || n > MaxPageLimit {
		return 0, errorf(http.StatusBadRequest, codeBadLimit, "limit must be 1 to %d, not %q", MaxPageLimit, s)
	}
	return int(n), nil
}

// validRegion accepts 1 to 64 of a-z, 0-9 and '-', starting with a
// letter or digit: safe in a surrogate key.
func validRegion(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
