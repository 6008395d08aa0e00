package control

// This file is the change stream's acknowledgements: the last change each
// edge applied per keyspace (cq_stream_acks), which the relay reads to know
// which outbox rows every region has and may be deleted
// (replication/relay).

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MaxAckCursors bounds the keyspaces of one Record call.
const MaxAckCursors = 1024

// Statements of the ack store. insertAcksSQL is the one-row form;
// Record repeats its VALUES group for every keyspace it records.
// GREATEST keeps an edge's acknowledgement from going back: a restarted
// edge that acknowledges less has nothing cached from before anyway.
const (
	insertAcksPrefix = "INSERT INTO cq_stream_acks (keyspace, region, edge, acked_seq, updated_at) VALUES "
	insertAcksRow    = "(?, ?, ?, ?, ?)"
	insertAcksSuffix = " ON DUPLICATE KEY UPDATE acked_seq = GREATEST(acked_seq, VALUES(acked_seq)), updated_at = VALUES(updated_at)"
	insertAcksSQL    = insertAcksPrefix + insertAcksRow + insertAcksSuffix
	selectAcksSQL    = "SELECT region, edge, acked_seq, updated_at FROM cq_stream_acks WHERE keyspace = ? ORDER BY region, edge"
	forgetAcksSQL    = "DELETE FROM cq_stream_acks WHERE updated_at < ?"
)

// StreamAck is one edge's acknowledgement of one keyspace.
type StreamAck struct {
	Region, Edge string
	// Seq is the highest sequence the edge said it applied.
	Seq uint64
	// UpdatedAt is when it last said so (UTC, the recording node's clock).
	UpdatedAt time.Time
}

// AckStore records and reads acknowledgements in the global keyspace. It
// is safe for concurrent use, also by several processes.
type AckStore struct {
	db  RegionDB
	now func() time.Time
}

// NewAckStore returns a store over a pool of the global keyspace. The
// caller keeps owning db.
func NewAckStore(db RegionDB) *AckStore { return &AckStore{db: db, now: time.Now} }

// Record stores that the edge of region applied every keyspace's changes
// up to its cursor, in one statement. Names longer than the columns are
// refused. A lower cursor than the stored one keeps the stored one.
func (s *AckStore) Record(ctx context.Context, region, edge string, cursors map[string]uint64) error {
	if len(cursors) == 0 {
		return nil
	}
	if len(cursors) > MaxAckCursors {
		return fmt.Errorf("control: %d acknowledged keyspaces, at most %d", len(cursors), MaxAckCursors)
	}
	if region == "" || edge == "" || len(region) > MaxLeaseName || len(edge) > MaxLeaseName {
		return fmt.Errorf("control: acknowledgement from region %q edge %q: names must be 1-%d bytes", region, edge, MaxLeaseName)
	}
	now := s.now().UTC()
	args := make([]any, 0, 5*len(cursors))
	for ks, seq := range cursors {
		if ks == "" || len(ks) > MaxLeaseName {
			return fmt.Errorf("control: acknowledged keyspace %q must be 1-%d bytes", ks, MaxLeaseName)
		}
		args = append(args, ks, region, edge, seq, now)
	}
	if _, err := s.db.ExecContext(ctx, insertAcksStatement(len(cursors)), args...); err != nil {
		return fmt.Errorf("control: record acknowledgement of %s/%s: %w", region, edge, err)
	}
	return nil
}

// insertAcksStatement is insertAcksSQL with n VALUES groups.
func insertAcksStatement(n int) string {
	var b strings.Builder
	b.WriteString(insertAcksPrefix)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(insertAcksRow)
	}
	b.WriteString(insertAcksSuffix)
	return b.String()
}

// Acks returns every edge's acknowledgement of keyspace, by region and
// edge.
func (s *AckStore) Acks(ctx context.Context, keyspace string) ([]StreamAck, error) {
	rows, err := s.db.QueryContext(ctx, selectAcksSQL, keyspace)
	if err != nil {
		return nil, fmt.Errorf("control: read acknowledgements of %q: %w", keyspace, err)
	}
	defer rows.Close()
	var out []StreamAck
	for rows.Next() {
		var a StreamAck
		if err := rows.Scan(&a.Region, &a.Edge, &a.Seq, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("control: read acknowledgement of %q: %w", keyspace, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("control: read acknowledgements of %q: %w", keyspace, err)
	}
	return out, nil
}

// Forget deletes acknowledgements not renewed since before, of edges gone
// for good, and reports how many.
func (s *AckStore) Forget(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, forgetAcksSQL, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("control: forget acknowledgements: %w", err)
	}
	return res.RowsAffected()
}
