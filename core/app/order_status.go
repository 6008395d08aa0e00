package app

import (
	"context"
	"net/http"

	"github.com/cangqiong/cangqiong/replication/outbox"
	"github.com/cangqiong/cangqiong/sharding/exec"
)

// Payment kinds and the one status a simulated payment ends in.
const (
	paymentCharge    = "charge"
	paymentRefund    = "refund"
	paymentSucceeded = "succeeded"
)

// payOrder is POST /api/v1/me/orders/{order}/pay with an Idempotency-Key:
// a simulated charge of the order's total, which always succeeds; the
// order becomes paid.
func (a *App) payOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	ref, err := myOrderRef(r, who.UserID)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	rp, replayed, err := a.idempotent(ctx, who.UserID, key, requestHash("pay", ref.String()), func(tx *exec.Tx) (*reply, error) {
		o, v, err := a.move(ctx, tx, ref, StatusPaid, "order.paid")
		if err != nil {
			return nil, err
		}
		return newReply(http.StatusOK, v, "", o)
	})
	if err != nil {
		return err
	}
	return rp.write(w, replayed)
}

// cancelOrder is POST /api/v1/me/orders/{order}/cancel: from
// pending_payment, or from paid with a refund of the charge.
func (a *App) cancelOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := signedIn(r)
	if err != nil {
		return err
	}
	ref, err := myOrderRef(r, who.UserID)
	if err != nil {
		return err
	}
	return a.moveAndAnswer(w, r, ref, StatusCancelled, "order.cancelled")
}

// statusRequest is the body of POST /api/v1/orders/{order}/status.
type statusRequest struct {
	Status Status `json:"status"`
}

func (q *statusRequest) validate() error {
	var f fields
	f.check(merchantMoves[q.Status], "status", "must be accepted, delivering or completed")
	return f.err
}

// advanceOrder is POST /api/v1/orders/{order}/status: the shop's staff move
// an order along (accepted, delivering, completed). The reference routes
// straight to the customer's shard.
func (a *App) advanceOrder(w http.ResponseWriter, r *http.Request) error {
	who, err := staff(r)
	if err != nil {
		return err
	}
	ref, err := pathOrderRef(r)
	if err != nil {
		return err
	}
	var q statusRequest
	if err := a.decode(w, r, &q); err != nil {
		return err
	}
	o, err := scanOrder(a.exec.QueryRow(r.Context(), selectOrderSQL, ref.UserID, ref.OrderID))
	if err = ifNoRows(err, unknownOrder(ref)); err != nil {
		return err
	}
	if err := a.checkOrderShop(r.Context(), who, ref, o.ShopID); err != nil {
		return err
	}
	return a.moveAndAnswer(w, r, ref, q.Status, "order."+string(q.Status))
}

// moveAndAnswer moves an order in its own transaction and answers 200
// with the order.
func (a *App) moveAndAnswer(w http.ResponseWriter, r *http.Request, ref OrderRef, to Status, kind string) error {
	var o *Order
	var v outbox.Version
	err := a.inTx(r.Context(), func(tx *exec.Tx) (err error) {
		o, v, err = a.move(r.Context(), tx, ref, to, kind)
		return err
	})
	if err != nil {
		return err
	}
	return written(w, http.StatusOK, v, o)
}

// move takes order ref to status to inside tx: the order is read and
// locked (404), the state machine checked (409), the status set under a
// guard on the status read, the payment of the move written (a charge for
// paid, a refund when a paid order is cancelled) and the change recorded.
// It returns the order as it is now.
func (a *App) move(ctx context.Context, tx *exec.Tx, ref OrderRef, to Status, kind string) (*Order, outbox.Version, error) {
	o, err := scanOrder(tx.QueryRow(ctx, lockOrderSQL, ref.UserID, ref.OrderID))
	if err = ifNoRows(err, unknownOrder(ref)); err != nil {
		return nil, outbox.Version{}, err
	}
	if err := setStatus(ctx, tx, ref, o.Status, to); err != nil {
		return nil, outbox.Version{}, err
	}
	if err := a.pay(ctx, tx, o, to); err != nil {
		return nil, outbox.Version{}, err
	}
	v, err := change(ctx, tx, ref.UserID, kind, keysOrderChanged(ref, o.ShopID)...)
	if err != nil {
		return nil, outbox.Version{}, err
	}
	o, err = loadOrder(ctx, tx, ref, selectOrderSQL)
	return o, v, err
}

// setStatus moves the order from → to if the state machine allows it. The
// UPDATE is guarded by the status, so a move that lost a race changes
// nothing and is reported like any illegal move.
func setStatus(ctx context.Context, tx *exec.Tx, ref OrderRef, from, to Status) error {
	if !from.CanBecome(to) {
		return illegalTransition(ref, from, to)
	}
	res, err := tx.Exec(ctx, setOrderStatusSQL, string(to), now(), ref.UserID, ref.OrderID, string(from))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var cur string
	if err := tx.QueryRow(ctx, selectOrderStatusSQL, ref.UserID, ref.OrderID).Scan(&cur); err != nil {
		return ifNoRows(err, unknownOrder(ref))
	}
	return illegalTransition(ref, Status(cur), to)
}

// pay writes the simulated payment a move implies, if any.
func (a *App) pay(ctx context.Context, tx *exec.Tx, o *Order, to Status) error {
	kind := ""
	switch {
	case to == StatusPaid:
		kind = paymentCharge
	case to == StatusCancelled && o.Status == StatusPaid:
		kind = paymentRefund
	default:
		return nil
	}
	id, at := a.ids.Next(), now()
	_, err := tx.Exec(ctx, insertPaymentSQL, o.UserID, o.ID, id, kind, paymentSucceeded, o.TotalCents, "sim_"+kind+"_"+itoa(id), at, at)
	return err
}
