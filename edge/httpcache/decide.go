package httpcache

import "time"

// Params are a route's captures by name; *route.Params satisfies it.
type Params interface {
	Get(name string) []byte
}

// Exchange is one upstream request and its response, as the storing rules
// see them.
type Exchange struct {
	Method []byte // as received; GET is the only method stored
	Host   []byte // the request's Host
	Path   []byte // path and query as sent (the request-target)
	UserID int64  // verified user id, 0 if anonymous
	Params Params // the route's captures, for surrogate key templates; may be nil

	Request  Header // the client's request header; may be nil
	Status   int
	Response Fields // the origin's response header; must not be nil

	// RequestTime is when the request went upstream and ResponseTime when
	// the response arrived (RFC 9111 §4.2.3). A zero RequestTime counts as
	// ResponseTime.
	RequestTime, ResponseTime time.Time
}

// Decision is what the storing rules (RFC 9111 §3, §4.2) make of an
// exchange under a policy.
type Decision struct {
	// Store: the response may be stored; Reason says why or why not.
	Store  bool
	Reason Reason

	Owner      int64      // user the entry belongs to; 0 shared
	Directives Directives // the response's Cache-Control

	// Lifetime is the freshness lifetime (§4.2.1), Heuristic says it was
	// guessed (§4.2.2), and InitialAge is the corrected initial age (§4.2.3).
	Lifetime   time.Duration
	Heuristic  bool
	InitialAge time.Duration
	// The stale windows past Lifetime (RFC 5861), after the prohibitions of
	// RFC 9111 §4.2.4.
	StaleWhileRevalidate, StaleIfError time.Duration
	// Keep is how long past its last usable moment the entry is kept for
	// revalidation.
	Keep time.Duration
	// MustRevalidate: once stale the entry is never served without a
	// successful revalidation, and a failed one answers 504 (§5.2.2.2).
	MustRevalidate bool

	Vary          []string // the Vary field names, lower case, sorted, unique
	SurrogateKeys []string // Surrogate-Key, the policy's keys, and URLKey
	// The origin's validators as received. They alias the response header
	// (NewEntry copies them), so they are valid only as long as it is.
	ETag         []byte
	LastModified []byte
	Date         int64  // the origin's Date in Unix seconds (response time if absent)
	Version      string // the response's Cq-Version

	varyOK bool // Vary has no "*" and only tokens
}

// Reason says why Decide stored a response or not; it is meant for logs and
// metrics.
type Reason uint8

// Reasons.
const (
	Stored               Reason = iota // storable
	ReasonBypass                       // the policy bypasses the cache
	ReasonMethod                       // not a GET (§3)
	ReasonStatus                       // status not storable (§3) or not cacheable without explicit freshness (§4.2.2)
	ReasonRequestNoStore               // request no-store (§5.2.1.5)
	ReasonNoStore                      // response no-store (§5.2.2.5)
	ReasonPrivate                      // private in a shared cache (§5.2.2.7)
	ReasonAuthorization                // Authorization without public, s-maxage or must-revalidate (§3.5)
	ReasonVary                         // Vary: * or an unusable Vary (§4.1)
	ReasonUseless                      // never fresh, no stale window, nothing to revalidate with
	ReasonSurrogateKeys                // too many or too long surrogate keys, or a template the route cannot fill
)

