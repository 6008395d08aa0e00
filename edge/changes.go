package edge

import (
	"context"
	"fmt"
	"time"

	"github.com/cangqiong/cangqiong/edge/changes"
	"github.com/cangqiong/cangqiong/edge/httpcache"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// ChangesConfig subscribes the edge to the core's change stream (DESIGN.md,
// step 8; edge/changes): every change committed at the core purges its
// surrogate keys here — L1, the region's L2, and through L2's purge
// channel the L1 of the region's other edges — and a keyspace whose
// changes the edge missed is flushed whole.
type ChangesConfig struct {
	// Core reaches the core nodes: changes.NewTunnel of the tunnel client
	// the Origin uses. Required.
	Core changes.Core
	// AckInterval is how often the edge acknowledges what it applied.
	// 0: changes.DefaultAckInterval (1s).
	AckInterval time.Duration
	// MaxBackoff bounds the pause before a lost subscription is opened
	// again. 0: changes.DefaultMaxBackoff (5s).
	MaxBackoff time.Duration
}

// startChanges starts the subscriber, once the cache it purges exists.
func (s *Server) startChanges() error {
	cc := s.cfg.Changes
	if cc == nil {
		return nil
	}
	cfg := changes.DefaultConfig()
	cfg.Region, cfg.Edge, cfg.Core, cfg.Logger, cfg.Now = s.cfg.Region, s.cfg.ID, cc.Core, s.cfg.Logger, s.cfg.Now
	cfg.Apply, cfg.Reset = s.applyChange, s.resetKeyspace
	if cc.AckInterval > 0 {
		cfg.AckInterval = cc.AckInterval
	}
	if cc.MaxBackoff > 0 {
		cfg.MaxBackoff = max(cc.MaxBackoff, cfg.MinBackoff)
	}
	sub, err := changes.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: changes: %v", ErrConfig, err)
	}
	if err := sub.Start(); err != nil {
		return fmt.Errorf("edge: changes: %w", err)
	}
	s.changes = sub
	return nil
}

// stopChanges stops the subscriber before the cache closes.
func (s *Server) stopChanges() error {
	if s.changes == nil {
		return nil
	}
	return s.changes.Close()
}

// applyChange purges a change's surrogate keys from every level. A purge
// whose L2 part failed is applied all the same: L1 is purged, and the
// store keeps the L2 part, replays it when Redis answers and treats those
// keys' L2 entries as purged meanwhile.
func (s *Server) applyChange(ctx context.Context, keyspace string, seq uint64, keys []string) error {
	if _, err := s.store.PurgeKeys(ctx, keys...); err != nil {
		s.log.Debug("change applied to L1; L2's part kept for replay", "keyspace", keyspace, "seq", seq, "err", err)
	}
	return nil
}

// resetKeyspace flushes every entry of a keyspace: each carries its
// keyspace key (edge/httpcache adds it from the entry's version).
func (s *Server) resetKeyspace(ctx context.Context, keyspace string) error {
	res, err := s.store.PurgeKeys(ctx, stream.KeyspaceKey(keyspace))
	s.log.Info("flushed a keyspace's entries: the edge missed some of its changes",
		"keyspace", keyspace, "l1_removed", res.L1Removed, "l2", res.L2, "l2_pending", res.Pending, "err", err)
	return nil
}

// appliedFor is the sequence of keyspace up to which the edge has applied
// the changes that could concern entry e: Applied(keyspace), if e carries
// the keyspace key that a reset flushes (entries stored before edges added
// it do not); otherwise, or without a subscriber, 0. It does not allocate.
func (s *Server) appliedFor(e *httpcache.Entry, keyspace string) uint64 {
	if s.changes == nil {
		return 0
	}
	for _, k := range e.SurrogateKeys() {
		if len(k) == len(keyspacePrefix)+len(keyspace) && k[:len(keyspacePrefix)] == keyspacePrefix && k[len(keyspacePrefix):] == keyspace {
			return s.changes.Applied(keyspace)
		}
	}
	return 0
}

// keyspacePrefix is stream.KeyspaceKey's: KeyspaceKey("") is the prefix.
var keyspacePrefix = stream.KeyspaceKey("")

// collectChanges adds the subscriber's series to a scrape.
func (s *Server) collectChanges(counter func(name, help string, v uint64, kv ...string), gauge func(name, help string, v float64, kv ...string)) {
	if s.changes == nil {
		return
	}
	st := s.changes.Stats()
	counter("cangqiong_edge_changes_applied_total", "Changes of the change stream applied (purged).", st.Applied)
	counter("cangqiong_edge_changes_duplicates_total", "Changes and resets skipped: already applied (delivery is at least once).", st.Duplicates)
	counter("cangqiong_edge_changes_reconnects_total", "Change stream subscriptions opened again.", st.Reconnects)
	counter("cangqiong_edge_changes_malformed_total", "Change stream subscriptions dropped for a malformed frame.", st.Malformed)
	counter("cangqiong_edge_changes_gaps_total", "Gaps in a keyspace's sequence (each flushed the keyspace).", st.Gaps)
	counter("cangqiong_edge_changes_ack_errors_total", "Acknowledgements of the change stream that failed.", st.AckErrors)
	gauge("cangqiong_edge_changes_subscriptions", "Change stream subscriptions streaming now (one per alive core node).", float64(st.Subscriptions))
	for _, k := range st.Keyspaces {
		counter("cangqiong_edge_changes_resets_total", "Keyspaces flushed because the edge missed changes (fell behind retention, or a gap).", k.Resets, "keyspace", k.Keyspace)
		gauge("cangqiong_edge_changes_cursor", "Last change sequence applied, by keyspace.", float64(k.Cursor), "keyspace", k.Keyspace)
		gauge("cangqiong_edge_changes_lag", "Newest sequence the core reported minus the cursor, by keyspace.", float64(k.Lag), "keyspace", k.Keyspace)
		if !k.LastApplied.IsZero() {
			gauge("cangqiong_edge_changes_last_applied_timestamp_seconds", "When the keyspace's last change was applied (Unix time).", float64(k.LastApplied.UnixNano())/1e9, "keyspace", k.Keyspace)
		}
	}
}

// ChangesFile is the "changes" block of the config file: present (even
// empty), it subscribes a tunnel-origin edge to the change stream.
type ChangesFile struct {
	AckInterval string `json:"ack_interval,omitempty"` // default 1s
	MaxBackoff  string `json:"max_backoff,omitempty"`  // default 5s
}

// changesConfig makes the file's changes block a ChangesConfig.
func (f *File) changesConfig(l *Loaded) error {
	if f.Changes == nil {
		return nil
	}
	if l.tunnel == nil {
		return fmt.Errorf("%w: \"changes\" needs the tunnel origin (the change stream comes from the core)", ErrConfig)
	}
	cc := &ChangesConfig{Core: changes.NewTunnel(l.tunnel)}
	for _, d := range []struct {
		name, text string
		dst        *time.Duration
	}{{"ack_interval", f.Changes.AckInterval, &cc.AckInterval}, {"max_backoff", f.Changes.MaxBackoff, &cc.MaxBackoff}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v <= 0 {
			return fmt.Errorf("%w: changes: %s %q", ErrConfig, d.name, d.text)
		}
		*d.dst = v
	}
	l.Changes = cc
	return nil
}
