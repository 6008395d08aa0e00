package shardmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// ErrMalformed marks bytes that are not a well-formed shard map document.
var ErrMalformed = errors.New("shardmap: malformed map")

// Parse decodes and validates a map. It is strict because a map decides
// where every user's data goes: unknown keys, keys spelled in another case
// (encoding/json would accept "EPOCH"), duplicate keys (where encoding/json
// silently keeps the last) and anything after the document are rejected
// with ErrMalformed; a well-formed but invalid map fails with the errors of
// Validate.
func Parse(data []byte) (*Map, error) {
	if err := checkKeys(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Map
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the map", ErrMalformed)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Marshal validates m and encodes it as indented JSON with a final newline,
// the form stored in the control tables and shown by `cangqiong status`.
// Field order is fixed, so equal maps encode to equal bytes. (To print an
// invalid map while debugging, use encoding/json directly.)
func Marshal(m *Map) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("shardmap: marshal: %w", err)
	}
	return append(b, '\n'), nil
}

// knownKeys are the exact JSON names of Map, Shard and Keyspace fields.
var knownKeys = jsonNames(Map{}, Shard{}, Keyspace{})

func jsonNames(vs ...any) map[string]bool {
	names := make(map[string]bool)
	for _, v := range vs {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
	}
	return names
}

// checkKeys walks the document's tokens and rejects object keys that are
// not spelled exactly like a field, or that repeat within one object.
// Placement (a "weight" at the top level) is left to DisallowUnknownFields.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*object // nil entries are arrays
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if stack, err = step(stack, tok); err != nil {
			return err
		}
	}
}

// object tracks the keys of one JSON object being read.
type object struct {
	seen      map[string]bool
	expectKey bool
}

// step advances the walk by one token.
func step(stack []*object, tok json.Token) ([]*object, error) {
	top := (*object)(nil)
	if len(stack) > 0 {
		top = stack[len(stack)-1]
	}
	if top != nil && top.expectKey {
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return stack[:len(stack)-1], nil
		}
		return stack, top.key(tok.(string)) // Token guarantees a string here
	}
	if top != nil {
		top.expectKey = true // tok is this member's value
	}
	switch tok {
	case json.Delim('{'):
		return append(stack, &object{seen: map[string]bool{}, expectKey: true}), nil
	case json.Delim('['):
		return append(stack, nil), nil
	case json.Delim(']'):
		return stack[:len(stack)-1], nil
	}
	return stack, nil
}

func (o *object) key(k string) error {
	switch {
	case !knownKeys[k]:
		return fmt.Errorf("unknown key %q", k)
	case o.seen[k]:
		return fmt.Errorf("duplicate key %q", k)
	}
	o.seen[k] = true
	o.expectKey = false
	return nil
}
