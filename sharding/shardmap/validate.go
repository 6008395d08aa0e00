package shardmap

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/cangqiong/cangqiong/sharding/ring"
)

// Problems Validate and ValidateSuccessor report. Shard problems arrive
// wrapped in *ShardError, which names the shard; match them with errors.Is.
var (
	ErrDuplicateID     = errors.New("duplicate shard id")
	ErrInvalidID       = errors.New("invalid shard id (want 1-64 of a-z, 0-9, '-')")
	ErrInvalidWeight   = fmt.Errorf("invalid weight (want 1..%d)", ring.MaxWeight)
	ErrInvalidState    = errors.New("invalid state (want serving, draining or joining)")
	ErrInvalidAddress  = errors.New("invalid address (want host:port)")
	ErrInvalidDatabase = errors.New("invalid database name (want 1-64 of A-Z, a-z, 0-9, '_', '$', '-')")
	ErrNoGlobal        = errors.New("global keyspace has no address")
	ErrNoOwner         = errors.New("no shard is serving or draining, so no user has an owner")
	ErrInvalidFreeze   = errors.New("freeze needs a joining or draining shard (nobody moves)")
	ErrStaleEpoch      = errors.New("epoch does not increase")
)

// ShardError is a problem with one shard of a map.
type ShardError struct {
	Index int    // position in Map.Shards
	ID    string // as given, possibly invalid
	Err   error
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("shardmap: shard %q (#%d): %v", e.ID, e.Index, e.Err)
}

func (e *ShardError) Unwrap() error { return e.Err }

// Validate reports every problem of m at once (joined with errors.Join) so an
// operator fixes a map in one round; nil means m is usable.
func (m *Map) Validate() error {
	var errs []error
	seen := make(map[string]bool, len(m.Shards))
	owners := 0
	for i, s := range m.Shards {
		for _, err := range s.problems() {
			errs = append(errs, &ShardError{Index: i, ID: s.ID, Err: err})
		}
		if seen[s.ID] {
			errs = append(errs, &ShardError{Index: i, ID: s.ID, Err: ErrDuplicateID})
		}
		seen[s.ID] = true
		if s.State.OwnsUsers() {
			owners++
		}
	}
	if owners == 0 {
		errs = append(errs, fmt.Errorf("shardmap: %w", ErrNoOwner))
	}
	if m.Freeze && !m.Moving() {
		errs = append(errs, fmt.Errorf("shardmap: %w", ErrInvalidFreeze))
	}
	return errors.Join(append(errs, m.Global.problems()...)...)
}

// problems lists what is wrong with one shard on its own.
func (s Shard) problems() []error {
	var errs []error
	if !validID(s.ID) {
		errs = append(errs, ErrInvalidID)
	}
	if s.Weight < 1 || s.Weight > ring.MaxWeight {
		errs = append(errs, fmt.Errorf("%w: %d", ErrInvalidWeight, s.Weight))
	}
	if !s.State.valid() {
		errs = append(errs, fmt.Errorf("%w: %q", ErrInvalidState, s.State))
	}
	if err := checkAddress(s.Address); err != nil {
		errs = append(errs, err)
	}
	if s.Database != "" && !validDatabase(s.Database) {
		errs = append(errs, fmt.Errorf("%w: %q", ErrInvalidDatabase, s.Database))
	}
	return errs
}

func (k Keyspace) problems() []error {
	var errs []error
	if k.Address == "" {
		errs = append(errs, fmt.Errorf("shardmap: %w", ErrNoGlobal))
	} else if err := checkAddress(k.Address); err != nil {
		errs = append(errs, fmt.Errorf("shardmap: global keyspace: %w", err))
	}
	if k.Database != "" && !validDatabase(k.Database) {
		errs = append(errs, fmt.Errorf("shardmap: global keyspace: %w: %q", ErrInvalidDatabase, k.Database))
	}
	return errs
}

// ValidateSuccessor reports whether next may replace prev: next must be
// valid and have a higher epoch. A nil prev (no map yet) accepts any valid
// next.
func ValidateSuccessor(prev, next *Map) error {
	if err := next.Validate(); err != nil {
		return err
	}
	if prev != nil && next.Epoch <= prev.Epoch {
		return fmt.Errorf("shardmap: %w: %d after %d", ErrStaleEpoch, next.Epoch, prev.Epoch)
	}
	return nil
}

// validID: lower-case letters, digits and '-', 1 to 64 bytes. The ID lands
// in logs, metrics labels and ring placement, so it is kept boring.
func validID(id string) bool {
	return validName(id, func(c byte) bool {
		return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
	})
}

// validDatabase keeps schema names to characters that cannot break out of a
// back-quoted identifier in the SQL the router writes.
func validDatabase(db string) bool {
	return validName(db, func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == '$' || c == '-'
	})
}

func validName(s string, ok func(byte) bool) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// checkAddress accepts host:port with a non-empty host free of spaces and
// control characters and a numeric port in 1..65535 (0 would mean "any
// port", which is no place to connect to).
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if host == "" || strings.ContainsFunc(host, badHostRune) || err != nil || n == 0 {
		return fmt.Errorf("%w: %q", ErrInvalidAddress, addr)
	}
	return nil
}

func badHostRune(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '/' || r == '@' || r > 0x7e
}

// Moving reports whether a shard joins or drains: the Settled() form moves
// users. A valid map freezes writes only while it moves.
func (m *Map) Moving() bool {
	for _, s := range m.Shards {
		if s.State != Serving {
			return true
		}
	}
	return false
}
