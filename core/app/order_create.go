package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/sharding/exec"
)

// createOrderRequest is the body of POST /api/v1/me/orders.
type createOrderRequest struct {
	AddressID int64 `json:"address_id"`
}

func (q *createOrderRequest) validate() error {
	var f fields
	f.id("address_id", q.AddressID)
	return f.err
}

// createOrder is POST /api/v1/me/orders with an Idempotency-Key: the cart
// becomes an order awaiting payment (201), and the cart is emptied.
func (a *App) createOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var q createOrderRequest
	if err := a.decode(w, r, &q); err != nil {
		return err
	}
	ctx, user := r.Context(), who.UserID
	hash := requestHash("create-order", itoa(q.AddressID))
	rp, replayed, err := a.idempotent(ctx, user, key, hash, func(tx *exec.Tx) (*reply, error) {
		return a.placeOrder(ctx, tx, user, q.AddressID)
	})
	if err != nil {
		return err
	}
	return rp.write(w, replayed)
}

// placeOrder turns user's locked cart into an order inside tx. The prices
// are the catalog's as read now, by separate statements on the global
// keyspace; the order keeps them whatever the catalog does later.
func (a *App) placeOrder(ctx context.Context, tx *exec.Tx, user, addressID int64) (*reply, error) {
	addr, err := address(ctx, tx, selectAddressSQL, user, addressID, http.StatusUnprocessableEntity)
	if err != nil {
		return nil, err
	}
	lines, err := queryAll(ctx, tx, scanCartItem, lockCartSQL, user)
	if err != nil {
		return nil, err
	}
	o, err := a.priceOrder(ctx, user, addr, lines)
	if err != nil {
		return nil, err
	}
	if err := insertOrder(ctx, tx, o); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, clearCartSQL, user); err != nil {
		return nil, err
	}
	ref := OrderRef{UserID: user, OrderID: o.ID}
	v, err := change(ctx, tx, user, "order.created", append(keysOrderChanged(ref, o.ShopID), keyUser(user, "cart"))...)
	if err != nil {
		return nil, err
	}
	return newReply(http.StatusCreated, v, "/api/v1/me/orders/"+ref.String(), o)
}

// priceOrder builds the order of a cart from the catalog as it is now:
// the shop must be open (409 shop_closed), every dish on sale and of that
// shop (409 dish_not_on_sale), the cart not empty and of one shop (409).
func (a *App) priceOrder(ctx context.Context, user int64, addr *Address, lines []*CartItem) (*Order, error) {
	if len(lines) == 0 {
		return nil, errorf(http.StatusConflict, codeCartEmpty, "the cart is empty")
	}
	shopID := lines[0].ShopID
	for _, l := range lines {
		if l.ShopID != shopID {
			return nil, errorf(http.StatusConflict, codeCartShopConflict, "the cart holds dishes of shops %d and %d; keep one shop's", shopID, l.ShopID)
		}
	}
	if err := a.checkOpen(ctx, shopID); err != nil {
		return nil, err
	}
	dishes, err := a.dishes(ctx, lines)
	if err != nil {
		return nil, err
	}
	o := newOrder(a.ids.Next(), user, shopID, addr)
	for _, l := range lines {
		d := dishes[l.DishID]
		if d == nil || !d.OnSale || d.ShopID != shopID {
			return nil, errorf(http.StatusConflict, codeDishNotOnSale, "dish %d is no longer on sale; remove it from the cart", l.DishID)
		}
		o.Items = append(o.Items, &OrderItem{ID: a.ids.Next(), DishID: d.ID, Name: d.Name, PriceCents: d.PriceCents, Quantity: l.Quantity})
		o.TotalCents += d.PriceCents * int64(l.Quantity)
	}
	return o, nil
}

// checkOpen refuses orders for a shop that is closed (or gone).
func (a *App) checkOpen(ctx context.Context, id int64) error {
	s, err := scanShop(a.exec.QueryRow(ctx, selectShopSQL, id))
	closed := errorf(http.StatusConflict, codeShopClosed, "shop %d is closed", id)
	if err = ifNoRows(err, closed); err == nil && !s.IsOpen {
		err = closed
	}
	return err
}

func newOrder(id, user, shop int64, addr *Address) *Order {
	at := now()
	o := &Order{Items: []*OrderItem{}, Payments: []*Payment{}}
	o.OrderSummary = OrderSummary{Ref: OrderRef{UserID: user, OrderID: id}.String(), ID: id, UserID: user, ShopID: shop,
		Status: StatusPendingPayment, CreatedAt: at, UpdatedAt: at}
	o.Delivery = Delivery{AddressID: addr.ID, Recipient: addr.Recipient, Phone: addr.Phone, Line1: addr.Line1, Line2: addr.Line2,
		City: addr.City, Region: addr.Region, PostalCode: addr.PostalCode, Country: addr.Country}
	return o
}

// insertOrder writes the order row and its items.
func insertOrder(ctx context.Context, tx *exec.Tx, o *Order) error {
	d := &o.Delivery
	_, err := tx.Exec(ctx, insertOrderSQL, o.UserID, o.ID, o.ShopID, string(o.Status), o.TotalCents, o.CreatedAt, o.UpdatedAt,
		d.AddressID, d.Recipient, d.Phone, d.Line1, d.Line2, d.City, d.Region, d.PostalCode, d.Country)
	if err != nil {
		return err
	}
	args := make([]any, 0, 7*len(o.Items))
	for _, it := range o.Items {
		args = append(args, o.UserID, o.ID, it.ID, it.DishID, it.Name, it.PriceCents, it.Quantity)
	}
	_, err = tx.Exec(ctx, insertItemsSQL(len(o.Items)), args...)
	return err
}
