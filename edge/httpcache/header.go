package httpcache

import "iter"

// Header is read access to one message's header fields. fasthttp's
// *RequestHeader and *ResponseHeader satisfy it. Peek matches the field name
// case-insensitively and returns nil when the field is absent.
type Header interface {
	Peek(key string) []byte
}

// MultiHeader is a Header that keeps repeated field lines apart, as
// fasthttp's headers do. When a Header is also a MultiHeader the package
// reads every line of a list-valued field (Cache-Control, Vary,
// If-None-Match, …), not only the first (RFC 9110 §5.3). The result is read
// before the next PeekAll call, never kept.
type MultiHeader interface {
	PeekAll(key string) [][]byte
}

// Fields is a Header that can also list all its field lines. Storing a
// response needs it to copy the fields an Entry replays; fasthttp's
// *ResponseHeader satisfies it.
type Fields interface {
	Header
	All() iter.Seq2[[]byte, []byte]
}

// Field is one header field line that an Entry replays.
type Field struct {
	Name, Value []byte
}

// fieldLines returns every line of the field key. one is scratch space for
// a plain Header; it keeps the single-line case free of allocations.
func fieldLines(h Header, key string, one *[1][]byte) [][]byte {
	if h == nil {
		return nil
	}
	if m, ok := h.(MultiHeader); ok {
		return m.PeekAll(key)
	}
	v := h.Peek(key)
	if v == nil {
		return nil
	}
	one[0] = v
	return one[:]
}

// fieldList is a Fields over a slice. Refreshed uses it to run the storing
// rules on a merged header; tests use it as a fake.
type fieldList []Field

func (l fieldList) Peek(key string) []byte {
	for _, f := range l {
		if equalFold(f.Name, key) {
			return f.Value
		}
	}
	return nil
}

func (l fieldList) PeekAll(key string) [][]byte {
	var out [][]byte
	for _, f := range l {
		if equalFold(f.Name, key) {
			out = append(out, f.Value)
		}
	}
	return out
}

func (l fieldList) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for _, f := range l {
			if !yield(f.Name, f.Value) {
				return
			}
		}
	}
}
