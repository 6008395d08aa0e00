package httpcache

// MaxDelta is the largest delta-seconds value the package keeps: RFC 9111
// §1.2.2 says a larger value, or an overflow, counts as 2^31 seconds
// ("effectively infinity", over 68 years).
const MaxDelta = 1 << 31

// Delta is a directive's delta-seconds argument; Set says the directive was
// present.
type Delta struct {
	Seconds int64
	Set     bool
}

// Directives are the Cache-Control directives of one message (RFC 9111 §5.2
// and RFC 5861). Request-only and response-only directives share the type;
// each field says where it applies. The zero value is "no directives".
//
// Directives are parsed conservatively, so that a mistake can only make the
// cache store less or revalidate more:
//   - A malformed max-age or s-maxage (no argument, not an integer, trailing
//     junk) counts as 0: RFC 9111 §4.2.1 encourages treating invalid
//     freshness information as stale.
//   - Of a directive given twice the first occurrence counts (§4.2.1 allows
//     the first occurrence or "stale"; conflicting directives are resolved by
//     the storing rules, where the most restrictive wins).
//   - no-cache="f" and private="f" (qualified forms, §5.2.2.4 and §5.2.2.7)
//     count as the unqualified directive: the whole response is treated as
//     no-cache or private rather than stripped of the listed fields.
//   - A restrictive flag (no-store, no-cache, private, must-revalidate,
//     proxy-revalidate, no-transform) counts even with an unexpected
//     argument; a permissive one (public, must-understand, immutable) does
//     not.
//   - Malformed stale-while-revalidate, stale-if-error, min-fresh and
//     max-stale arguments are ignored, as if the directive were absent.
//   - Directive names are case-insensitive; unknown extensions are ignored.
//   - Arguments may be tokens or quoted strings (§5.2: recipients accept
//     both); no whitespace is allowed around "=".
type Directives struct {
	// Request and response.
	MaxAge      Delta // §5.2.1.1, §5.2.2.1
	NoCache     bool  // §5.2.1.4, §5.2.2.4
	NoStore     bool  // §5.2.1.5, §5.2.2.5
	NoTransform bool  // §5.2.1.6, §5.2.2.6

	// Response only.
	SMaxAge              Delta // §5.2.2.10
	StaleWhileRevalidate Delta // RFC 5861 §3
	StaleIfError         Delta // RFC 5861 §4
	Public               bool  // §5.2.2.9
	Private              bool  // §5.2.2.7
	MustRevalidate       bool  // §5.2.2.2
	ProxyRevalidate      bool  // §5.2.2.8
	MustUnderstand       bool  // §5.2.2.3
	Immutable            bool  // RFC 8246; parsed, not acted on

	// Request only.
	MaxStale     Delta // §5.2.1.2; without an argument: MaxDelta
	MinFresh     Delta // §5.2.1.3
	OnlyIfCached bool  // §5.2.1.7
}

// ParseCacheControl parses one Cache-Control field value. It does not
// allocate.
func ParseCacheControl(b []byte) Directives {
	var d Directives
	d.parse(b)
	return d
}

// cacheControl parses every Cache-Control line of h as one list
// (RFC 9110 §5.3).
func cacheControl(h Header) (d Directives, present bool) {
	var one [1][]byte
	lines := fieldLines(h, "Cache-Control", &one)
	for _, l := range lines {
		d.parse(l)
	}
	return d, len(lines) > 0
}

// RequestDirectives returns the request's cache directives: its
// Cache-Control, or when that is absent a "Pragma: no-cache", which then
// counts as no-cache (RFC 9111 §5.4).
func RequestDirectives(h Header) Directives {
	d, present := cacheControl(h)
	if !present && h != nil {
		for e, rest := nextElement(h.Peek("Pragma")); ; e, rest = nextElement(rest) {
			if equalFold(e, "no-cache") {
				d.NoCache = true
			}
			if rest == nil {
				break
			}
		}
	}
	return d
}

