package app

import (
	"context"
	"net/http"
)

// listMyOrders is GET /api/v1/me/orders?cursor=&limit=: the caller's
// orders, newest first.
func (a *App) listMyOrders(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	page, err := a.orderPage(r, listUserOrdersSQL, listUserOrdersAfterSQL, who.UserID)
	if err != nil {
		return err
	}
	return private(w, page, keyUser(who.UserID, "orders"))
}

// orderPage reads one newest-first page of orders selected by key (a
// user, or a shop for the scatter listing) with the first-page or the
// after-cursor statement.
func (a *App) orderPage(r *http.Request, first, after string, key int64) (*OrderPage, error) {
	limit, err := pageLimit(r)
	if err != nil {
		return nil, err
	}
	cur, err := newestCursor(r)
	if err != nil {
		return nil, err
	}
	query, args := first, []any{key, limit + 1}
	if cur != nil {
		query, args = after, []any{key, cur.At, cur.At, cur.ID, limit + 1}
	}
	list, err := queryAll(r.Context(), a.exec, scanSummary, query, args...)
	if err != nil {
		return nil, err
	}
	page := &OrderPage{Orders: list}
	if len(list) > limit {
		last := list[limit-1]
		page.Orders, page.NextCursor = list[:limit], timeCursor{At: last.CreatedAt, ID: last.ID}.String()
	}
	return page, nil
}

// getMyOrder is GET /api/v1/me/orders/{order}: another user's order is
// 404, as if it did not exist.
func (a *App) getMyOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	ref, err := myOrderRef(r, who.UserID)
	if err != nil {
		return err
	}
	o, err := loadOrder(r.Context(), a.exec, ref, selectOrderSQL)
	if err != nil {
		return err
	}
	return private(w, o, keyOrder(ref), keyUser(ref.UserID, "orders"))
}

// myOrderRef is the {order} wildcard when it names one of user's orders.
func myOrderRef(r *http.Request, user int64) (OrderRef, error) {
	ref, err := pathOrderRef(r)
	if err == nil && ref.UserID != user {
		err = unknownOrder(ref)
	}
	return ref, err
}

// loadOrder reads an order with its items and payments; query is
// selectOrderSQL or, in a transaction, lockOrderSQL.
func loadOrder(ctx context.Context, q querier, ref OrderRef, query string) (*Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, query, ref.UserID, ref.OrderID))
	if err = ifNoRows(err, unknownOrder(ref)); err != nil {
		return nil, err
	}
	if o.Items, err = queryAll(ctx, q, scanItem, listItemsSQL, ref.UserID, ref.OrderID); err != nil {
		return nil, err
	}
	o.Payments, err = queryAll(ctx, q, scanPayment, listPaymentsSQL, ref.UserID, ref.OrderID)
	return o, err
}
