package move

import (
	"context"
	"errors"
	"log/slog"

	"golang.org/x/time/rate"
)

// DefaultReadBatch is the rows one scan query reads.
const DefaultReadBatch = 1000

// Config controls a Copier. Zero fields take the defaults documented.
type Config struct {
	// Source and Target are pools straight to the old and the new shard.
	Source, Target DB
	// Tables to copy, in order (from Tables on the source).
	Tables []Table
	// Filter selects the moving users. Required.
	Filter func(userID int64) bool
	// ReadBatch is the rows one scan query reads. Default DefaultReadBatch.
	ReadBatch int
	// WriteBatch and WriteBytes bound one upsert. Defaults DefaultWriteBatch
	// and DefaultWriteBytes.
	WriteBatch, WriteBytes int
	// RowsPerSecond bounds the rows read from the source, matching or not:
	// the scan is what loads a serving shard. 0: no limit.
	RowsPerSecond float64
	// OnProgress is given the progress after each batch is on the target;
	// the coordinator persists it. An error from it stops Copy, which
	// returns it. Nil: progress is only returned.
	OnProgress func(context.Context, Progress) error
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Copier copies the rows of the users a filter selects from one shard to
// another: each table in primary-key order, in batches, written to the
// target with idempotent upserts. It only reads the source, never locks it
// beyond a statement, and tolerates writes to it while it runs: the copy is
// fuzzy, and the catch-up (ChangedUsers, Recopy) makes it exact.
//
// A Copier is safe for concurrent use, but two Copies into one target at
// once make no sense; neither does a Copy running while Recopy writes the
// same target (the copy could write a row older than the recopied one).
type Copier struct {
	cfg     Config
	limiter *rate.Limiter // nil: no limit
	log     *slog.Logger
}

// NewCopier checks cfg and fills its defaults.
func NewCopier(cfg Config) (*Copier, error) {
	if cfg.Source == nil || cfg.Target == nil {
		return nil, errors.New("move: a Copier needs a source and a target")
	}
	if cfg.Filter == nil {
		return nil, errors.New("move: a Copier needs a filter")
	}
	if cfg.ReadBatch <= 0 {
		cfg.ReadBatch = DefaultReadBatch
	}
	if cfg.WriteBatch <= 0 {
		cfg.WriteBatch = DefaultWriteBatch
	}
	if cfg.WriteBytes <= 0 {
		cfg.WriteBytes = DefaultWriteBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Copier{cfg: cfg, log: cfg.Logger.With("component", "replication.reshard.move")}
	if cfg.RowsPerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RowsPerSecond), cfg.ReadBatch)
	}
	return c, nil
}

// Copy copies from p on (the zero Progress: from the start) and returns the
// final progress, Complete when every table is copied. On error it returns
// the progress of the last batch that reached the target. Copying again
// what is already copied changes nothing on the target.
func (c *Copier) Copy(ctx context.Context, p Progress) (Progress, error) {
	if p.Complete {
		return p, nil
	}
	todo, err := p.plan(c.cfg.Tables)
	if err != nil {
		return p, err
	}
	p = p.clone()
	for _, t := range todo {
		if p.Table != t.Name {
			p.Table, p.After = t.Name, nil
		}
		if err := c.copyTable(ctx, t, &p); err != nil {
			return p, err
		}
	}
	p.Complete = true
	c.log.InfoContext(ctx, "copy complete", "scanned", p.Scanned, "rows", p.Rows, "users", p.Users)
	return p, nil
}

// copyTable copies t from p.After on and records it done.
func (c *Copier) copyTable(ctx context.Context, t Table, p *Progress) error {
	b := c.newBatcher(t)
	for {
		full, err := b.next(ctx, p)
		if err != nil {
			return err
		}
		if !full {
			p.Done, p.Table, p.After = append(p.Done, t.Name), "", nil
			p.Complete = p.covers(c.cfg.Tables)
		}
		if err := c.report(ctx, *p); err != nil {
			return err
		}
		if !full {
			c.log.InfoContext(ctx, "table copied", "table", t.Name, "progress", p.String())
			return nil
		}
	}
}

func (c *Copier) report(ctx context.Context, p Progress) error {
	c.log.DebugContext(ctx, "batch copied", "progress", p.String())
	if c.cfg.OnProgress == nil {
		return nil
	}
	return c.cfg.OnProgress(ctx, p.clone())
}
