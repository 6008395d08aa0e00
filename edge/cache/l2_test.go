package cache

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestL2IsSharedByTheRegionsEdges(t *testing.T) {
	_, rdb := startRedis(t)
	a, b := newStore(t, testConfig(rdb)), newStore(t, testConfig(rdb))
	storeInL2(t, a, newItem("/shops/12", time.Minute, "shop:12"))
	eventually(t, 5*time.Second, "edge B finds A's entry in L2", func() bool { return levelOf(b, "/shops/12") == L2 })
	it, lvl, _ := get(b, "/shops/12")
	if lvl != L1 || it.B != "body of /shops/12" {
		t.Fatalf("second Get on B: %v from %v; want the entry from L1", it, lvl)
	}
	if st := b.Stats(); st.L2Hits != 1 || st.L1Hits != 1 || st.Breaker != "closed" {
		t.Errorf("B's stats: %+v", st)
	}
}

func TestL2HonoursTTL(t *testing.T) {
	_, rdb := startRedis(t)
	a := newStore(t, testConfig(rdb))
	noL1 := testConfig(rdb)
	noL1.L1MaxBytes = 0
	b := newStore(t, noL1)
	storeInL2(t, a, newItem("/brief", 700*time.Millisecond))
	eventually(t, 5*time.Second, "B reads the entry from L2", func() bool { return levelOf(b, "/brief") == L2 })
	eventually(t, 5*time.Second, "the entry expires from L2", func() bool { return levelOf(b, "/brief") == Miss })
	eventually(t, 5*time.Second, "the entry expires from A's L1", func() bool { return levelOf(a, "/brief") == Miss })
	ttl, err := rdb.PTTL(context.Background(), a.entryKey(hashOf("/brief"))).Result()
	if err != nil || ttl != -2*time.Nanosecond && ttl > 0 {
		t.Errorf("PTTL of the expired entry: %v, %v", ttl, err)
	}
}

func TestL2Layout(t *testing.T) {
	_, rdb := startRedis(t)
	s := newStore(t, testConfig(rdb))
	ctx := context.Background()
	it := newItem("/menu/7", time.Hour, "menu:7")
	storeInL2(t, s, it)
	key := s.entryKey(hashOf("/menu/7"))
	if want := "cq:e:" + strconv.FormatUint(hashOf("/menu/7"), 16); key != want {
		t.Fatalf("entry key %q, want %q", key, want)
	}
	rec, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if _, body, err := decodeRecord(rec); err != nil || !strings.Contains(string(body), "menu:7") {
		t.Errorf("record: %q, %v", rec, err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("entry PTTL %v, want about an hour", ttl)
	}
	if _, err := s.PurgeKeys(ctx, "menu:7"); err != nil {
		t.Fatal(err)
	}
	at, err := rdb.Get(ctx, "cq:p:menu:7").Int64()
	if err != nil || at <= 0 {
		t.Fatalf("marker cq:p:menu:7 = %d, %v", at, err)
	}
	if ttl := rdb.PTTL(ctx, "cq:p:menu:7").Val(); ttl < s.cfg.MaxTTL {
		t.Errorf("marker PTTL %v, want > MaxTTL %v", ttl, s.cfg.MaxTTL)
	}
	// A replayed, older purge does not move the marker back.
	if err := s.sendPurge(ctx, map[string]int64{"menu:7": at - 5000}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := rdb.Get(ctx, "cq:p:menu:7").Int64(); got != at {
		t.Errorf("marker moved from %d to %d", at, got)
	}
}

func TestNewRefusesAClientThatIgnoresDeadlines(t *testing.T) {
	slow := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}})
	defer slow.Close()
	cfg := testConfig(slow)
	if _, err := New(cfg, decodeItem); err == nil || !strings.Contains(err.Error(), "RedisOptions") {
		t.Errorf("New with a client ignoring deadlines: %v", err)
	}
	if _, err := New(testConfig(nil), decodeItem); err != nil {
		t.Errorf("New without Redis: %v", err)
	}
	cfg = testConfig(newClient(t, "127.0.0.1:1"))
	if _, err := New[*testItem](cfg, nil); err == nil {
		t.Error("New with Redis and no codec succeeded")
	}
}
