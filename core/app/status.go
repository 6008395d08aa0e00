package app

import "net/http"

// Status is where an order is in its life:
//
//	pending_payment → paid → accepted → delivering → completed
//	pending_payment → cancelled, paid → cancelled (refunded)
type Status string

// The order statuses.
const (
	StatusPendingPayment Status = "pending_payment"
	StatusPaid           Status = "paid"
	StatusAccepted       Status = "accepted"
	StatusDelivering     Status = "delivering"
	StatusCompleted      Status = "completed"
	StatusCancelled      Status = "cancelled"
)

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusPendingPayment: {StatusPaid, StatusCancelled},
	StatusPaid:           {StatusAccepted, StatusCancelled},
	StatusAccepted:       {StatusDelivering},
	StatusDelivering:     {StatusCompleted},
}

// CanBecome reports whether the state machine allows s → t.
func (s Status) CanBecome(t Status) bool {
	for _, next := range transitions[s] {
		if next == t {
			return true
		}
	}
	return false
}

// merchantMoves are the statuses a shop's staff may set (the customer
// pays and cancels).
var merchantMoves = map[Status]bool{StatusAccepted: true, StatusDelivering: true, StatusCompleted: true}

func illegalTransition(ref OrderRef, from, to Status) error {
	return errorf(http.StatusConflict, codeIllegalTransition, "order %s is %s; it cannot become %s", ref, from, to)
}
