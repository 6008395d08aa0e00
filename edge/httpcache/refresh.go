package httpcache

import (
	"bytes"
	"slices"
	"strings"
)

// notUpdated are fields a 304 never changes in a stored response
// (RFC 9111 §3.2): Content-Length, the fields the stored body depends on
// (Content-Encoding, Content-Type: the edge compressed by them), the
// validator that selected the response (ETag), and Vary, which Refreshed
// checks instead.
var notUpdated = map[string]bool{
	"content-length": true, "content-encoding": true, "content-type": true,
	"etag": true, "vary": true,
}

// Refreshed applies a 304 (Not Modified) that answered a revalidation of
// the entry (RFC 9111 §4.3.4) and returns the updated entry; the receiver
// does not change. x is the revalidation exchange (its Response the 304)
// and p the route's policy.
//
// A nil entry means the 304 does not describe this entry — another
// validator, another Vary, another owner — and the caller should fetch the
// response unconditionally. Otherwise store says whether the updated entry
// may be stored; when it is false (the origin now says no-store, say) the
// entry still answers the request at hand, and the caller deletes the
// stored one.
//
// The updated entry takes the 304's fields, except those of notUpdated and
// those never stored, and gets its freshness, stale windows and age from
// them as a new response would. It shares the bodies with the receiver.
func (e *Entry) Refreshed(x *Exchange, p *Policy) (updated *Entry, store bool) {
	if x.Status != 304 || !e.selectedBy(x.Response) || !e.sameVary(x.Response) {
		return nil, false
	}
	view := e.merged(x.Response)
	rx := *x
	rx.Status, rx.Response = e.status, view
	d := Decide(&rx, p)
	if d.Owner != e.owner || d.Reason == ReasonMethod || d.Reason == ReasonBypass {
		return nil, false
	}
	n := *e
	n.setTimes(&d, x.ResponseTime)
	n.lastModified = bytes.Clone(d.LastModified)
	n.version = d.Version
	if d.SurrogateKeys != nil {
		n.keys = d.SurrogateKeys
	}
	n.header = replayHeader(view, n.replayExtras(d.Vary))
	n.finish()
	return &n, d.Store
}

// selectedBy says whether a 304 selects this entry for update
// (§4.3.4): its strong ETag must be the entry's, its weak ETag or its
// Last-Modified must match the entry's. A 304 without validators selects the
// entry: the conditional request it answers carried only this entry's
// validators.
func (e *Entry) selectedBy(resp Header) bool {
	if v := resp.Peek("ETag"); v != nil {
		tag, weak := parseETag(v)
		_, storedWeak := parseETag(e.etag)
		return tag != nil && e.tag != nil && string(tag) == string(e.tag) && (weak || !storedWeak)
	}
	if v := resp.Peek("Last-Modified"); v != nil {
		t, ok := parseHTTPDate(v)
		s, sok := parseHTTPDate(e.lastModified)
		return ok && sok && t == s
	}
	return true
}

// sameVary says whether the 304 keeps the entry's selecting fields; a 304
// without Vary does.
func (e *Entry) sameVary(resp Header) bool {
	var one [1][]byte
	if len(fieldLines(resp, "Vary", &one)) == 0 {
		return true
	}
	names, ok := varyNames(resp)
	if !ok {
		return false
	}
	names = e.matchNames(names)
	return slices.EqualFunc(names, e.vary, func(n string, f varyField) bool { return n == f.name })
}

// merged is the entry's stored fields updated by the 304's, plus what the
// storing rules read: the origin's ETag and the entry's surrogate keys when
// the 304 sends none.
func (e *Entry) merged(resp Fields) fieldList {
	updated := make(map[string]bool)
	var fresh fieldList
	for k, v := range resp.All() {
		n := strings.ToLower(string(k))
		if notUpdated[n] {
			continue
		}
		updated[n] = true
		fresh = append(fresh, Field{Name: []byte(string(k)), Value: []byte(string(v))})
	}
	var view fieldList
	for _, f := range e.header {
		if n := strings.ToLower(string(f.Name)); !updated[n] && n != "etag" {
			view = append(view, f)
		}
	}
	view = append(view, fresh...)
	if len(e.etag) > 0 {
		view = append(view, Field{Name: []byte("ETag"), Value: e.etag})
	}
	if !updated["surrogate-key"] && len(e.keys) > 0 {
		view = append(view, Field{Name: []byte("Surrogate-Key"), Value: []byte(strings.Join(e.keys, " "))})
	}
	return view
}
