package httpcache

import (
	"sync/atomic"
	"time"
)

// finish derives the fields the hit path reads from the stored ones and
// clamps every duration into [0, 2^31 s], so that no arithmetic on an
// entry — even one decoded from damaged bytes — can overflow.
func (e *Entry) finish() {
	for _, d := range [...]*time.Duration{&e.initialAge, &e.lifetime, &e.swr, &e.sie, &e.keep} {
		*d = bound(*d)
	}
	if e.bodies[identity] == nil {
		e.bodies[identity] = []byte{} // Pick never returns a nil body
	}
	e.tag, _ = parseETag(e.etag)
	e.lmUnix = e.date
	if t, ok := parseHTTPDate(e.lastModified); ok {
		e.lmUnix = t
	}
	e.size = e.weight()
	e.memo = new(atomic.Value)
}

// weight estimates the bytes the entry holds: its slices plus a fixed
// overhead for the struct and slice headers.
func (e *Entry) weight() int {
	n := 256 + len(e.key) + len(e.opaque) + len(e.etag) + len(e.lastModified) + len(e.version)
	for _, b := range e.bodies {
		n += len(b)
	}
	for _, f := range e.header {
		n += 48 + len(f.Name) + len(f.Value)
	}
	for _, v := range e.vary {
		n += 64 + len(v.name) + len(v.value)
	}
	for _, k := range e.keys {
		n += 16 + len(k)
	}
	return n
}
