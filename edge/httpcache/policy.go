package httpcache

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultHeuristicMax caps heuristic freshness (RFC 9111 §4.2.2) when a
// Policy leaves HeuristicMax at zero.
const DefaultHeuristicMax = time.Hour

// Setting is an edge-side value for one of an entry's windows.
type Setting struct {
	// Value is the duration.
	Value time.Duration
	// Override makes Value replace what the origin said. Without it Value
	// only fills in when the origin said nothing, and a zero Value fills in
	// nothing.
	Override bool
}

// Policy is the edge's per-route caching policy: what the origin's headers
// decide, and where the edge operator overrides them. The zero value
// follows the origin alone (RFC 9111 with the package's documented choices);
// DefaultPolicy adds the edge's defaults. A Policy must not change while
// Decide or Refreshed read it.
type Policy struct {
	// Bypass: never store, never serve from the cache (X-Cache: BYPASS).
	Bypass bool

	// TTL is the freshness lifetime. As a fill-in it replaces heuristic
	// freshness when the origin sent no s-maxage, max-age or Expires; as an
	// override it replaces whatever the origin said. It never makes a
	// response storable that the storing rules refuse, and no-cache still
	// forces revalidation on every use.
	TTL Setting
	// StaleWhileRevalidate is how long past freshness the entry is served
	// while one background request revalidates it (RFC 5861 §3). A fill-in
	// applies only when the origin sent neither stale-while-revalidate nor
	// s-maxage (s-maxage implies proxy-revalidate, RFC 9111 §5.2.2.10).
	// must-revalidate, proxy-revalidate and no-cache beat it even as an
	// override.
	StaleWhileRevalidate Setting
	// StaleIfError is how long past freshness the entry is served when the
	// origin fails (RFC 5861 §4), with the same rules as
	// StaleWhileRevalidate.
	StaleIfError Setting
	// KeepForRevalidation keeps an entry that has a validator (ETag or
	// Last-Modified) this much longer than it may be served, so that a
	// revalidation can come back as a cheap 304. 0: entries leave the
	// stores when they can no longer be served.
	KeepForRevalidation time.Duration
	// HeuristicMax caps heuristic freshness. 0: DefaultHeuristicMax;
	// negative: no heuristic freshness.
	HeuristicMax time.Duration

	// SurrogateKeys are templates for keys added to every entry of the
	// route, e.g. "shop:{shop}"; {name} is the route's capture of that name.
	// A response whose template names a capture the route did not make is
	// not stored, so that no entry escapes its purge.
	SurrogateKeys []string

	// PerUser opts in to caching for each verified user: every entry of an
	// authenticated request on the route belongs to that user (its key
	// carries the user id, see Owner), so private responses and responses to
	// requests with Authorization are stored too, and never served to anyone
	// else. Anonymous requests on the route get shared entries as usual.
	PerUser bool

	// OverrideNoStore lets the edge store responses whose origin said
	// no-store. Default: never; the origin's no-store is final.
	OverrideNoStore bool

	// RequestDirectives honours the client's no-cache, max-age and
	// min-fresh (they force a revalidation upstream, see Entry.StateFor).
	// Off by default so that reload storms do not reach the origin; a
	// client's no-store and only-if-cached are always honoured.
	RequestDirectives bool
}

// DefaultPolicy is the policy of a route the edge's configuration does not
// mention: the origin decides, and when it says nothing about staleness
// the edge may serve an entry up to 5 minutes past freshness while the
// origin is failing (RFC 9111 §4.2.4 allows serving stale when the cache is
// disconnected from the origin).
func DefaultPolicy() Policy {
	return Policy{
		StaleIfError: Setting{Value: 5 * time.Minute},
	}
}

// Owner is the user whose entries a request on the route reads and writes:
// the verified user id on a PerUser route, 0 (shared) otherwise. Lookups
// and Decide use the same rule, so a request finds exactly the entries it
// may see.
func (p *Policy) Owner(userID int64) int64 {
	if p != nil && p.PerUser {
		return userID
	}
	return 0
}

// ErrPolicy is wrapped by Validate errors.
var ErrPolicy = errors.New("httpcache: bad policy")

// Validate checks the policy when the configuration is loaded.
func (p *Policy) Validate() error {
	for _, s := range []Setting{p.TTL, p.StaleWhileRevalidate, p.StaleIfError} {
		if s.Value < 0 {
			return fmt.Errorf("%w: negative duration %v", ErrPolicy, s.Value)
		}
	}
	if p.KeepForRevalidation < 0 {
		return fmt.Errorf("%w: negative keep-for-revalidation %v", ErrPolicy, p.KeepForRevalidation)
	}
	for _, t := range p.SurrogateKeys {
		if err := checkTemplate(t); err != nil {
			return err
		}
	}
	return nil
}

func checkTemplate(t string) error {
	if t == "" || strings.ContainsAny(t, " \t,") {
		return fmt.Errorf("%w: surrogate key template %q: empty or has a separator", ErrPolicy, t)
	}
	for rest := t; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if strings.IndexByte(rest, '}') < open || open < 0 && strings.Contains(rest, "}") {
			return fmt.Errorf("%w: surrogate key template %q: unbalanced braces", ErrPolicy, t)
		}
		if open < 0 {
			return nil
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 2 || strings.Contains(rest[open+1:open+end], "{") {
			return fmt.Errorf("%w: surrogate key template %q: bad capture", ErrPolicy, t)
		}
		rest = rest[open+end+1:]
	}
	return nil
}

func (p *Policy) heuristicMax() time.Duration {
	switch {
	case p.HeuristicMax == 0:
		return DefaultHeuristicMax
	case p.HeuristicMax < 0:
		return 0
	}
	return p.HeuristicMax
}
