package httpcache

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
)

// A stored response answers only requests whose selecting fields, named by
// its Vary, match the request it was stored for (RFC 9111 §4.1). The
// package keeps one response per key: a response with other Vary values
// replaces the stored one instead of being kept beside it. Variants beside
// each other would need a second lookup level for a case the edge's origin
// avoids (it varies on Accept-Encoding, which the edge negotiates itself,
// see Pick); a flapping variant costs misses, never a wrong answer.

// varyField is one selecting field of the stored request.
type varyField struct {
	name    string // lower case
	present bool   // absent only matches absent (§4.1)
	value   []byte // normalised value, or the SHA-256 of a credential field
}

// varyNames collects the Vary field names of every Vary line, lowered,
// sorted and unique. ok is false for "*" (§4.1: never matches) and for a
// name that is not a token.
func varyNames(h Header) (names []string, ok bool) {
	var one [1][]byte
	for _, line := range fieldLines(h, "Vary", &one) {
		for e, rest := nextElement(line); ; e, rest = nextElement(rest) {
			if len(e) > 0 {
				if tok, junk := token(e); len(junk) > 0 || string(tok) == "*" {
					return nil, false
				}
				names = append(names, strings.ToLower(string(e)))
			}
			if rest == nil {
				break
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), true
}

// credential fields are kept as a SHA-256 digest, so the stores never hold
// a user's token or cookie in the clear.
func credential(name string) bool {
	return name == "authorization" || name == "cookie" || name == "proxy-authorization"
}

// captureVary records the request's values of the selecting fields.
func captureVary(names []string, req Header) []varyField {
	out := make([]varyField, 0, len(names))
	for _, n := range names {
		var one [1][]byte
		lines := fieldLines(req, n, &one)
		f := varyField{name: n, present: len(lines) > 0}
		if credential(n) {
			sum := digest(lines)
			f.value = sum[:]
		} else {
			z := normalizer{}
			z.lines(lines)
			f.value = z.out
		}
		out = append(out, f)
	}
	return out
}

// Matches reports whether the request's selecting fields match the stored
// request's (RFC 9111 §4.1): the same fields present, with values equal
// after removing whitespace around list elements, collapsing runs of
// whitespace, dropping empty elements and combining repeated lines. Values
// are compared case-sensitively, which can only cost a miss. It does not
// allocate, save for a credential field split over several lines.
func (e *Entry) Matches(req Header) bool {
	for i := range e.vary {
		f := &e.vary[i]
		var one [1][]byte
		lines := fieldLines(req, f.name, &one)
		if (len(lines) > 0) != f.present {
			return false
		}
		if credential(f.name) {
			sum := digest(lines)
			if !bytes.Equal(sum[:], f.value) {
				return false
			}
			continue
		}
		z := normalizer{want: f.value, compare: true}
		z.lines(lines)
		if z.diff || z.n != len(f.value) {
			return false
		}
	}
	return true
}

func digest(lines [][]byte) [sha256.Size]byte {
	if len(lines) <= 1 {
		var v []byte
		if len(lines) == 1 {
			v = lines[0]
		}
		return sha256.Sum256(v)
	}
	return sha256.Sum256(bytes.Join(lines, []byte(", ")))
}

// normalizer produces a field value's normal form either into out or, with
// compare set, against want without allocating.
type normalizer struct {
	out     []byte
	want    []byte
	n       int
	compare bool
	diff    bool
}

func (z *normalizer) put(c byte) {
	if !z.compare {
		z.out = append(z.out, c)
		return
	}
	if z.n >= len(z.want) || z.want[z.n] != c {
		z.diff = true
	}
	z.n++
}

// lines writes the elements of every line, comma-joined.
func (z *normalizer) lines(lines [][]byte) {
	first := true
	for _, line := range lines {
		for e, rest := nextElement(line); ; e, rest = nextElement(rest) {
			if len(e) > 0 {
				if !first {
					z.put(',')
				}
				first = false
				z.element(e)
			}
			if rest == nil {
				break
			}
		}
	}
}

func (z *normalizer) element(e []byte) {
	space := false
	for _, c := range e {
		if isOWS(c) {
			space = true
			continue
		}
		if space {
			z.put(' ')
			space = false
		}
		z.put(c)
	}
}
