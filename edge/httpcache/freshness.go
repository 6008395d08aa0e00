package httpcache

import "time"

const maxDeltaDuration = time.Duration(MaxDelta) * time.Second

// freshness sets d.Lifetime (RFC 9111 §4.2.1) and reports whether the origin
// gave explicit freshness (s-maxage, max-age or Expires).
func (d *Decision) freshness(resp Header, p *Policy) (explicit bool) {
	cc := &d.Directives
	switch {
	case cc.SMaxAge.Set: // §4.2.1: a shared cache uses s-maxage first
		d.Lifetime, explicit = seconds(cc.SMaxAge.Seconds), true
	case cc.MaxAge.Set: // then max-age
		d.Lifetime, explicit = seconds(cc.MaxAge.Seconds), true
	case resp.Peek("Expires") != nil: // then Expires - Date
		d.Lifetime, explicit = expiresLifetime(resp.Peek("Expires"), d.Date), true
	}
	switch {
	case p.TTL.Override:
		d.Lifetime = bound(p.TTL.Value)
	case !explicit && p.TTL.Value > 0:
		d.Lifetime = bound(p.TTL.Value) // the policy instead of a heuristic
	case !explicit:
		d.Lifetime = heuristic(resp.Peek("Last-Modified"), d.Date, p.heuristicMax())
		d.Heuristic = d.Lifetime > 0
	}
	if cc.NoCache {
		d.Lifetime = 0 // §5.2.2.4: never used without validation
	}
	return explicit
}

// expiresLifetime is Expires minus Date (§4.2.1). An invalid Expires, "0"
// for instance, means already expired (§5.3).
func expiresLifetime(expires []byte, date int64) time.Duration {
	t, ok := parseHTTPDate(expires)
	if !ok || t <= date {
		return 0
	}
	return seconds(t - date)
}

// heuristic is 10% of the time since Last-Modified, capped (§4.2.2, which
// suggests the 10% and asks for a cap). No Last-Modified: no heuristic.
func heuristic(lastModified []byte, date int64, limit time.Duration) time.Duration {
	lm, ok := parseHTTPDate(lastModified)
	if !ok || lm >= date || limit <= 0 {
		return 0
	}
	return min(seconds(date-lm)/10, limit)
}

// correctedInitialAge implements the age calculation of §4.2.3:
//
//	apparent_age = max(0, response_time - date_value)
//	response_delay = response_time - request_time
//	corrected_age_value = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//
// An invalid Age is ignored and of a list the first member counts (§5.1).
func correctedInitialAge(x *Exchange, date int64) time.Duration {
	rt := x.ResponseTime
	reqt := x.RequestTime
	if reqt.IsZero() || reqt.After(rt) {
		reqt = rt
	}
	apparent := max(0, seconds(rt.Unix()-date))
	var ageValue time.Duration
	if a, _ := nextElement(x.Response.Peek("Age")); a != nil {
		if n, ok := parseDelta(a); ok {
			ageValue = seconds(n)
		}
	}
	corrected := ageValue + min(rt.Sub(reqt), maxDeltaDuration)
	return min(max(apparent, corrected), maxDeltaDuration)
}

// seconds converts delta-seconds to a Duration, saturating at 2^31 s
// (§1.2.2).
func seconds(n int64) time.Duration {
	if n >= MaxDelta {
		return maxDeltaDuration
	}
	if n <= -MaxDelta {
		return -maxDeltaDuration
	}
	return time.Duration(n) * time.Second
}

// staleWindows sets the stale windows and MustRevalidate, applying the
// prohibitions of RFC 9111 §4.2.4 before the permissions of RFC 5861 and
// the policy.
func (d *Decision) staleWindows(p *Policy) {
	cc := &d.Directives
	// §5.2.2.2 must-revalidate and §5.2.2.8 proxy-revalidate: never served
	// stale, 504 when revalidation fails. s-maxage implies proxy-revalidate
	// (§5.2.2.10).
	d.MustRevalidate = cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge.Set
	if cc.NoCache || cc.MustRevalidate || cc.ProxyRevalidate {
		return // §4.2.4: an explicit directive forbids stale; nothing overrides it
	}
	d.StaleWhileRevalidate = window(cc.StaleWhileRevalidate, p.StaleWhileRevalidate, cc.SMaxAge.Set)
	d.StaleIfError = window(cc.StaleIfError, p.StaleIfError, cc.SMaxAge.Set)
}

// window picks one stale window. The origin's explicit RFC 5861 directive
// counts even next to s-maxage: it states the exact staleness the origin
// allows, which is more specific than the proxy-revalidate that s-maxage
// implies (this is the package's reading; see doc.go). A policy override is
// an out-of-band contract (§4.2.4) and counts too. A policy fill-in applies
// only when the origin said nothing at all about staleness.
func window(origin Delta, policy Setting, sMaxAge bool) time.Duration {
	switch {
	case policy.Override:
		return bound(policy.Value)
	case origin.Set:
		return seconds(origin.Seconds)
	case sMaxAge:
		return 0
	}
	return bound(policy.Value)
}

// bound keeps a policy duration within [0, 2^31 s].
func bound(d time.Duration) time.Duration { return min(max(d, 0), maxDeltaDuration) }
