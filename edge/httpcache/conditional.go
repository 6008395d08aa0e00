package httpcache

// NotModified reports whether a conditional request from a client is
// answered with 304 from this entry (RFC 9111 §4.3.2, RFC 9110 §13.1.2,
// §13.1.3, §13.2.2). Call it for GET and HEAD only; it holds for 200
// entries only.
//
//   - If-None-Match: true when it is "*" or lists an entity-tag that matches
//     the entry's by weak comparison (§8.8.3.2: opaque tags equal, W/
//     ignored). An entry without a usable ETag matches only "*".
//   - If-Modified-Since, only without If-None-Match (§13.2.2): true when the
//     entry's Last-Modified — or its Date when it has none (RFC 9111
//     §4.3.2) — is at or before the given date. An invalid date, or more
//     than one, is ignored (§13.1.3).
//
// The 304 carries the entry's Header (which holds what RFC 9110 §15.4.5
// asks for: Cache-Control, ETag, Expires, Vary, Content-Location), a Date
// and an Age, and no content. It does not allocate.
func (e *Entry) NotModified(req Header) bool {
	if e.status != 200 || req == nil {
		return false
	}
	var one [1][]byte
	if lines := fieldLines(req, "If-None-Match", &one); len(lines) > 0 {
		return e.noneMatch(lines)
	}
	ims := req.Peek("If-Modified-Since")
	if ims == nil {
		return false
	}
	t, ok := parseHTTPDate(ims)
	return ok && e.lmUnix <= t
}

// noneMatch evaluates If-None-Match lines. A malformed list stops at the
// first malformed member: what came before still counts.
func (e *Entry) noneMatch(lines [][]byte) bool {
	for _, l := range lines {
		for rest := trimOWS(l); len(rest) > 0; {
			if rest[0] == '*' {
				return true
			}
			tag, r, ok := entityTag(rest)
			if !ok {
				break
			}
			if e.tag != nil && string(tag) == string(e.tag) {
				return true
			}
			rest = skipListSeparators(r)
		}
	}
	return false
}

// entityTag splits the leading entity-tag off b (RFC 9110 §8.8.3) and
// returns its opaque-tag without the quotes.
func entityTag(b []byte) (opaque, rest []byte, ok bool) {
	if len(b) >= 2 && b[0] == 'W' && b[1] == '/' {
		b = b[2:]
	}
	if len(b) < 2 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], true
		case c < 0x21 || c == 0x7f: // etagc excludes controls and space
			return nil, nil, false
		}
	}
	return nil, nil, false
}

func skipListSeparators(b []byte) []byte {
	for len(b) > 0 && (isOWS(b[0]) || b[0] == ',') {
		b = b[1:]
	}
	return b
}

// parseETag returns the opaque-tag of a stored ETag value and whether it is
// weak; nil when the value is not a single entity-tag.
func parseETag(v []byte) (opaque []byte, weak bool) {
	v = trimOWS(v)
	tag, rest, ok := entityTag(v)
	if !ok || len(rest) != 0 {
		return nil, false
	}
	return tag, v[0] == 'W'
}
