package app

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cursors are opaque to clients: base64url (no padding) of the position
// after the last row of a page. An id cursor ("17") pages by ascending id;
// a time cursor ("<unix microseconds>.<id>") pages newest first by
// (created_at, id), which is a total order because ids are unique.
// Decoding is strict: re-encoding a decoded cursor gives the same text, so
// a cursor has one spelling.

// encodeIDCursor is the cursor after the row with id.
func encodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// decodeIDCursor reads an id cursor; ok is false when it is malformed.
func decodeIDCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, false
	}
	id, ok := parseID(string(b))
	return id, ok && encodeIDCursor(id) == s
}

// timeCursor is a position in a newest-first listing.
type timeCursor struct {
	At time.Time // microsecond precision, UTC
	ID int64
}

func (c timeCursor) String() string {
	text := strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(text))
}

// decodeTimeCursor reads a time cursor; ok is false when it is malformed.
func decodeTimeCursor(s string) (timeCursor, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return timeCursor{}, false
	}
	micros, id, found := strings.Cut(string(b), ".")
	us, okUS := parseID(micros)
	n, okID := parseID(id)
	if !found || !okUS || !okID {
		return timeCursor{}, false
	}
	c := timeCursor{At: time.UnixMicro(us).UTC(), ID: n}
	return c, c.String() == s
}

func badCursor(s string) error {
	return errorf(http.StatusBadRequest, codeBadCursor, "cursor %q is not one this API made", s)
}

// idCursor is the cursor query parameter of an id-ordered listing: 0 for
// the first page.
func idCursor(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("cursor")
	if s == "" {
		return 0, nil
	}
	id, ok := decodeIDCursor(s)
	if !ok {
		return 0, badCursor(s)
	}
	return id, nil
}

// newestCursor is the cursor query parameter of a newest-first listing:
// nil for the first page.
func newestCursor(r *http.Request) (*timeCursor, error) {
	s := r.URL.Query().Get("cursor")
	if s == "" {
		return nil, nil
	}
	c, ok := decodeTimeCursor(s)
	if !ok {
		return nil, badCursor(s)
	}
	return &c, nil
}
