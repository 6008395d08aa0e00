package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/sharding/dbconn"
	"github.com/cangqiong/cangqiong/sharding/schema"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func init() {
	register("migrate", "Create or upgrade the schema of the global keyspace and every shard of a shard map, and store the map if none is stored yet.", &migrateCmd{})
}

// passwordEnv names the environment variable holding the database password;
// a flag would show it in the process list.
const passwordEnv = "CQ_DB_PASSWORD"

type migrateCmd struct {
	ShardMap string        `name:"shard-map" required:"" type:"existingfile" placeholder:"FILE" help:"JSON shard map naming the global keyspace and the shards."`
	DBUser   string        `name:"db-user" default:"root" help:"Database user. The password is read from the environment variable CQ_DB_PASSWORD."`
	Timeout  time.Duration `default:"10m" help:"Give up after this long."`
}

func (c *migrateCmd) Run(e *env) error {
	data, err := os.ReadFile(c.ShardMap)
	if err != nil {
		return err
	}
	m, err := shardmap.Parse(data)
	if err != nil {
		return fmt.Errorf("shard map %s: %w", c.ShardMap, err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, c.Timeout)
	defer cancel()
	creds := dbconn.Credentials{User: c.DBUser, Password: e.getenv(passwordEnv)}
	report, err := schema.Migrate(ctx, m, creds, e.logger)
	if report == nil {
		return err
	}
	for _, t := range report.Targets {
		fmt.Fprintf(e.stdout, "%s: %s\n", t.Target, describe(t, m.Epoch))
	}
	if failed := report.Failed(); len(failed) > 0 {
		names := make([]string, len(failed))
		for i, t := range failed {
			names[i] = t.Target.String()
		}
		return fmt.Errorf("%d of %d targets FAILED: %s", len(failed), len(report.Targets), strings.Join(names, "; "))
	}
	return nil
}

// describe says in one line what happened to a target.
func describe(t schema.TargetReport, fileEpoch uint64) string {
	if t.Err != nil {
		var te *schema.TargetError
		if errors.As(t.Err, &te) { // the line already names the target
			return "FAILED: " + oneLine(te.Err)
		}
		return "FAILED: " + oneLine(t.Err)
	}
	var b strings.Builder
	if len(t.Applied) == 0 {
		fmt.Fprintf(&b, "up-to-date at version %d", t.Version)
	} else {
		names := make([]string, len(t.Applied))
		for i, a := range t.Applied {
			names[i] = fmt.Sprintf("%d %s", a.Version, a.Name)
		}
		fmt.Fprintf(&b, "applied %d migrations (%s), now at version %d", len(t.Applied), strings.Join(names, ", "), t.Version)
	}
	if t.Target.Kind == schema.Global {
		switch {
		case t.ShardMapCreated:
			fmt.Fprintf(&b, "; stored shard map epoch %d", t.ShardMapEpoch)
		case t.ShardMapEpoch == fileEpoch:
			fmt.Fprintf(&b, "; shard map epoch %d already stored", t.ShardMapEpoch)
		default:
			fmt.Fprintf(&b, "; shard map epoch %d already stored, left as is (the file has epoch %d)", t.ShardMapEpoch, fileEpoch)
		}
	}
	return b.String()
}
