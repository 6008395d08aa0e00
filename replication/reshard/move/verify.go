package move

import (
	"context"
	"fmt"
)

// MaxMismatches bounds what Verify collects; past it Verify stops with
// ErrTooManyMismatches (something is wrong wholesale).
const MaxMismatches = 1000

// verifyBatch is how many users Verify checksums per pair of snapshots.
const verifyBatch = 128

// Mismatch is a user whose rows differ between source and target.
type Mismatch struct {
	User       int64    `json:"user"`
	SourceSum  [32]byte `json:"source_sum"`
	TargetSum  [32]byte `json:"target_sum"`
	SourceRows int      `json:"source_rows"`
	TargetRows int      `json:"target_rows"`
}

func (m Mismatch) String() string {
	return fmt.Sprintf("user %d: source %x (%d rows), target %x (%d rows)",
		m.User, m.SourceSum[:6], m.SourceRows, m.TargetSum[:6], m.TargetRows)
}

// Verify compares the checksums of the selected users on the source and
// the target and returns the users that differ, in ascending order. With a
// Filter and no IDs it lists the users present on either side (a user
// left only on the target is checked too), a page at a time.
//
// Verify compares what both sides hold now: run it while the moving users'
// writes are held, or leave out the users the target's outbox shows
// written since the cutover (ChangedUsers on the target).
func Verify(ctx context.Context, src, dst DB, tables []Table, users Users) ([]Mismatch, error) {
	var out []Mismatch
	err := users.each(ctx, []DB{src, dst}, tables, verifyBatch, func(batch []int64) error {
		ms, err := compare(ctx, src, dst, tables, batch)
		if err != nil {
			return err
		}
		out = append(out, ms...)
		if len(out) > MaxMismatches {
			out = out[:MaxMismatches]
			return fmt.Errorf("%w: more than %d", ErrTooManyMismatches, MaxMismatches)
		}
		return nil
	})
	return out, err
}

// compare checksums one batch of users on both sides.
func compare(ctx context.Context, src, dst DB, tables []Table, users []int64) ([]Mismatch, error) {
	a, err := checksums(ctx, src, tables, users)
	if err != nil {
		return nil, wrap("source", err)
	}
	b, err := checksums(ctx, dst, tables, users)
	if err != nil {
		return nil, wrap("target", err)
	}
	var out []Mismatch
	for _, u := range users {
		if a[u] != b[u] {
			out = append(out, Mismatch{User: u, SourceSum: a[u].sum, TargetSum: b[u].sum, SourceRows: a[u].rows, TargetRows: b[u].rows})
		}
	}
	return out, nil
}
