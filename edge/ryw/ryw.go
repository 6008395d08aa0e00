// Package ryw gives a user read-your-writes across the edge's caches.
//
// Every write the core acknowledges carries a version token
// ("<keyspace>.<seq>": the keyspace's outbox sequence number of the write,
// e.g. "shard-3.1234" or "global.56"), and every read the core answers
// carries the version of the data it shows. The edge remembers the newest
// token per keyspace for each user (Memory, bounded), and also hands the
// tokens back to the client in a header and a cookie so that another edge,
// in another region, honours them too. A cache entry may answer a request
// only if, for every token the request carries, the entry is of that
// keyspace and at least that new, or of another keyspace that the token
// cannot concern (see Set.Allows).
package ryw

import (
	"bytes"
	"errors"
	"strconv"
)

// MaxTokens bounds the tokens a Set holds: a user touches their shard and
// the global keyspace, a few more around a reshard.
const MaxTokens = 4

// GlobalKeyspace is the catalog's keyspace name in tokens.
const GlobalKeyspace = "global"

// Token is one keyspace's version.
type Token struct {
	Keyspace string
	Seq      uint64
}

// ErrBadToken is returned for a malformed token.
var ErrBadToken = errors.New("ryw: bad version token")

// ParseToken reads "<keyspace>.<seq>".
func ParseToken(b []byte) (Token, error) {
	i := bytes.LastIndexByte(b, '.')
	if i <= 0 || i > 64 || !validKeyspace(b[:i]) {
		return Token{}, ErrBadToken
	}
	seq, err := strconv.ParseUint(string(b[i+1:]), 10, 64)
	if err != nil {
		return Token{}, ErrBadToken
	}
	return Token{Keyspace: string(b[:i]), Seq: seq}, nil
}

func validKeyspace(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// AppendText appends the token's text form.
func (t Token) AppendText(dst []byte) []byte {
	dst = append(dst, t.Keyspace...)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, t.Seq, 10)
}

// Set is a small set of tokens, at most one per keyspace (the newest). The
// zero value is empty and ready; a Set is a value, copied freely.
type Set struct {
	n int
	t [MaxTokens]Token
}

// Len is the number of tokens.
func (s *Set) Len() int { return s.n }

// Add keeps the newer of t and the set's token of t's keyspace. When the
// set is full, the token with the lowest sequence gives way (it is the one
// most likely already covered by the caches).
func (s *Set) Add(t Token) {
	for i := range s.n {
		if s.t[i].Keyspace == t.Keyspace {
			s.t[i].Seq = max(s.t[i].Seq, t.Seq)
			return
		}
	}
	if s.n < MaxTokens {
		s.t[s.n] = t
		s.n++
		return
	}
	low := 0
	for i := 1; i < s.n; i++ {
		if s.t[i].Seq < s.t[low].Seq {
			low = i
		}
	}
	s.t[low] = t
}

// Merge adds every token of o.
func (s *Set) Merge(o Set) {
	for i := range o.n {
		s.Add(o.t[i])
	}
}

// Tokens returns the tokens (a copy).
func (s *Set) Tokens() []Token { return append([]Token(nil), s.t[:s.n]...) }

// Sep separates tokens in headers and cookies ('|' is a valid cookie
// octet; ',' and spaces are not).
const Sep = '|'

// ParseSet reads tokens separated by Sep (or ',' and spaces, as a header
// may list them). Malformed tokens are skipped: a client cannot break its
// own reads by sending garbage, only lose read-your-writes.
func ParseSet(b []byte) Set {
	var s Set
	for len(b) > 0 {
		i := bytes.IndexAny(b, "|, ")
		part := b
		if i >= 0 {
			part, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if t, err := ParseToken(part); err == nil {
			s.Add(t)
		}
	}
	return s
}

// AppendText appends the set's text form (tokens separated by Sep).
func (s *Set) AppendText(dst []byte) []byte {
	for i := range s.n {
		if i > 0 {
			dst = append(dst, Sep)
		}
		dst = s.t[i].AppendText(dst)
	}
	return dst
}

// Allows reports whether a cache entry of version entry (ok false: the
// entry carries none) may answer a request carrying s. perUser says the
// entry holds the requesting user's own data.
//
//   - No tokens: anything goes.
//   - An unversioned entry cannot prove it is new enough: refused.
//   - A token of the entry's keyspace: the entry must be at least as new.
//   - A shard token and a per-user entry of another shard (the user moved
//     in a reshard since): the versions cannot be compared, refused.
//   - Otherwise the token concerns other data (a shard write and a catalog
//     entry, or the reverse): allowed.
func (s *Set) Allows(entry Token, ok bool, perUser bool) bool {
	if s.n == 0 {
		return true
	}
	if !ok {
		return false
	}
	for i := range s.n {
		t := &s.t[i]
		switch {
		case t.Keyspace == entry.Keyspace:
			if entry.Seq < t.Seq {
				return false
			}
		case perUser && t.Keyspace != GlobalKeyspace && entry.Keyspace != GlobalKeyspace:
			return false
		}
	}
	return true
}
