package move

import (
	"errors"
	"fmt"
)

var (
	// ErrUnmovable: a table cannot be moved user by user, because it has
	// no primary key or its key does not lead with user_id.
	ErrUnmovable = errors.New("move: table cannot be moved by user")
	// ErrBadProgress: a Progress does not fit the tables being copied.
	ErrBadProgress = errors.New("move: progress does not fit the tables")
	// ErrBadKey: a primary key value cannot be kept in a Progress, or a
	// persisted one cannot be read back.
	ErrBadKey = errors.New("move: bad primary key value")
	// ErrOutboxGap: the outbox misses sequence numbers after the cursor
	// (trimmed before the catch-up read them, or written without the
	// counter), so changes may be lost; the move must restart from a copy.
	ErrOutboxGap = errors.New("move: gap in the outbox sequence")
	// ErrNoUsers: a Users selects nobody explicitly (no IDs, no Filter).
	// Deleting "everyone" by omission is refused.
	ErrNoUsers = errors.New("move: no users selected")
	// ErrTooManyMismatches: Verify stopped after MaxMismatches.
	ErrTooManyMismatches = errors.New("move: too many mismatches")
)

// wrap adds the step that failed.
func wrap(what string, err error) error {
	return fmt.Errorf("move: %s: %w", what, err)
}
