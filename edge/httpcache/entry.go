package httpcache

import (
	"sync/atomic"
	"time"
)

// Entry is a stored response: what L1 keeps and what L2 keeps in its binary
// form. An Entry never changes once built (Refreshed makes a new one), so
// any number of goroutines may read it without locks. Its methods on the
// hit path do not allocate.
type Entry struct {
	key    []byte
	status int
	owner  int64
	header []Field

	bodies   [numCodings][]byte // by coding; bodies[identity] always set
	opaque   []byte             // the content-coding of bodies[identity] when the edge kept the origin's coding as is
	weakETag bool               // the served ETag was weakened: the edge transformed the content

	responseTime int64 // Unix nanoseconds
	date         int64 // the origin's Date, Unix seconds
	initialAge   time.Duration
	lifetime     time.Duration
	swr, sie     time.Duration
	keep         time.Duration
	flags        uint8

	etag         []byte // as the origin sent it
	lastModified []byte
	version      string
	vary         []varyField
	keys         []string

	// Derived from the above by finish, never stored.
	tag    []byte // the opaque-tag of etag, nil if none or malformed
	lmUnix int64  // lastModified, or date when absent or invalid
	size   int
	memo   *atomic.Value // see Memo; a new one per finish
}

const (
	flagMustRevalidate = 1 << iota
	flagHeuristic
	flagNoTransform
	flagsKnown = flagMustRevalidate | flagHeuristic | flagNoTransform
)

// State is what a stored response may be used for now.
type State uint8

const (
	// Fresh: serve it (X-Cache: HIT).
	Fresh State = iota
	// StaleRevalidate: serve it and revalidate in the background
	// (RFC 5861 §3, X-Cache: STALE).
	StaleRevalidate
	// StaleIfError: revalidate first; serve it only if the origin fails with
	// 500, 502, 503, 504 or no response (RFC 5861 §4).
	StaleIfError
	// Stale: revalidate first and serve nothing stale. If revalidation
	// fails and MustRevalidate, answer 504 (RFC 9111 §5.2.2.2).
	Stale
)

func (s State) String() string {
	switch s {
	case Fresh:
		return "fresh"
	case StaleRevalidate:
		return "stale-while-revalidate"
	case StaleIfError:
		return "stale-if-error"
	}
	return "stale"
}

// age is current_age of RFC 9111 §4.2.3: corrected_initial_age +
// resident_time. A clock that went back counts no resident time.
func (e *Entry) age(now time.Time) time.Duration {
	resident := max(0, time.Duration(now.UnixNano()-e.responseTime))
	return min(e.initialAge+min(resident, maxDeltaDuration), 2*maxDeltaDuration)
}

// Age is the value of the Age header to send: current_age in whole seconds
// (RFC 9111 §5.1, §4).
func (e *Entry) Age(now time.Time) int64 {
	return min(int64(e.age(now)/time.Second), MaxDelta)
}

// State says what the entry may be used for at now: fresh while its age is
// below the freshness lifetime (RFC 9111 §4.2), then within the stale
// windows.
func (e *Entry) State(now time.Time) State {
	return e.stateAt(e.age(now))
}

func (e *Entry) stateAt(age time.Duration) State {
	switch {
	case age < e.lifetime:
		return Fresh
	case age < e.lifetime+e.swr:
		return StaleRevalidate
	case age < e.lifetime+e.sie:
		return StaleIfError
	}
	return Stale
}

// StateFor is State with the client's cache directives applied (use it when
// the route's Policy.RequestDirectives is set). no-cache (§5.2.1.4), a
// max-age the entry's age exceeds (§5.2.1.1), or a min-fresh it cannot meet
// (§5.2.1.3) demand validation: the entry is then at best StaleIfError —
// revalidate, and fall back to it only if the origin fails and the entry is
// still fresh or within its stale-if-error window. max-stale is not
// honoured: the edge never serves more staleness than the origin or the
// policy allows.
func (e *Entry) StateFor(now time.Time, req *Directives) State {
	age := e.age(now)
	s := e.stateAt(age)
	if s >= StaleIfError || !demandsValidation(req, age, e.lifetime) {
		return s
	}
	if s == Fresh || age < e.lifetime+e.sie {
		return StaleIfError
	}
	return Stale
}

func demandsValidation(req *Directives, age, lifetime time.Duration) bool {
	switch {
	case req.NoCache:
		return true
	case req.MaxAge.Set && age > seconds(req.MaxAge.Seconds):
		return true
	case req.MinFresh.Set && lifetime-age < seconds(req.MinFresh.Seconds):
		return true
	}
	return false
}

// TTL is how long a store may keep the entry from now: until it can no
// longer be served, plus the policy's KeepForRevalidation when it has a
// validator. Zero or less: drop it.
func (e *Entry) TTL(now time.Time) time.Duration {
	return e.lifetime + max(e.swr, e.sie) + e.keep - e.age(now)
}

// MustRevalidate says that once stale the entry needs a successful
// revalidation, and that a failed one answers 504 (RFC 9111 §5.2.2.2).
func (e *Entry) MustRevalidate() bool { return e.flags&flagMustRevalidate != 0 }

// Key is the full cache key (see AppendKey); stores compare it on every hit.
func (e *Entry) Key() []byte { return e.key }

// Status is the stored response's status code.
func (e *Entry) Status() int { return e.status }

// Owner is the user the entry belongs to, 0 for a shared entry.
func (e *Entry) Owner() int64 { return e.owner }

// Memo is a slot where the server may keep what it derives from the entry
// once, such as its header fields ready for the wire, so that hits need not
// derive it again. Safe for concurrent use; a refreshed or decoded entry
// has its own, empty slot. Nil for an entry not built by this package.
func (e *Entry) Memo() *atomic.Value { return e.memo }

// Header is the header fields to replay, in the origin's order. It leaves
// out what the serving side sets per response: Date, Age, X-Cache,
// Content-Length and Content-Encoding (see Pick). The caller must not modify
// it.
func (e *Entry) Header() []Field { return e.header }

// Version is the response's Cq-Version token, "" if none.
func (e *Entry) Version() string { return e.version }

// SurrogateKeys are the keys a purge finds the entry by, URLKey included.
func (e *Entry) SurrogateKeys() []string { return e.keys }

// Weight is roughly the bytes the entry holds, for bounding L1.
func (e *Entry) Weight() int { return e.size }

// Validators are the values to send upstream when revalidating: as
// If-None-Match and If-Modified-Since respectively, each only when not nil
// (RFC 9111 §4.3.1 and RFC 9110 §13.1: send both when both exist). They are
// the origin's own, even when the ETag served to clients is weakened.
func (e *Entry) Validators() (ifNoneMatch, ifModifiedSince []byte) {
	return e.etag, e.lastModified
}
