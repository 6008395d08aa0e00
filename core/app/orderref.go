package app

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// OrderRef names an order in the API: "<user_id>-<order_id>" in decimal.
// The user id in it is the shard key of the order's rows, so a handler
// routes any order (a merchant's status change, say) to its one shard
// without a scatter.
type OrderRef struct {
	UserID  int64
	OrderID int64
}

// ErrBadOrderRef is returned by ParseOrderRef for malformed text.
var ErrBadOrderRef = errors.New("app: bad order reference")

// ParseOrderRef reads a reference made by OrderRef.String. It is strict:
// both ids positive, in decimal without sign or leading zeros.
func ParseOrderRef(s string) (OrderRef, error) {
	user, order, found := strings.Cut(s, "-")
	u, okU := parseID(user)
	o, okO := parseID(order)
	if !found || !okU || !okO {
		return OrderRef{}, fmt.Errorf("%w: %q", ErrBadOrderRef, s)
	}
	return OrderRef{UserID: u, OrderID: o}, nil
}

// String is the reference's text.
func (r OrderRef) String() string {
	return strconv.FormatInt(r.UserID, 10) + "-" + strconv.FormatInt(r.OrderID, 10)
}

// pathOrderRef is the {order} wildcard: 400 bad_order_ref when malformed.
func pathOrderRef(r *http.Request) (OrderRef, error) {
	ref, err := ParseOrderRef(r.PathValue("order"))
	if err != nil {
		return ref, errorf(http.StatusBadRequest, codeBadOrderRef, "order must be a reference like 42-7001, not %q", r.PathValue("order"))
	}
	return ref, nil
}

// unknownOrder answers for an order that does not exist or that the
// caller may not see: the two are not told apart.
func unknownOrder(ref OrderRef) error {
	return errorf(http.StatusNotFound, codeUnknownOrder, "no order %s", ref)
}
