package tunnel

// Helpers for the tests against a real core cluster (core/coretest): the
// takeout API as an edge forwards it, and what the shards hold.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/cangqiong/cangqiong/core/coretest"
	"github.com/cangqiong/cangqiong/core/identity"
	coretunnel "github.com/cangqiong/cangqiong/core/tunnel"
)

var adminID = &identity.Identity{UserID: 1, Role: identity.Admin}

func customer(id int64) *identity.Identity {
	return &identity.Identity{UserID: id, Role: identity.Customer}
}

// request builds an API request as the edge would forward it: the user it
// verified in the identity headers, a JSON body with GetBody.
func request(who *identity.Identity, method, path string, body any, hdr map[string]string) *http.Request {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != nil {
		req.Header.Set(coretunnel.HeaderUserID, strconv.FormatInt(who.UserID, 10))
		req.Header.Set(coretunnel.HeaderUserRole, string(who.Role))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

// call sends a request through the client and wants status; it decodes
// the answer into out when given.
func call(t testing.TB, c *Client, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("decoding %s: %v", data, err)
		}
	}
}

type idRef struct {
	ID  int64  `json:"id"`
	Ref string `json:"ref"`
}

// setUpShop has an admin create an open shop with one dish, through the
// client; it returns the shop and the dish.
func setUpShop(t *testing.T, c *Client) (shop, dish int64) {
	t.Helper()
	const owner = 900
	m := &identity.Identity{UserID: owner, Role: identity.Merchant}
	var s, cat, d idRef
	call(t, c, request(adminID, "POST", "/api/v1/shops", map[string]any{"owner_user_id": owner, "name": "Shop", "region": "eu"}, nil), 201, &s)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/categories", s.ID), map[string]any{"name": "Mains", "position": 1}, nil), 201, &cat)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/dishes", s.ID), map[string]any{"category_id": cat.ID, "name": "Dish", "price_cents": 1250, "on_sale": true}, nil), 201, &d)
	call(t, c, request(m, "POST", fmt.Sprintf("/api/v1/shops/%d/open", s.ID), nil, nil), 200, nil)
	return s.ID, d.ID
}

// readyUser gives user u a profile and, with a dish, an address and the
// dish in the cart; it returns the address.
func readyUser(t *testing.T, c *Client, u, shop, dish int64) int64 {
	t.Helper()
	who := customer(u)
	call(t, c, request(who, "PUT", "/api/v1/me", map[string]any{"name": "Ada", "email": "ada@example.com", "phone": "+44 20 1234"}, nil), 200, nil)
	if dish == 0 {
		return 0
	}
	var ad idRef
	call(t, c, request(who, "POST", "/api/v1/me/addresses", addressBody, nil), 201, &ad)
	call(t, c, request(who, "PUT", fmt.Sprintf("/api/v1/me/cart/items/%d", dish), map[string]any{"shop_id": shop, "quantity": 2}, nil), 200, nil)
	return ad.ID
}

var addressBody = map[string]any{"label": "home", "recipient": "Ada", "phone": "+44 20 1234", "line1": "1 Main St", "city": "London", "country": "GB"}

// rows counts u's rows of table on the user's shard, straight from
// MariaDB.
func rows(t testing.TB, cl *coretest.Cluster, table string, u int64) int {
	t.Helper()
	var n int
	db := cl.Data.Direct(t, cl.Data.Topology.Owner(u))
	if err := db.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE user_id = ?", u).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
