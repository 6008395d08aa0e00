package reshard

import (
	"errors"
	"fmt"
	"time"

	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

// Kind is what a workflow does to the shard map.
type Kind string

const (
	// Add brings a new shard in: it joins, receives its share of the
	// users, and serves them.
	Add Kind = "add"
	// Remove takes a shard out: its users move to the others and it
	// leaves the map.
	Remove Kind = "remove"
)

// Request asks for one workflow.
type Request struct {
	Kind Kind `json:"kind"`
	// Shard is the shard to add (ID and Address required; Database and
	// Weight optional: the default database, weight 1) or, for Remove,
	// the shard to remove (only ID is read).
	Shard shardmap.Shard `json:"shard"`
}

// Phase is where a workflow is. A workflow goes through them in this
// order; Done and Failed are final.
type Phase string

const (
	// Preparing checks the target, migrates a new shard's schema and
	// commits the map where it joins (or the removed shard drains).
	Preparing Phase = "preparing"
	// Copying copies the moving users' rows to their new shards.
	Copying Phase = "copying"
	// CatchingUp re-copies the users the source outboxes show changed
	// since the copy began, until the lag is small.
	CatchingUp Phase = "catching_up"
	// Cutover holds the moving users' writes, applies the last changes and
	// commits the map where the new owners serve.
	Cutover Phase = "cutover"
	// Verifying compares every moved user's rows, old copy against new.
	Verifying Phase = "verifying"
	// Cleanup waits for the grace period, then deletes the old copies.
	Cleanup Phase = "cleanup"
	// Done: the workflow finished.
	Done Phase = "done"
	// Failed: the workflow stopped and needs an operator; Error says why.
	Failed Phase = "failed"
	// Aborted: an operator rolled back a workflow that failed before its
	// cutover (Coordinator.Abort): the map is where the workflow started
	// and the copies it made are deleted. Error keeps why it failed.
	Aborted Phase = "aborted"
)

// Final reports whether a workflow in phase p is over.
func (p Phase) Final() bool { return p == Done || p == Failed || p == Aborted }

// Pair is the progress of the users moving from one shard to another.
type Pair struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Fraction is the share of the whole keyspace that moves in this pair.
	Fraction float64 `json:"fraction"`
	// SourceRows estimates the rows of the source's moved tables: the copy
	// scans them all (matching or not), so Scanned/SourceRows is its
	// progress.
	SourceRows int64 `json:"source_rows"`
	Scanned    int64 `json:"scanned"`
	// Users and Rows count the moving users and rows copied so far.
	Users int64 `json:"users"`
	Rows  int64 `json:"rows"`
	// Copied says the bulk copy finished.
	Copied bool `json:"copied"`
	// Lag is the source outbox changes not yet caught up (0 before the
	// copy finished: the catch-up has not begun).
	Lag uint64 `json:"lag"`
	// Mismatches found by verification (Verifying and later).
	Mismatches int `json:"mismatches"`
	// Deleted counts old rows deleted in Cleanup.
	Deleted int64 `json:"deleted"`
}

// Status is a workflow as the operator sees it: `cangqiong reshard status`
// and GET /admin/v1/reshards/… print it.
type Status struct {
	ID    uint64 `json:"id,string"`
	Kind  Kind   `json:"kind"`
	Shard string `json:"shard"`
	Phase Phase  `json:"phase"`
	// Owner is the core node running the workflow ("" when none does).
	Owner string `json:"owner"`
	// FromEpoch is the map the workflow started from; ToEpoch the one
	// where it is complete (0 until then), or for an aborted workflow the
	// one that rolled it back (0 if it had not changed the map).
	FromEpoch uint64 `json:"from_epoch"`
	ToEpoch   uint64 `json:"to_epoch,omitempty"`
	// Fraction is the share of the keyspace that moves.
	Fraction float64 `json:"fraction"`
	Pairs    []Pair  `json:"pairs"`
	// Progress is the copy's completion in 0..1 (1 from CatchingUp on).
	Progress float64 `json:"progress"`
	// ETA estimates the rest of the copy from its pace so far; 0 when
	// unknown or past it.
	ETA time.Duration `json:"eta_ns"`
	// Users, Rows and Lag sum the pairs'.
	Users int64  `json:"users"`
	Rows  int64  `json:"rows"`
	Lag   uint64 `json:"lag"`
	// Hold is how long the cutover held writes, once it happened;
	// CutoverAt is when it ended (the map where the new owners serve was
	// committed).
	Hold      time.Duration `json:"hold_ns,omitempty"`
	CutoverAt *time.Time    `json:"cutover_at,omitempty"`
	// Error says why a workflow failed, or the last error a running one
	// retries after.
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Errors a Start refuses with, before anything moves. Each matches with
// errors.Is; the returned error adds details.
var (
	// ErrInvalid: the request is malformed (unknown kind, bad shard id,
	// address, database or weight).
	ErrInvalid = errors.New("reshard: invalid request")
	// ErrShardExists: Add names a shard id the map already has.
	ErrShardExists = errors.New("reshard: the shard already exists")
	// ErrUnknownShard: Remove names a shard id the map does not have.
	ErrUnknownShard = errors.New("reshard: no such shard")
	// ErrLastShard: Remove would leave no shard to own the users.
	ErrLastShard = errors.New("reshard: cannot remove the last shard")
	// ErrBusy: another workflow has not finished.
	ErrBusy = errors.New("reshard: a workflow is already running")
	// ErrUnreachable: the shard to add cannot be reached (or logged in to).
	ErrUnreachable = errors.New("reshard: the target shard is unreachable")
	// ErrNotFound: no workflow with that id (or none at all).
	ErrNotFound = errors.New("reshard: no such workflow")
	// ErrCannotAbort: Abort refuses: the workflow has not failed, has cut
	// over already, is not the latest, or the map changed since it failed.
	ErrCannotAbort = errors.New("reshard: the workflow cannot be rolled back")
)

// refusal wraps a sentinel with details.
func refusal(err error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", err, fmt.Sprintf(format, args...))
}
