package move

import (
	"fmt"
	"slices"
)

// Progress is how far a copy got. It is small and JSON-able: the
// coordinator persists the one Copier.Config.OnProgress hands it after each
// batch and passes it back to Copy to resume, on this node or another.
// The zero Progress starts from the beginning.
type Progress struct {
	// Done lists the tables copied completely.
	Done []string `json:"done,omitempty"`
	// Table is the table being copied, "" between tables.
	Table string `json:"table,omitempty"`
	// After is the primary key of the last row of Table whose batch is on
	// the target; the copy goes on after it. Nil: Table starts at its
	// first row.
	After Key `json:"after,omitempty"`
	// Scanned counts rows read from the source, matching or not.
	Scanned int64 `json:"scanned"`
	// Rows counts rows written to the target. A batch written again after a
	// resume (written, but its progress not persisted) counts again.
	Rows int64 `json:"rows"`
	// Users counts the matching users of the first table copied (Tables
	// puts users, one row per account, first).
	Users int64 `json:"users"`
	// Complete says every table is copied; the last report has it.
	Complete bool `json:"complete,omitempty"`
}

// String is a one-line summary for logs.
func (p Progress) String() string {
	if p.Complete {
		return fmt.Sprintf("complete: %d rows scanned, %d written, %d users", p.Scanned, p.Rows, p.Users)
	}
	at := "between tables"
	if p.Table != "" {
		at = fmt.Sprintf("in %s after %v", p.Table, p.After)
	}
	return fmt.Sprintf("%d tables done, %s: %d rows scanned, %d written, %d users",
		len(p.Done), at, p.Scanned, p.Rows, p.Users)
}

// clone copies the slices so that a reported Progress never changes under
// its receiver.
func (p Progress) clone() Progress {
	p.Done = slices.Clone(p.Done)
	p.After = slices.Clone(p.After)
	return p
}

// covers says every table is done.
func (p Progress) covers(tables []Table) bool {
	for _, t := range tables {
		if !slices.Contains(p.Done, t.Name) {
			return false
		}
	}
	return true
}

// plan returns the tables still to copy: Table first (it has a position),
// then those not done, in the given order. A Table or After that does not
// fit tables is ErrBadProgress.
func (p Progress) plan(tables []Table) ([]Table, error) {
	var first, rest []Table
	for _, t := range tables {
		switch {
		case t.Name == p.Table:
			if p.After != nil && len(p.After) != len(t.Key) {
				return nil, fmt.Errorf("%w: %s: key of %d columns, progress holds %d", ErrBadProgress, t.Name, len(t.Key), len(p.After))
			}
			first = append(first, t)
		case !slices.Contains(p.Done, t.Name):
			rest = append(rest, t)
		}
	}
	if p.Table != "" && first == nil {
		return nil, fmt.Errorf("%w: table %s is not among the tables", ErrBadProgress, p.Table)
	}
	return append(first, rest...), nil
}
