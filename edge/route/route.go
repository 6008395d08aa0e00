// Package route matches a request's method and path against the edge's
// configured routes, the way the edge's policy file names them:
//
//	GET /api/v1/shops/{shop}/menu   one method, {name} captures a segment
//	* /api/v1/me/**                 any method; /** matches the rest (or nothing)
//
// Routes are tried in the order given; the first match wins. Matching does
// not allocate: captured values are sub-slices of the path.
package route

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// MaxParams bounds the {captures} of one pattern.
const MaxParams = 8

// Pattern is one parsed route pattern.
type Pattern struct {
	Method string // "" matches any method
	segs   []segment
	rest   bool // ends in /**
	text   string
}

type segment struct {
	lit   string // literal segment, or the capture's name
	param bool
}

// ErrPattern is wrapped by Parse errors.
var ErrPattern = errors.New("route: bad pattern")

// Parse reads "METHOD /path" or "* /path".
func Parse(s string) (*Pattern, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%w %q: want \"METHOD /path\" or \"* /path\"", ErrPattern, s)
	}
	p := &Pattern{text: s}
	if method != "*" {
		if method != strings.ToUpper(method) || method == "" {
			return nil, fmt.Errorf("%w %q: method must be upper case or *", ErrPattern, s)
		}
		p.Method = method
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if parts[len(parts)-1] == "**" {
		p.rest, parts = true, parts[:len(parts)-1]
	}
	params := 0
	for _, part := range parts {
		seg, err := parseSegment(part, s)
		if err != nil {
			return nil, err
		}
		if seg.param {
			params++
		}
		p.segs = append(p.segs, seg)
	}
	if params > MaxParams {
		return nil, fmt.Errorf("%w %q: more than %d captures", ErrPattern, s, MaxParams)
	}
	return p, nil
}

func parseSegment(part, s string) (segment, error) {
	switch {
	case part == "" && s != "":
		return segment{}, nil // "/" root or trailing slash: an empty literal
	case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
		name := part[1 : len(part)-1]
		if name == "" || strings.ContainsAny(name, "{}*/") {
			return segment{}, fmt.Errorf("%w %q: bad capture %q", ErrPattern, s, part)
		}
		return segment{lit: name, param: true}, nil
	case strings.ContainsAny(part, "{}*"):
		return segment{}, fmt.Errorf("%w %q: segment %q mixes literal and capture", ErrPattern, s, part)
	}
	return segment{lit: part}, nil
}

// String is the pattern as written.
func (p *Pattern) String() string { return p.text }

// Params are the captures of a match.
type Params struct {
	n     int
	names [MaxParams]string
	vals  [MaxParams][]byte
}

// Get returns the value captured as name, or nil.
func (ps *Params) Get(name string) []byte {
	for i := range ps.n {
		if ps.names[i] == name {
			return ps.vals[i]
		}
	}
	return nil
}

// Len is the number of captures.
func (ps *Params) Len() int { return ps.n }

// At returns capture i.
func (ps *Params) At(i int) (string, []byte) { return ps.names[i], ps.vals[i] }

// Match reports whether method and path match, filling ps.
func (p *Pattern) Match(method, path []byte, ps *Params) bool {
	if p.Method != "" && string(method) != p.Method {
		return false
	}
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	rest := path[1:]
	ps.n = 0
	for _, seg := range p.segs {
		if rest == nil {
			return false
		}
		var part []byte
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		} else {
			part, rest = rest, nil
		}
		if seg.param {
			if len(part) == 0 {
				return false
			}
			ps.names[ps.n], ps.vals[ps.n] = seg.lit, part
			ps.n++
		} else if string(part) != seg.lit {
			return false
		}
	}
	return rest == nil || p.rest
}

// Table is routes in order with a value each.
type Table[V any] struct {
	patterns []*Pattern
	values   []V
}

// Add appends a route.
func (t *Table[V]) Add(pattern string, v V) error {
	p, err := Parse(pattern)
	if err != nil {
		return err
	}
	t.patterns = append(t.patterns, p)
	t.values = append(t.values, v)
	return nil
}

// Lookup returns the value of the first route matching method and path.
func (t *Table[V]) Lookup(method, path []byte, ps *Params) (v V, pattern *Pattern, ok bool) {
	for i, p := range t.patterns {
		if p.Match(method, path, ps) {
			return t.values[i], p, true
		}
	}
	return v, nil, false
}