func (d *Directives) parse(b []byte) {
	for len(b) > 0 {
		var name, arg []byte
		var hasArg, ok bool
		for len(b) > 0 && isOWS(b[0]) {
			b = b[1:]
		}
		name, b = token(b)
		ok = len(b) == 0 || b[0] == ',' || isOWS(b[0]) || b[0] == '='
		if len(b) > 0 && b[0] == '=' {
			hasArg = true
			arg, b, ok = argument(b[1:])
		}
		b, ok = endOfElement(b, ok)
		if len(name) > 0 {
			d.apply(name, arg, hasArg, ok)
		}
	}
}

// argument reads a directive's token or quoted-string argument. ok is false
// for an empty or unterminated argument and for a quoted one that uses
// quoted-pairs (no numeric argument needs them).
func argument(b []byte) (arg, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		arg, rest = token(b)
		return arg, rest, len(arg) > 0
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			ok, i = false, i+1
			if i >= len(b) {
				return nil, nil, false
			}
		case '"':
			return b[1:i], b[i+1:], !containsByte(b[1:i], '\\')
		}
	}
	return nil, nil, false
}

// endOfElement skips to the next element. Anything but whitespace before
// the comma makes the element malformed.
func endOfElement(b []byte, ok bool) ([]byte, bool) {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	if len(b) > 0 && b[0] != ',' {
		ok = false
		_, b = nextElement(b)
		return b, ok
	}
	if len(b) > 0 {
		b = b[1:]
	}
	return b, ok
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func (d *Directives) apply(name, arg []byte, hasArg, ok bool) {
	switch {
	case equalFold(name, "max-age"):
		setFreshness(&d.MaxAge, arg, hasArg && ok)
	case equalFold(name, "s-maxage"):
		setFreshness(&d.SMaxAge, arg, hasArg && ok)
	case equalFold(name, "stale-while-revalidate"):
		setOptional(&d.StaleWhileRevalidate, arg, hasArg && ok)
	case equalFold(name, "stale-if-error"):
		setOptional(&d.StaleIfError, arg, hasArg && ok)
	case equalFold(name, "min-fresh"):
		setOptional(&d.MinFresh, arg, hasArg && ok)
	case equalFold(name, "max-stale"):
		if !hasArg && ok && !d.MaxStale.Set {
			d.MaxStale = Delta{Seconds: MaxDelta, Set: true}
		} else {
			setOptional(&d.MaxStale, arg, hasArg && ok)
		}
	default:
		d.applyFlag(name, !hasArg && ok)
	}
}

// applyFlag sets a flag directive. clean is false when the directive came
// with an argument or junk: restrictive flags count anyway, permissive ones
// do not.
func (d *Directives) applyFlag(name []byte, clean bool) {
	switch {
	case equalFold(name, "no-cache"):
		d.NoCache = true
	case equalFold(name, "no-store"):
		d.NoStore = true
	case equalFold(name, "private"):
		d.Private = true
	case equalFold(name, "must-revalidate"):
		d.MustRevalidate = true
	case equalFold(name, "proxy-revalidate"):
		d.ProxyRevalidate = true
	case equalFold(name, "no-transform"):
		d.NoTransform = true
	case !clean:
	case equalFold(name, "public"):
		d.Public = true
	case equalFold(name, "must-understand"):
		d.MustUnderstand = true
	case equalFold(name, "immutable"):
		d.Immutable = true
	case equalFold(name, "only-if-cached"):
		d.OnlyIfCached = true
	}
}

// setFreshness keeps the first occurrence; a malformed one counts as 0
// (stale, RFC 9111 §4.2.1).
func setFreshness(dst *Delta, arg []byte, ok bool) {
	if dst.Set {
		return
	}
	n, valid := parseDelta(arg)
	if !ok || !valid {
		n = 0
	}
	*dst = Delta{Seconds: n, Set: true}
}

// setOptional keeps the first valid occurrence; malformed ones are ignored.
func setOptional(dst *Delta, arg []byte, ok bool) {
	if dst.Set || !ok {
		return
	}
	if n, valid := parseDelta(arg); valid {
		*dst = Delta{Seconds: n, Set: true}
	}
}
