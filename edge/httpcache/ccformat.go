package httpcache

import "strconv"

// AppendFormat appends d as a Cache-Control field value in a canonical
// form: lower case, fixed order, integers as tokens. Parsing the result
// gives d back for any d that ParseCacheControl produced.
func (d Directives) AppendFormat(dst []byte) []byte {
	start := len(dst)
	sep := func() {
		if len(dst) > start {
			dst = append(dst, ", "...)
		}
	}
	delta := func(name string, v Delta) {
		if v.Set {
			sep()
			dst = append(dst, name...)
			dst = append(dst, '=')
			dst = strconv.AppendInt(dst, v.Seconds, 10)
		}
	}
	flag := func(name string, on bool) {
		if on {
			sep()
			dst = append(dst, name...)
		}
	}
	delta("max-age", d.MaxAge)
	delta("s-maxage", d.SMaxAge)
	delta("stale-while-revalidate", d.StaleWhileRevalidate)
	delta("stale-if-error", d.StaleIfError)
	if d.MaxStale.Set && d.MaxStale.Seconds == MaxDelta {
		flag("max-stale", true)
	} else {
		delta("max-stale", d.MaxStale)
	}
	delta("min-fresh", d.MinFresh)
	flag("no-cache", d.NoCache)
	flag("no-store", d.NoStore)
	flag("no-transform", d.NoTransform)
	flag("public", d.Public)
	flag("private", d.Private)
	flag("must-revalidate", d.MustRevalidate)
	flag("proxy-revalidate", d.ProxyRevalidate)
	flag("must-understand", d.MustUnderstand)
	flag("immutable", d.Immutable)
	flag("only-if-cached", d.OnlyIfCached)
	return dst
}

// String is the canonical form of AppendFormat.
func (d Directives) String() string { return string(d.AppendFormat(nil)) }
