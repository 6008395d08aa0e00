package httpcache

// XCacheHeader is the response field that says what the cache did.
const XCacheHeader = "X-Cache"

// XCache is an X-Cache value: what happened, and for a stored response,
// which level had it.
type XCache string

// X-Cache values.
const (
	HitL1       XCache = "HIT-L1"      // fresh entry from this edge's memory
	HitL2       XCache = "HIT-L2"      // fresh entry from the region's Redis
	StaleL1     XCache = "STALE-L1"    // stale entry served (while revalidating, or the origin failed) from memory
	StaleL2     XCache = "STALE-L2"    // the same, from Redis
	Miss        XCache = "MISS"        // no usable entry; the origin answered
	Revalidated XCache = "REVALIDATED" // a stored entry, confirmed by the origin with 304
	Bypass      XCache = "BYPASS"      // the cache was not consulted (policy, method, request no-store)
)

// HitFrom is HitL1 or HitL2 for level 1 or 2.
func HitFrom(level int) XCache {
	if level == 2 {
		return HitL2
	}
	return HitL1
}

// StaleFrom is StaleL1 or StaleL2 for level 1 or 2.
func StaleFrom(level int) XCache {
	if level == 2 {
		return StaleL2
	}
	return StaleL1
}
