package dbconn

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pingcap/tidb/pkg/parser"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

func TestDSN(t *testing.T) {
	dsn := DSN("10.0.0.7:4000", "cangqiong", Credentials{Password: "s3cret"})
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("ParseDSN(%q): %v", dsn, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"net", cfg.Net, "tcp"},
		{"addr", cfg.Addr, "10.0.0.7:4000"},
		{"db", cfg.DBName, "cangqiong"},
		{"user", cfg.User, DefaultUser},
		{"password", cfg.Passwd, "s3cret"},
		{"parseTime", cfg.ParseTime, true},
		{"interpolateParams", cfg.InterpolateParams, true},
		{"loc", cfg.Loc, time.UTC},
		{"timeout", cfg.Timeout, ConnectTimeout},
		{"collation", cfg.Collation, "utf8mb4_bin"},
		{"time_zone", cfg.Params["time_zone"], "'+00:00'"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestCredentialsNeverPrintPassword(t *testing.T) {
	c := Credentials{User: "app", Password: "hunter2-secret"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connect", "creds", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connect", "creds", c)
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c),
		fmt.Sprintf("%v", &c), logged.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("password printed: %s", out)
		}
		if !strings.Contains(out, "app") {
			t.Errorf("user missing: %s", out)
		}
	}
}

func TestPoolDefaults(t *testing.T) {
	tests := []struct {
		in, want Pool
	}{
		{Pool{}, Pool{DefaultMaxOpen, DefaultMaxIdle, DefaultConnMaxLifetime}},
		{Pool{MaxOpen: 2}, Pool{2, 2, DefaultConnMaxLifetime}},
		{Pool{MaxOpen: 100, MaxIdle: 50, ConnMaxLifetime: time.Hour}, Pool{100, 50, time.Hour}},
		{Pool{MaxOpen: -1, MaxIdle: -1, ConnMaxLifetime: -1}, Pool{DefaultMaxOpen, DefaultMaxIdle, DefaultConnMaxLifetime}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestCheckDatabaseName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"cangqiong", true},
		{"cq_shard_7", true},
		{"_x", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"7cq", true},
		{"cq-1", true},
		{"cq$x", true},
		{"cq`; DROP DATABASE x; --", false},
		{"cq.x", false},
		{"苍穹", false},
	}
	for _, tt := range tests {
		err := CheckDatabaseName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidDatabase)) {
			t.Errorf("CheckDatabaseName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// statements lists every statement this package sends (or makes the driver
// send) to a server.
func statements() []string {
	return []string{
		createDatabaseSQL("cangqiong"),
		"SET time_zone = '+00:00'", // the driver's SET for config().Params
	}
}

func TestStatementsParseWithTiDB(t *testing.T) {
	if p := config("h:1", "", Credentials{}).Params; len(p) != 1 || p["time_zone"] != "'+00:00'" {
		t.Fatalf("session params changed to %v: update statements()", p)
	}
	for _, stmt := range statements() {
		if _, _, err := parser.New().Parse(stmt, "", ""); err != nil {
			t.Errorf("TiDB parser rejects %q: %v", stmt, err)
		}
	}
}
