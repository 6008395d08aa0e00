package httpcache

// The content codings an Entry may hold its body in, in order of
// preference when the client rates them equally.
const (
	identity = iota
	codingGzip
	codingBr
	numCodings
)

var codingNames = [numCodings][]byte{nil, []byte("gzip"), []byte("br")}

// Pick chooses the body to send for the request's Accept-Encoding value
// (RFC 9110 §12.5.3) and returns it with its content coding, nil for
// identity. The caller sets Content-Encoding to the coding when it is not
// nil and must not modify either slice.
//
// Of the codings the entry holds, the one with the highest q-value wins;
// ties go to br, then gzip, then identity. q=0 rules a coding out, "*"
// rates codings not listed, identity is acceptable unless ruled out. A
// request without Accept-Encoding gets identity: RFC 9110 lets the server
// pick any coding then, but clients that send nothing are mostly tools that
// would not decode. If the client accepts nothing the entry holds, it gets
// identity anyway (§12.5.3 allows ignoring the field). An entry that kept
// the origin's own coding (no-transform, or a coding the edge does not
// decode) returns that body and coding whatever the client sent; its Vary
// keeps Accept-Encoding, so it only meets requests like the one it was
// stored for. Pick does not allocate.
func (e *Entry) Pick(acceptEncoding []byte) (body, coding []byte) {
	if e.opaque != nil {
		return e.bodies[identity], e.opaque
	}
	if len(e.bodies[codingGzip]) == 0 && len(e.bodies[codingBr]) == 0 || acceptEncoding == nil {
		return e.bodies[identity], nil
	}
	q := acceptQ(acceptEncoding)
	best, bestQ := identity, q[identity]
	for _, c := range [...]int{codingGzip, codingBr} {
		if e.bodies[c] != nil && q[c] > 0 && q[c] >= bestQ {
			best, bestQ = c, q[c]
		}
	}
	return e.bodies[best], codingNames[best]
}

// acceptQ rates identity, gzip and br in thousandths from an
// Accept-Encoding value. Of a coding listed twice the first counts; a
// malformed q-value rules the coding out.
func acceptQ(ae []byte) [numCodings]int {
	const unset = -1
	q := [numCodings]int{unset, unset, unset}
	star := unset
	for e, rest := nextElement(ae); ; e, rest = nextElement(rest) {
		name, params := token(e)
		v := qvalue(params)
		switch {
		case equalFold(name, "br"):
			setQ(&q[codingBr], v)
		case equalFold(name, "gzip"), equalFold(name, "x-gzip"): // x-gzip: RFC 9110 §8.4.1.3
			setQ(&q[codingGzip], v)
		case equalFold(name, "identity"):
			setQ(&q[identity], v)
		case string(name) == "*":
			setQ(&star, v)
		}
		if rest == nil {
			break
		}
	}
	if q[identity] == unset && star == unset {
		// Identity is acceptable unless excluded (§12.5.3); rated lowest so
		// that any coding the client names wins.
		q[identity] = 1
	}
	for c := range q {
		if q[c] == unset {
			q[c] = max(star, 0)
		}
	}
	return q
}

func setQ(dst *int, v int) {
	if *dst < 0 {
		*dst = v
	}
}

// qvalue reads the weight of ";q=0.5"-style parameters (RFC 9110 §12.4.2):
// 1000 without one, 0 when malformed.
func qvalue(params []byte) int {
	for len(params) > 0 {
		params = trimOWS(params)
		if len(params) == 0 || params[0] != ';' {
			return 0
		}
		params = trimOWS(params[1:])
		var name []byte
		name, params = token(params)
		if len(params) == 0 || params[0] != '=' {
			continue // a parameter without value: skip it
		}
		var val []byte
		val, params = token(params[1:])
		if equalFold(name, "q") {
			return parseQ(val)
		}
	}
	return 1000
}

// parseQ reads qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
func parseQ(b []byte) int {
	if len(b) == 0 || len(b) > 5 || b[0] != '0' && b[0] != '1' {
		return 0
	}
	n := int(b[0]-'0') * 1000
	if len(b) == 1 {
		return n
	}
	if b[1] != '.' {
		return 0
	}
	scale := 100
	for _, c := range b[2:] {
		if c < '0' || c > '9' {
			return 0
		}
		n += int(c-'0') * scale
		scale /= 10
	}
	if n > 1000 {
		return 0
	}
	return n
}
