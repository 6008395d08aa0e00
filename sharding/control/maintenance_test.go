package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser"

	"github.com/cangqiong/cangqiong/sharding/control"
)

func TestMaintenanceStatementsParseWithTiDB(t *testing.T) {
	for _, stmt := range control.MaintenanceStatements {
		if _, _, err := parser.New().Parse(stmt, "", ""); err != nil {
			t.Errorf("TiDB parser rejects %q: %v", stmt, err)
		}
	}
}

func TestMaintenanceLockHasOneHolder(t *testing.T) {
	_, db := newStore(t)
	ctx := context.Background()
	l, ok, err := control.AcquireMaintenance(ctx, db, 0)
	if err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	if err := l.Held(ctx); err != nil {
		t.Fatalf("Held: %v", err)
	}
	if _, ok, err := control.AcquireMaintenance(ctx, db, 0); err != nil || ok {
		t.Fatalf("a second holder while the first holds it: ok=%v err=%v", ok, err)
	}
	l.Release()
	l2, ok, err := control.AcquireMaintenance(ctx, db, 0)
	if err != nil || !ok {
		t.Fatalf("acquire after release: %v %v", ok, err)
	}

	// The lock goes with its connection: killed, the holder learns it
	// lost the lock and another can take it.
	var id int64
	if err := db.QueryRowContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO IS NULL AND ID IN (SELECT IS_USED_LOCK(?))", control.MaintenanceLockName).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "KILL ?", id); err != nil {
		t.Fatal(err)
	}
	if err := l2.Held(ctx); !errors.Is(err, control.ErrLockLost) {
		t.Fatalf("Held after its connection was killed: %v, want ErrLockLost", err)
	}
	l2.Release()
	// KILL ends the session asynchronously: wait for the lock to go.
	l3, ok, err := control.AcquireMaintenance(ctx, db, 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("acquire after the holder's connection died: %v %v", ok, err)
	}
	l3.Release()
}
