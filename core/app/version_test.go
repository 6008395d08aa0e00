package app

import (
	"testing"

	"github.com/cangqiong/cangqiong/replication/outbox"
)

// version parses a Cq-Version header, failing the test when it is absent.
func version(t *testing.T, h string) outbox.Version {
	t.Helper()
	v, err := outbox.ParseVersion(h)
	if err != nil {
		t.Fatalf("Cq-Version %q: %v", h, err)
	}
	return v
}

func TestReadsCarryTheVersionTheyShow(t *testing.T) {
	e := start(t, 2)
	cat := e.shopWithDishes(500, "eu", 1)
	u := e.c.UserOn("shard-1", 100)
	c := e.as(customer(u))
	ad := c.address()

	// A user's write answers a version; the next read of their data is at
	// least that version, on the same shard.
	w := c.must(200, nil, "PUT", "/api/v1/me/cart/items/"+itoa(cat.Dishes[0].ID), map[string]any{"shop_id": cat.Shop.ID, "quantity": 1})
	wrote := version(t, w.Header().Get(headerVersion))
	for _, path := range []string{"/api/v1/me/cart", "/api/v1/me/addresses", "/api/v1/me/addresses/" + itoa(ad.ID), "/api/v1/me/orders"} {
		read := version(t, c.must(200, nil, "GET", path, nil).Header().Get(headerVersion))
		if read.Shard != wrote.Shard || read.Seq < wrote.Seq {
			t.Errorf("GET %s answered version %v after a write at %v", path, read, wrote)
		}
	}
	// Other users' writes on other shards do not move this user's version.
	other := e.as(customer(e.c.UserOn("shard-0", 100)))
	other.address()
	if read := version(t, c.must(200, nil, "GET", "/api/v1/me/cart", nil).Header().Get(headerVersion)); read != wrote {
		t.Errorf("after another shard's write the version moved to %v (was %v)", read, wrote)
	}

	// Catalog reads carry the global keyspace's version.
	m := e.as(merchant(500))
	w = m.must(200, nil, "POST", "/api/v1/shops/"+itoa(cat.Shop.ID)+"/close", nil)
	closed := version(t, w.Header().Get(headerVersion))
	for _, path := range []string{"/api/v1/shops", "/api/v1/shops/" + itoa(cat.Shop.ID), "/api/v1/shops/" + itoa(cat.Shop.ID) + "/menu"} {
		read := version(t, e.as(nil).must(200, nil, "GET", path, nil).Header().Get(headerVersion))
		if read.Shard != "global" || read.Seq < closed.Seq {
			t.Errorf("GET %s answered version %v after a catalog write at %v", path, read, closed)
		}
	}
}
