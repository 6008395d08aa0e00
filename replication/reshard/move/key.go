package move

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Key is one row's primary key, column by column, as the driver returns
// values: int64, uint64, []byte (strings and binary strings) or time.Time.
//
// It marshals to JSON without loss, each value a tagged string, so that a
// coordinator can persist it anywhere and a BIGINT above 2^53 survives:
//
//	["i:42", "u:7", "s:order-12", "x:00ff", "t:2026-01-02T03:04:05.123456Z"]
//
// "s:" holds text that is valid UTF-8, "x:" any other bytes in hex; both
// read back as []byte.
type Key []any

// MarshalJSON encodes every value tagged with its type.
func (k Key) MarshalJSON() ([]byte, error) {
	if k == nil {
		return []byte("null"), nil
	}
	out := make([]string, len(k))
	for i, v := range k {
		s, err := encodeKeyValue(v)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (k *Key) UnmarshalJSON(b []byte) error {
	var in []string
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if in == nil {
		*k = nil
		return nil
	}
	out := make(Key, len(in))
	for i, s := range in {
		v, err := decodeKeyValue(s)
		if err != nil {
			return err
		}
		out[i] = v
	}
	*k = out
	return nil
}

func encodeKeyValue(v any) (string, error) {
	switch v := v.(type) {
	case int64:
		return "i:" + strconv.FormatInt(v, 10), nil
	case uint64:
		return "u:" + strconv.FormatUint(v, 10), nil
	case []byte:
		if utf8.Valid(v) {
			return "s:" + string(v), nil
		}
		return "x:" + hex.EncodeToString(v), nil
	case time.Time:
		return "t:" + v.UTC().Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("%w: %T in a primary key", ErrBadKey, v)
}

func decodeKeyValue(s string) (any, error) {
	tag, body, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("%w: %q has no type tag", ErrBadKey, s)
	}
	var v any
	var err error
	switch tag {
	case "i":
		v, err = strconv.ParseInt(body, 10, 64)
	case "u":
		v, err = strconv.ParseUint(body, 10, 64)
	case "s":
		v = []byte(body)
	case "x":
		v, err = hex.DecodeString(body)
	case "t":
		v, err = time.Parse(time.RFC3339Nano, body)
	default:
		err = fmt.Errorf("unknown type tag %q", tag)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadKey, s, err)
	}
	return v, nil
}
