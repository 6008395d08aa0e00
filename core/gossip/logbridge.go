package gossip

import (
	"bytes"
	"context"
	"log/slog"
)

// logWriter turns memberlist's *log.Logger lines ("[WARN] memberlist: …")
// into slog records at the matching level, so memberlist logs with the
// node's component attributes and obeys the caller's level.
type logWriter struct{ log *slog.Logger }

var logLevels = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug},
	{"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn},
	{"[ERR] ", slog.LevelError},
	{"[ERROR] ", slog.LevelError},
}

func (w logWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range logLevels {
		if rest, ok := bytes.CutPrefix(line, []byte(l.prefix)); ok {
			line, level = rest, l.level
			break
		}
	}
	ctx := context.Background()
	if w.log.Enabled(ctx, level) {
		w.log.Log(ctx, level, string(line))
	}
	return len(p), nil
}