var reasonNames = [...]string{"stored", "bypass", "method", "status", "request-no-store", "no-store",
	"private", "authorization", "vary", "useless", "surrogate-keys"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Decide applies the storing rules of RFC 9111 and the policy to an
// exchange. A nil policy is the zero Policy. Decide allocates (it collects
// Vary names and surrogate keys); it runs once per upstream response.
func Decide(x *Exchange, p *Policy) Decision {
	if p == nil {
		p = &Policy{}
	}
	d := Decision{Owner: p.Owner(x.UserID)}
	d.describe(x)
	if r := storable(x, p, &d); r != Stored {
		d.Reason = r
		return d
	}
	explicit := d.freshness(x.Response, p)
	// §3: explicit freshness, public, private where the entry is one
	// user's, or a heuristically cacheable status.
	cacheable := explicit || d.Directives.Public || d.Directives.Private && d.Owner != 0
	if !cacheable && !heuristicallyCacheable(x.Status) {
		d.Reason = ReasonStatus
		return d
	}
	d.staleWindows(p)
	if len(d.ETag) > 0 || len(d.LastModified) > 0 {
		d.Keep = bound(p.KeepForRevalidation)
	}
	if d.Lifetime+max(d.StaleWhileRevalidate, d.StaleIfError)+d.Keep <= 0 {
		d.Reason = ReasonUseless // §3 allows storing it, but nothing could ever use it
		return d
	}
	if !d.surrogateKeys(x, p) {
		d.Reason = ReasonSurrogateKeys
		return d
	}
	d.Store = true
	return d
}

// describe reads what the response says about itself, whether or not it
// is stored: Refreshed answers one request with a refreshed entry even when
// it may no longer be kept.
func (d *Decision) describe(x *Exchange) {
	d.Directives, _ = cacheControl(x.Response)
	d.Date = dateOf(x)
	d.InitialAge = correctedInitialAge(x, d.Date)
	d.ETag, d.LastModified = x.Response.Peek("ETag"), x.Response.Peek("Last-Modified")
	d.Version = string(x.Response.Peek("Cq-Version"))
	d.Vary, d.varyOK = varyNames(x.Response)
}

// storable applies the "MUST NOT store unless" list of RFC 9111 §3, in its
// order.
func storable(x *Exchange, p *Policy, d *Decision) Reason {
	resp := &d.Directives
	switch {
	case p.Bypass:
		return ReasonBypass
	case string(x.Method) != "GET":
		// §3 "the request method is understood by the cache": GET only. A
		// HEAD response has no content to share with GET's entry.
		return ReasonMethod
	case x.Status < 200 || x.Status > 999 || x.Status == 206 || x.Status == 304:
		// §3 "final" status; 206 and 304 only if understood: we store
		// neither (no range support; a 304 only freshens, §4.3.4).
		return ReasonStatus
	case resp.MustUnderstand && !understood(x.Status):
		return ReasonStatus // §3 / §5.2.2.3
	case RequestDirectives(x.Request).NoStore:
		return ReasonRequestNoStore // §3, §5.2.1.5
	case resp.NoStore && !(resp.MustUnderstand && understood(x.Status)) && !p.OverrideNoStore:
		// §3, §5.2.2.5; §5.2.2.3 says a cache that understands the status
		// SHOULD ignore no-store next to must-understand.
		return ReasonNoStore
	case resp.Private && d.Owner == 0:
		return ReasonPrivate // §3, §5.2.2.7: shared entries only
	case x.Request != nil && x.Request.Peek("Authorization") != nil && d.Owner == 0 &&
		!resp.Public && !resp.SMaxAge.Set && !resp.MustRevalidate:
		return ReasonAuthorization // §3, §3.5
	}
	if !d.varyOK {
		return ReasonVary // §4.1: "*" never matches
	}
	return Stored
}

// heuristicallyCacheable lists the statuses RFC 9110 §15.1 defines as
// heuristically cacheable (206 aside: never stored here).
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// understood lists the statuses whose caching requirements the package
// implements, for must-understand (RFC 9111 §5.2.2.3).
func understood(status int) bool {
	switch status {
	case 302, 303, 307:
		return true
	}
	return heuristicallyCacheable(status)
}

// dateOf is the response's Date, or the time it was received when absent
// or invalid (RFC 9110 §6.6.1).
func dateOf(x *Exchange) int64 {
	if t, ok := parseHTTPDate(x.Response.Peek("Date")); ok {
		return t
	}
	return x.ResponseTime.Unix()
}
