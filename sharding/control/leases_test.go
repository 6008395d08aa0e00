package control_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/cangqiong/cangqiong/sharding/control"
)

func TestRelayStatementsParseWithTiDB(t *testing.T) {
	for _, stmt := range control.RelayStatements {
		if _, _, err := parser.New().Parse(stmt, "", ""); err != nil {
			t.Errorf("TiDB parser rejects %q: %v", stmt, err)
		}
	}
}

// TestRelayStatementsRunOnMariaDB runs each statement of the lease and ack
// stores once, with arguments of the right kinds.
func TestRelayStatementsRunOnMariaDB(t *testing.T) {
	_, db := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for _, stmt := range control.RelayStatements {
		var args []any
		switch n := strings.Count(stmt, "?"); {
		case strings.HasPrefix(stmt, "INSERT INTO cq_stream_acks"):
			for i := range n / 5 {
				args = append(args, fmt.Sprint("shard-", i), "eu", "edge-1", uint64(7), now)
			}
		case strings.HasPrefix(stmt, "INSERT INTO cq_relay_leases"):
			args = []any{"shard-0", "core-0", int64(3e6)}
		case strings.Contains(stmt, "SET owner = ?"):
			args = []any{"core-1", int64(3e6), "shard-0", "core-1", int64(1e6)}
		case strings.HasPrefix(stmt, "UPDATE cq_relay_leases SET lease_until"):
			args = []any{int64(3e6), "shard-0", "core-0", uint64(1)}
		case strings.HasPrefix(stmt, "UPDATE cq_relay_leases SET owner = ''"):
			args = []any{"shard-0", "core-0", uint64(2)}
		case strings.Contains(stmt, "WHERE keyspace = ?"):
			args = []any{"shard-0"}
		case strings.Contains(stmt, "updated_at < ?"):
			args = []any{now.Add(-time.Hour)}
		default:
			if n != 0 {
				t.Fatalf("no test arguments for %q", stmt)
			}
		}
		if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

// waitExpired polls the lease table until keyspace's lease has expired on
// the database's clock.
func waitExpired(t *testing.T, s *control.LeaseStore, keyspace string, by time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		leases, err := s.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leases {
			if l.Keyspace == keyspace && l.ExpiredFor >= by {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease of %s did not expire: %+v", keyspace, leases)
		}
		time.Sleep(5 * time.Millisecond) // polling the database's clock
	}
}

func TestLeaseLifecycle(t *testing.T) {
	_, db := newStore(t)
	s := control.NewLeaseStore(db)
	ctx := context.Background()
	const ttl = time.Minute

	v, err := s.Acquire(ctx, "shard-0", "core-0", ttl, 0)
	if err != nil || v != 1 {
		t.Fatalf("first Acquire = %d, %v", v, err)
	}
	if _, err := s.Acquire(ctx, "shard-0", "core-1", ttl, 0); !errors.Is(err, control.ErrLeaseHeld) {
		t.Fatalf("Acquire of a live lease by another owner = %v, want ErrLeaseHeld", err)
	}
	if v, err = s.Acquire(ctx, "shard-0", "core-0", ttl, 0); err != nil || v != 2 {
		t.Fatalf("Acquire by the owner = %d, %v; want version 2", v, err)
	}
	if v, err = s.Renew(ctx, "shard-0", "core-0", v, ttl); err != nil || v != 3 {
		t.Fatalf("Renew = %d, %v; want version 3", v, err)
	}
	if _, err := s.Renew(ctx, "shard-0", "core-0", 2, ttl); !errors.Is(err, control.ErrLeaseLost) {
		t.Fatalf("Renew of a stale version = %v, want ErrLeaseLost", err)
	}
	if _, err := s.Renew(ctx, "shard-0", "core-1", 3, ttl); !errors.Is(err, control.ErrLeaseLost) {
		t.Fatalf("Renew by a non-owner = %v, want ErrLeaseLost", err)
	}
	leases, err := s.List(ctx)
	if err != nil || len(leases) != 1 || leases[0].Owner != "core-0" || leases[0].Version != 3 || !leases[0].Live() ||
		leases[0].ExpiredFor > -ttl+10*time.Second {
		t.Fatalf("List = %+v, %v", leases, err)
	}

	// Release expires the lease at once: anyone may take it without a grace.
	if err := s.Release(ctx, "shard-0", "core-0", 2); !errors.Is(err, control.ErrLeaseLost) {
		t.Fatalf("Release of a stale version = %v", err)
	}
	if err := s.Release(ctx, "shard-0", "core-0", 3); err != nil {
		t.Fatal(err)
	}
	if v, err = s.Acquire(ctx, "shard-0", "core-1", ttl, 0); err != nil || v != 5 {
		t.Fatalf("Acquire after Release = %d, %v; want version 5", v, err)
	}
}

func TestLeaseExpiryAndGrace(t *testing.T) {
	_, db := newStore(t)
	s := control.NewLeaseStore(db)
	ctx := context.Background()
	v, err := s.Acquire(ctx, "global", "core-0", 50*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitExpired(t, s, "global", 0)
	// Expired, but not for an hour: a node that is not the preferred
	// owner waits out its grace.
	if _, err := s.Acquire(ctx, "global", "core-1", time.Minute, time.Hour); !errors.Is(err, control.ErrLeaseHeld) {
		t.Fatalf("Acquire within the grace = %v, want ErrLeaseHeld", err)
	}
	if _, err := s.Acquire(ctx, "global", "core-1", time.Minute, 0); err != nil {
		t.Fatalf("Acquire of an expired lease: %v", err)
	}
	// The old owner cannot renew or release what it lost.
	if _, err := s.Renew(ctx, "global", "core-0", v, time.Minute); !errors.Is(err, control.ErrLeaseLost) {
		t.Fatalf("Renew after a takeover = %v", err)
	}
	if err := s.Release(ctx, "global", "core-0", v); !errors.Is(err, control.ErrLeaseLost) {
		t.Fatalf("Release after a takeover = %v", err)
	}
}

func TestLeaseConcurrentAcquireHasOneWinner(t *testing.T) {
	_, db := newStore(t)
	s := control.NewLeaseStore(db)
	ctx := context.Background()
	for round, ks := range []string{"shard-0", "shard-0"} { // a new row, then an expired one
		if round == 1 {
			waitExpired(t, s, ks, 0)
		}
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i := range 8 {
			owner := fmt.Sprintf("node-%d-%d", round, i)
			wg.Go(func() {
				_, err := s.Acquire(ctx, ks, owner, 50*time.Millisecond, 0)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, owner)
					mu.Unlock()
				case !errors.Is(err, control.ErrLeaseHeld):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: winners %v, want exactly one", round, winners)
		}
	}
}

func TestLeaseRefusesBadNames(t *testing.T) {
	_, db := newStore(t)
	s := control.NewLeaseStore(db)
	for _, c := range [][2]string{{"", "core-0"}, {"shard-0", ""}, {strings.Repeat("k", 65), "core-0"}} {
		if _, err := s.Acquire(context.Background(), c[0], c[1], time.Second, 0); err == nil {
			t.Errorf("Acquire(%q, %q) accepted", c[0], c[1])
		}
	}
}

func TestAckStore(t *testing.T) {
	_, db := newStore(t)
	s := control.NewAckStore(db)
	ctx := context.Background()
	clock := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	control.SetAckClock(s, func() time.Time { return clock })

	if err := s.Record(ctx, "eu", "edge-1", map[string]uint64{"shard-0": 10, "global": 3}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if err := s.Record(ctx, "eu", "edge-2", map[string]uint64{"shard-0": 12}); err != nil {
		t.Fatal(err)
	}
	// Going back keeps the higher acknowledgement but renews the time.
	if err := s.Record(ctx, "eu", "edge-1", map[string]uint64{"shard-0": 4}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Acks(ctx, "shard-0")
	want := []control.StreamAck{{Region: "eu", Edge: "edge-1", Seq: 10, UpdatedAt: clock}, {Region: "eu", Edge: "edge-2", Seq: 12, UpdatedAt: clock}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Acks = %v, %v; want %v", got, err, want)
	}
	if n, err := s.Forget(ctx, clock.Add(-time.Second)); err != nil || n != 1 {
		t.Fatalf("Forget = %d, %v; want the old global acknowledgement only", n, err)
	}
	if got, _ := s.Acks(ctx, "global"); len(got) != 0 {
		t.Fatalf("global acknowledgements left: %v", got)
	}
	for _, bad := range []struct {
		region, edge string
		cursors      map[string]uint64
	}{
		{"", "edge-1", map[string]uint64{"a": 1}},
		{"eu", strings.Repeat("e", 65), map[string]uint64{"a": 1}},
		{"eu", "edge-1", map[string]uint64{strings.Repeat("k", 65): 1}},
	} {
		if err := s.Record(ctx, bad.region, bad.edge, bad.cursors); err == nil {
			t.Errorf("Record(%q, %q, %v) accepted", bad.region, bad.edge, bad.cursors)
		}
	}
}
