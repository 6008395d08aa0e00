package httpcache

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrNotStorable is returned by NewEntry for a Decision that does not store.
var ErrNotStorable = errors.New("httpcache: response is not storable")

// NewEntry builds the entry for an exchange that Decide said to store. The
// body is copied. Text-like content is stored as identity, gzip and br,
// compressed once here (a body the origin sent as gzip or br is decoded,
// and its own coding kept as that variant); a response with no-transform,
// or in a coding the edge does not know, is kept exactly as received.
func NewEntry(x *Exchange, d *Decision, body []byte, o *StoreOptions) (*Entry, error) {
	if !d.Store {
		return nil, ErrNotStorable
	}
	opts := o.withDefaults()
	e := &Entry{
		key:          AppendKey(nil, x.Method, x.Host, x.Path, d.Owner),
		status:       x.Status,
		owner:        d.Owner,
		etag:         bytes.Clone(d.ETag),
		lastModified: bytes.Clone(d.LastModified),
		version:      d.Version,
		keys:         d.SurrogateKeys,
	}
	e.setTimes(d, x.ResponseTime)
	if err := e.setBodies(x.Response, body, &opts, d.Directives.NoTransform); err != nil {
		return nil, err
	}
	e.vary = captureVary(e.matchNames(d.Vary), x.Request)
	e.header = replayHeader(x.Response, e.replayExtras(d.Vary))
	e.finish()
	return e, nil
}

func (e *Entry) setTimes(d *Decision, responseTime time.Time) {
	e.responseTime = responseTime.UnixNano()
	e.date = d.Date
	e.initialAge, e.lifetime = d.InitialAge, d.Lifetime
	e.swr, e.sie, e.keep = d.StaleWhileRevalidate, d.StaleIfError, d.Keep
	e.flags = 0
	if d.MustRevalidate {
		e.flags |= flagMustRevalidate
	}
	if d.Heuristic {
		e.flags |= flagHeuristic
	}
	if d.Directives.NoTransform {
		e.flags |= flagNoTransform
	}
}

// matchNames are the Vary names the entry matches requests on. When the
// edge negotiates the coding itself (see Pick), Accept-Encoding is not one:
// every client can take one of the codings the entry holds. When it keeps
// the origin's coding, Accept-Encoding always is, Vary or not: the body is
// only for clients that asked like the one it was fetched for.
func (e *Entry) matchNames(vary []string) []string {
	var out []string
	for _, n := range vary {
		if n != "accept-encoding" {
			out = append(out, n)
		}
	}
	if e.opaque != nil {
		out = append(out, "accept-encoding")
		slices.Sort(out)
	}
	return out
}

// replayExtras are the rewritten ETag and Vary fields. The ETag turns weak
// when the edge changed the content coding: the bytes differ, the meaning
// does not (RFC 9110 §8.8.1). Vary gains Accept-Encoding when the entry
// serves several codings, for the caches downstream.
func (e *Entry) replayExtras(vary []string) []Field {
	var extra []Field
	if len(e.etag) > 0 {
		v := e.etag
		if tag, weak := parseETag(e.etag); tag != nil && !weak && e.weakETag {
			v = append([]byte("W/"), trimOWS(e.etag)...)
		}
		extra = append(extra, Field{Name: []byte("ETag"), Value: v})
	}
	names := vary
	if e.opaque != nil || e.bodies[codingGzip] != nil || e.bodies[codingBr] != nil {
		names = append(append([]string(nil), vary...), "accept-encoding")
		slices.Sort(names)
		names = slices.Compact(names)
	}
	if len(names) > 0 {
		extra = append(extra, Field{Name: []byte("Vary"), Value: []byte(strings.Join(names, ", "))})
	}
	return extra
}
