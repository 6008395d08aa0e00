package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// Cart bounds.
const (
	MaxQuantity  = 99 // of one dish
	MaxCartLines = 50 // distinct dishes
)

// getCart is GET /api/v1/me/cart, priced at the catalog's current prices.
func (a *App) getCart(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	lines, err := queryAll(r.Context(), a.exec, scanCartItem, listCartSQL, who.UserID)
	if err != nil {
		return err
	}
	cart, err := a.priceCart(r.Context(), lines)
	if err != nil {
		return err
	}
	return private(w, cart, keyUser(who.UserID, "cart"))
}

// priceCart fills in the lines' dish names and prices from the catalog.
func (a *App) priceCart(ctx context.Context, lines []*CartItem) (*Cart, error) {
	cart := &Cart{Items: lines}
	dishes, err := a.dishes(ctx, lines)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		cart.ShopID = l.ShopID
		if d := dishes[l.DishID]; d != nil {
			l.Name, l.PriceCents, l.Available = d.Name, d.PriceCents, d.OnSale && d.ShopID == l.ShopID
		}
		if l.Available {
			cart.TotalCents += l.PriceCents * int64(l.Quantity)
		}
	}
	return cart, nil
}

// dishes reads the catalog's dishes of lines, by id; a deleted dish is
// missing from the map.
func (a *App) dishes(ctx context.Context, lines []*CartItem) (map[int64]*Dish, error) {
	out := make(map[int64]*Dish, len(lines))
	if len(lines) == 0 {
		return out, nil
	}
	args := make([]any, len(lines))
	for i, l := range lines {
		args[i] = l.DishID
	}
	list, err := queryAll(ctx, a.exec, scanDish, dishesByIDSQL(len(args)), args...)
	for _, d := range list {
		out[d.ID] = d
	}
	return out, err
}

// cartItemRequest is the body of PUT /api/v1/me/cart/items/{dish}.
type cartItemRequest struct {
	ShopID   int64 `json:"shop_id"`
	Quantity int   `json:"quantity"`
}

func (q *cartItemRequest) validate() error {
	var f fields
	f.id("shop_id", q.ShopID)
	f.between("quantity", int64(q.Quantity), 1, MaxQuantity)
	return f.err
}

// putCartItem is PUT /api/v1/me/cart/items/{dish}: sets the quantity of a
// dish on sale of shop_id. The cart holds one shop's dishes.
func (a *App) putCartItem(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	dishID, err := pathID(r, "dish")
	if err != nil {
		return err
	}
	var q cartItemRequest
	if err := a.decode(w, r, &q); err != nil {
		return err
	}
	d, err := a.dishForCart(r.Context(), dishID, q.ShopID)
	if err != nil {
		return err
	}
	item, v, err := a.setCartLine(r.Context(), who.UserID, d, q.Quantity)
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, item)
}

// dishForCart checks a dish a user puts in the cart: it exists (404), is
// of the shop the request names (422) and is on sale (409).
func (a *App) dishForCart(ctx context.Context, id, shop int64) (*Dish, error) {
	d, err := scanDish(a.exec.QueryRow(ctx, selectDishSQL, id))
	switch {
	case err != nil:
		return nil, ifNoRows(err, errorf(http.StatusNotFound, codeUnknownDish, "no dish %d", id))
	case d.ShopID != shop:
		return nil, errorf(http.StatusUnprocessableEntity, codeDishNotInShop, "dish %d is not sold by shop %d", id, shop)
	case !d.OnSale:
		return nil, errorf(http.StatusConflict, codeDishNotOnSale, "dish %d is not on sale", id)
	}
	return d, nil
}

// setCartLine writes one cart line in the user's shard transaction, after
// checking the locked cart: one shop only (409 cart_shop_conflict), at
// most MaxCartLines dishes (409 cart_full).
func (a *App) setCartLine(ctx context.Context, user int64, d *Dish, qty int) (*CartItem, outbox.Version, error) {
	at := now()
	item := &CartItem{DishID: d.ID, ShopID: d.ShopID, Quantity: qty, Name: d.Name, PriceCents: d.PriceCents, Available: true, CreatedAt: at, UpdatedAt: at}
	var v outbox.Version
	err := a.inTx(ctx, func(tx *exec.Tx) error {
		lines, err := queryAll(ctx, tx, scanCartItem, lockCartSQL, user)
		if err != nil {
			return err
		}
		if err := fitsCart(lines, item); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, upsertCartItemSQL, user, item.DishID, item.ShopID, item.Quantity, item.CreatedAt, item.UpdatedAt); err != nil {
			return err
		}
		v, err = change(ctx, tx, user, "cart.changed", keyUser(user, "cart"))
		return err
	})
	return item, v, err
}

// fitsCart checks that item may join lines; an existing line of the dish
// keeps its creation time.
func fitsCart(lines []*CartItem, item *CartItem) error {
	for _, l := range lines {
		if l.ShopID != item.ShopID {
			return errorf(http.StatusConflict, codeCartShopConflict, "the cart holds dishes of shop %d; clear it before adding dishes of shop %d", l.ShopID, item.ShopID)
		}
		if l.DishID == item.DishID {
			item.CreatedAt = l.CreatedAt
			return nil
		}
	}
	if len(lines) >= MaxCartLines {
		return errorf(http.StatusConflict, codeCartFull, "a cart holds at most %d dishes", MaxCartLines)
	}
	return nil
}

// deleteCartItem is DELETE /api/v1/me/cart/items/{dish}.
func (a *App) deleteCartItem(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	dishID, err := pathID(r, "dish")
	if err != nil {
		return err
	}
	v, err := a.cartDelete(r.Context(), who.UserID,
		errorf(http.StatusNotFound, codeNotInCart, "dish %d is not in the cart", dishID), deleteCartItemSQL, who.UserID, dishID)
	if err != nil {
		return err
	}
	return written(w, http.StatusNoContent, v, nil)
}

// clearCart is DELETE /api/v1/me/cart; clearing an empty cart succeeds.
func (a *App) clearCart(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	v, err := a.cartDelete(r.Context(), who.UserID, nil, clearCartSQL, who.UserID)
	if err != nil {
		return err
	}
	return written(w, http.StatusNoContent, v, nil)
}

// cartDelete runs a DELETE on user's cart and records the change. If
// notFound is set, a DELETE that removes nothing fails with it.
func (a *App) cartDelete(ctx context.Context, user int64, notFound error, query string, args ...any) (outbox.Version, error) {
	var v outbox.Version
	err := a.inTx(ctx, func(tx *exec.Tx) error {
		res, err := tx.Exec(ctx, query, args...)
		if notFound != nil {
			err = removed(res, err, notFound)
		}
		if err != nil {
			return err
		}
		v, err = change(ctx, tx, user, "cart.changed", keyUser(user, "cart"))
		return err
	})
	return v, err
}
