package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cangqiong/cangqiong/core/httpapi"
)

// errNoIfMatch is ifMatch's answer for a request without If-Match.
var errNoIfMatch = errors.New("no If-Match")

// ifMatch reads the one epoch or version If-Match names: 7 or "7". A weak
// tag (W/"7"), a list ("6", "7") or * is refused: each would let a change
// through without naming exactly what the client read.
func ifMatch(r *http.Request) (uint64, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return 0, errNoIfMatch
	}
	v := strings.TrimSpace(values[0])
	if len(values) == 1 && len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if len(values) > 1 || err != nil {
		return 0, httpapi.Errorf(http.StatusBadRequest, CodeInvalidPrecondition,
			`If-Match must name one ETag this API gave, like "7"; got %.40q`, strings.Join(values, ", "))
	}
	return n, nil
}

// requireIfMatch is ifMatch for changes that may not go without one.
func requireIfMatch(r *http.Request, what string) (uint64, error) {
	n, err := ifMatch(r)
	if errors.Is(err, errNoIfMatch) {
		return 0, httpapi.Errorf(http.StatusPreconditionRequired, CodePreconditionRequired,
			"send If-Match with the ETag of the %s you read (GET it first)", what)
	}
	return n, err
}

// setETag names a version of a resource: its epoch or version number.
func setETag(w http.ResponseWriter, n uint64) {
	w.Header().Set("ETag", `"`+strconv.FormatUint(n, 10)+`"`)
}
