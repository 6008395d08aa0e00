package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/core/app"
	"github.com/cangqiong/cangqiong/sharding/control"
	"github.com/cangqiong/cangqiong/sharding/shardmap"
)

func TestExpiredIdempotencyKeysGoOnlyWhenNoReshardCanBeCopyingThem(t *testing.T) {
	c := startTunedCluster(t, 3, 2, func(cf *Config) {
		cf.IdempotencyRetention = 24 * time.Hour
		cf.HousekeepingInterval = time.Hour // the test sweeps by hand
	})
	w := setUpShop(t, c)
	ctx := context.Background()
	users := []int64{c.data.UserOn("shard-0", 31000), c.data.UserOn("shard-1", 32000), c.data.UserOn("shard-0", 33000)}
	old, fresh := users[:2], users[2]
	refs, addrs := map[int64]string{}, map[int64]int64{}
	for _, u := range users {
		addr := readyUser(t, c, w, u)
		addrs[u] = addr
		var o app.Order
		must(t, c.call(0, customer(u), "POST", "/api/v1/me/orders", map[string]any{"address_id": addr}, map[string]string{"Idempotency-Key": "k1"}, &o), 201)
		refs[u] = o.Ref
	}
	keys := func() int {
		n := 0
		for _, id := range []string{"shard-0", "shard-1"} {
			var k int
			if err := c.data.Direct(t, id).QueryRow("SELECT COUNT(*) FROM idempotency_keys").Scan(&k); err != nil {
				t.Fatal(err)
			}
			n += k
		}
		return n
	}
	if n := keys(); n != 3 {
		t.Fatalf("%d idempotency keys stored, want 3", n)
	}
	// Two of the keys are two days old.
	for _, u := range old {
		if _, err := c.data.Direct(t, c.data.Topology.Owner(u)).Exec("UPDATE idempotency_keys SET created_at = created_at - INTERVAL 2 DAY WHERE user_id = ?", u); err != nil {
			t.Fatal(err)
		}
	}

	// Another node sweeping (it holds the maintenance lock): nothing goes.
	lock, ok, err := control.AcquireMaintenance(ctx, c.data.Direct(t, "global"), 0)
	if err != nil || !ok {
		t.Fatalf("maintenance lock: %v %v", ok, err)
	}
	if k, err := c.nodes[1].ExpireIdempotencyKeys(ctx); k != 0 || err != nil || keys() != 3 {
		t.Fatalf("a sweep while another holds the lock: %d expired (%v), %d keys left", k, err, keys())
	}
	lock.Release()

	// A map that moves users (shard-1 draining): nothing goes.
	setMap := func(state shardmap.State) {
		resp, body := c.admin(0, "GET", "/admin/v1/shardmap", nil, nil)
		m, err := shardmap.Parse(body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET shardmap: %d %v", resp.StatusCode, err)
		}
		etag := resp.Header.Get("ETag")
		m.Epoch++
		for i := range m.Shards {
			if m.Shards[i].ID == "shard-1" {
				m.Shards[i].State = state
			}
		}
		next, _ := json.Marshal(m)
		if resp, body = c.admin(0, "PUT", "/admin/v1/shardmap", next, map[string]string{"If-Match": etag[1 : len(etag)-1]}); resp.StatusCode != 200 {
			t.Fatalf("PUT shardmap: %d %s", resp.StatusCode, body)
		}
		eventually(t, 10*time.Second, fmt.Sprintf("node 2 serves epoch %d", m.Epoch), func() bool {
			return c.nodes[2].Executor().Topology().Epoch() == m.Epoch
		})
	}
	setMap(shardmap.Draining)
	if k, err := c.nodes[2].ExpireIdempotencyKeys(ctx); k != 0 || err != nil || keys() != 3 {
		t.Fatalf("a sweep while shard-1 drains: %d expired (%v), %d keys left", k, err, keys())
	}
	setMap(shardmap.Serving)

	// Settled and unlocked: exactly the two old keys go, on both shards.
	if k, err := c.nodes[2].ExpireIdempotencyKeys(ctx); k != 2 || err != nil {
		t.Fatalf("sweep: %d expired (%v), want 2", k, err)
	}
	if n := keys(); n != 1 {
		t.Fatalf("%d keys left, want the fresh one", n)
	}

	// A retry with the fresh key still gets the first answer; one with an
	// expired key is a new request.
	var o app.Order
	resp := c.call(1, customer(fresh), "POST", "/api/v1/me/orders", map[string]any{"address_id": addrs[fresh]}, map[string]string{"Idempotency-Key": "k1"}, &o)
	if resp.StatusCode != 201 || resp.Header.Get("Idempotent-Replayed") != "true" || o.Ref != refs[fresh] {
		t.Fatalf("retry with a kept key: %d replayed=%q ref %s, want 201 replayed %s", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), o.Ref, refs[fresh])
	}
	u := old[0]
	must(t, c.call(0, customer(u), "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", w.dish.ID), map[string]any{"shop_id": w.shop.ID, "quantity": 2}, nil, nil), 200)
	resp = c.call(2, customer(u), "POST", "/api/v1/me/orders", map[string]any{"address_id": addrs[u]}, map[string]string{"Idempotency-Key": "k1"}, &o)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" || o.Ref == refs[u] {
		t.Fatalf("retry with an expired key: %d replayed=%q ref %s (first %s), want a new order", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), o.Ref, refs[u])
	}
}

func TestHousekeepingExpiresKeysOnItsOwn(t *testing.T) {
	c := startTunedCluster(t, 1, 1, func(cf *Config) {
		cf.IdempotencyRetention = time.Hour
		cf.HousekeepingInterval = 100 * time.Millisecond
	})
	short := c.config(1)
	short.IdempotencyRetention = time.Minute
	if _, err := New(short); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "idempotency retention") {
		t.Fatalf("a retention of a minute: %v, want ErrConfig", err)
	}
	db := c.data.Direct(t, "shard-0")
	if _, err := db.Exec("INSERT INTO idempotency_keys (user_id, idem_key, request_hash, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6) - INTERVAL 2 HOUR), (?, ?, ?, UTC_TIMESTAMP(6))",
		int64(7), "old", make([]byte, 32), int64(7), "new", make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the node expires the old key", func() bool {
		var n int
		return db.QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'old'").Scan(&n) == nil && n == 0
	})
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'new'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the new key: %d (%v), want kept", n, err)
	}
}
