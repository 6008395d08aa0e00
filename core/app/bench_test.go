package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

// The order-creation pair measures one order placed from a two-dish cart
// with a new idempotency key each time, on the same private MariaDB
// servers: through the App (HTTP handler in process, router, executor) and
// as the same statements straight on the shard's and the global
// keyspace's *sql.DB in one transaction, writing the same rows. Refilling
// the cart is not timed. Run both:
//
//	go test -run XXX -bench CreateOrder -benchtime 3s ./core/app/

// benchWorld is a shop with two dishes and a user with an address.
type benchWorld struct {
	e    *env
	cat  *catalog
	user int64
	addr Address
	cart *sql.DB // the user's shard, to refill the cart
}

func newBenchWorld(b *testing.B) *benchWorld {
	e := start(b, 2)
	w := &benchWorld{e: e, cat: e.shopWithDishes(42, "eu", 2), user: e.c.UserOn("shard-0", 1000)}
	w.addr = e.as(customer(w.user)).address()
	w.cart = e.c.Direct(b, e.c.Topology.Owner(w.user))
	return w
}

// refill puts the two dishes back in the cart, untimed.
func (w *benchWorld) refill(b *testing.B) {
	b.StopTimer()
	defer b.StartTimer()
	at := now()
	d := w.cat.Dishes
	_, err := w.cart.Exec("INSERT INTO cart_items (user_id, "+cartCols+") VALUES (?, ?, ?, 2, ?, ?), (?, ?, ?, 1, ?, ?)",
		w.user, d[0].ID, w.cat.Shop.ID, at, at, w.user, d[1].ID, w.cat.Shop.ID, at, at)
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCreateOrderApp(b *testing.B) {
	w := newBenchWorld(b)
	u := w.e.as(customer(w.user))
	body := map[string]any{"address_id": w.addr.ID}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.refill(b)
		i++
		if rec := u.do("POST", "/api/v1/me/orders", body, headerIdemKey, "bench-"+strconv.Itoa(i)); rec.Code != http.StatusCreated {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkCreateOrderDirectSQL(b *testing.B) {
	w := newBenchWorld(b)
	direct := &directOrder{a: w.e.app, shard: w.cart, global: w.e.c.Direct(b, exec.GlobalTarget)}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.refill(b)
		i++
		if _, err := direct.create(ctx, w.user, w.addr.ID, "bench-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// directOrder is order creation written straight against database/sql:
// the statements placeOrder, idempotent and outbox.Append run, in the same
// order, without the router, the executor or HTTP.
type directOrder struct {
	a             *App
	shard, global *sql.DB
}

// The outbox's statements (replication/outbox keeps them unexported).
const (
	benchBumpSQL   = "UPDATE cq_change_seq SET seq = LAST_INSERT_ID(seq + 1) WHERE singleton = 1"
	benchChangeSQL = "INSERT INTO cq_changes (seq, user_id, surrogate_keys, payload, created_at) VALUES (?, ?, ?, ?, ?)"
)

func (d *directOrder) create(ctx context.Context, user, addrID int64, key string) (*Order, error) {
	tx, err := d.shard.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, claimIdemKeySQL, user, key, requestHash("create-order", itoa(addrID)), now()); err != nil {
		return nil, err
	}
	addr, err := scanAddress(tx.QueryRowContext(ctx, selectAddressSQL, user, addrID))
	if err != nil {
		return nil, err
	}
	o, err := d.price(ctx, tx, user, addr)
	if err != nil {
		return nil, err
	}
	if err := d.write(ctx, tx, o, key); err != nil {
		return nil, err
	}
	return o, tx.Commit()
}

// price reads the locked cart, then the shop and dishes from the global
// keyspace, and builds the order.
func (d *directOrder) price(ctx context.Context, tx *sql.Tx, user int64, addr *Address) (*Order, error) {
	rows, err := tx.QueryContext(ctx, lockCartSQL, user)
	if err != nil {
		return nil, err
	}
	var lines []*CartItem
	for rows.Next() {
		l, err := scanCartItem(rows)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	rows.Close()
	if _, err := scanShop(d.global.QueryRowContext(ctx, selectShopSQL, lines[0].ShopID)); err != nil {
		return nil, err
	}
	args := []any{lines[0].DishID, lines[1].DishID}
	drows, err := d.global.QueryContext(ctx, dishesByIDSQL(2), args...)
	if err != nil {
		return nil, err
	}
	defer drows.Close()
	o := newOrder(d.a.ids.Next(), user, lines[0].ShopID, addr)
	for i := 0; drows.Next(); i++ {
		dish, err := scanDish(drows)
		if err != nil {
			return nil, err
		}
		o.Items = append(o.Items, &OrderItem{ID: d.a.ids.Next(), DishID: dish.ID, Name: dish.Name, PriceCents: dish.PriceCents, Quantity: lines[i].Quantity})
		o.TotalCents += dish.PriceCents * int64(lines[i].Quantity)
	}
	return o, drows.Err()
}

// write inserts the order and items, clears the cart, appends the change
// and stores the reply under the key.
func (d *directOrder) write(ctx context.Context, tx *sql.Tx, o *Order, key string) error {
	dl := &o.Delivery
	if _, err := tx.ExecContext(ctx, insertOrderSQL, o.UserID, o.ID, o.ShopID, string(o.Status), o.TotalCents, o.CreatedAt, o.UpdatedAt,
		dl.AddressID, dl.Recipient, dl.Phone, dl.Line1, dl.Line2, dl.City, dl.Region, dl.PostalCode, dl.Country); err != nil {
		return err
	}
	var args []any
	for _, it := range o.Items {
		args = append(args, o.UserID, o.ID, it.ID, it.DishID, it.Name, it.PriceCents, it.Quantity)
	}
	if _, err := tx.ExecContext(ctx, insertItemsSQL(len(o.Items)), args...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, clearCartSQL, o.UserID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, benchBumpSQL)
	if err != nil {
		return err
	}
	seq, _ := res.LastInsertId()
	ref := OrderRef{UserID: o.UserID, OrderID: o.ID}
	keys := keyOrder(ref) + " " + keyUser(o.UserID, "orders") + " " + keyShopOrders(o.ShopID) + " " + keyUser(o.UserID, "cart")
	if _, err := tx.ExecContext(ctx, benchChangeSQL, seq, o.UserID, keys, `{"kind":"order.created"}`, time.Now().UTC()); err != nil {
		return err
	}
	body, _ := json.Marshal(o)
	stored, _ := json.Marshal(&reply{Version: "shard-0." + strconv.FormatInt(seq, 10), Location: "/api/v1/me/orders/" + ref.String(), Body: body})
	_, err = tx.ExecContext(ctx, storeIdemRespSQL, http.StatusCreated, stored, o.UserID, key)
	return err
}
