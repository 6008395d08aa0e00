package changes_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cangqiong/cangqiong/edge/changes"
	"github.com/cangqiong/cangqiong/replication/stream"
)

// oneNode is a core of one node that streams two catalog changes. An edge
// uses changes.NewTunnel(its tunnel client) instead.
type oneNode struct{}

func (oneNode) Nodes() []string { return []string{"core-0:7443"} }

func (oneNode) Subscribe(ctx context.Context, addr string, sub changes.Subscription) (io.ReadCloser, error) {
	frames := `{"t":"change","ks":"global","seq":1,"keys":["shop:12","menu:12"]}` + "\n" +
		`{"t":"change","ks":"global","seq":2,"keys":["menu:12"]}` + "\n"
	return io.NopCloser(io.MultiReader(strings.NewReader(frames), untilDone{ctx})), nil
}

func (oneNode) Ack(context.Context, stream.Ack) error { return nil }

// untilDone is a stream with nothing more to say until ctx ends.
type untilDone struct{ ctx context.Context }

func (u untilDone) Read([]byte) (int, error) {
	<-u.ctx.Done()
	return 0, u.ctx.Err()
}

func Example() {
	cfg := changes.DefaultConfig()
	cfg.Region, cfg.Edge, cfg.Core = "eu", "edge-1", oneNode{}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Apply = func(_ context.Context, keyspace string, seq uint64, keys []string) error {
		fmt.Println("purge", keyspace, seq, keys) // an edge: its cache's PurgeKeys
		return nil
	}
	cfg.Reset = func(_ context.Context, keyspace string) error {
		fmt.Println("flush", stream.KeyspaceKey(keyspace))
		return nil
	}
	s, err := changes.New(cfg)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(10 * time.Second); s.Applied("global") < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("applied up to", s.Applied("global"))
	// Output:
	// purge global 1 [shop:12 menu:12]
	// purge global 2 [menu:12]
	// applied up to 2
}
