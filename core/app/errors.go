package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/cangqiong/cangqiong/core/httpapi"
	"github.com/cangqiong/cangqiong/sharding/exec"
	"github.com/go-sql-driver/mysql"
)

// Error codes the API answers with, besides httpapi's body codes
// (malformed_json, unknown_field, wrong_type, body_too_large).
const (
	codeUnauthenticated   = "unauthenticated"
	codeForbidden         = "forbidden"
	codeNotFound          = "not_found"
	codeMethodNotAllowed  = "method_not_allowed"
	codeBadID             = "bad_id"
	codeBadCursor         = "bad_cursor"
	codeBadLimit          = "bad_limit"
	codeBadRegion         = "bad_region"
	codeBadOrderRef       = "bad_order_ref"
	codeInvalidField      = "invalid_field"
	codeMissingField      = "missing_field"
	codeIdemRequired      = "idempotency_key_required"
	codeBadIdemKey        = "bad_idempotency_key"
	codeIdemReused        = "idempotency_key_reused"
	codeIdemInProgress    = "request_in_progress"
	codeUnknownShop       = "unknown_shop"
	codeUnknownDish       = "unknown_dish"
	codeUnknownCategory   = "unknown_category"
	codeUnknownAddress    = "unknown_address"
	codeUnknownOrder      = "unknown_order"
	codeProfileNotFound   = "profile_not_found"
	codeNotInCart         = "not_in_cart"
	codeDishNotInShop     = "dish_not_in_shop"
	codeCategoryNotInShop = "category_not_in_shop"
	codeDishNotOnSale     = "dish_not_on_sale"
	codeShopClosed        = "shop_closed"
	codeCartShopConflict  = "cart_shop_conflict"
	codeCartEmpty         = "cart_empty"
	codeCartFull          = "cart_full"
	codeTooManyAddresses  = "too_many_addresses"
	codeIllegalTransition = "illegal_transition"
	codeUnavailable       = "unavailable"
	codeResharding        = "resharding"
)

// MySQL error numbers the handlers act on.
const (
	mysqlDuplicateEntry  = 1062
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// errResharding answers a write held for Config.HoldTimeout while a
// reshard moved its user: worth retrying in a second (writeErr adds
// Retry-After).
func errResharding() *httpapi.Error {
	return errorf(http.StatusServiceUnavailable, codeResharding, "your data is being moved between servers; retry in a second")
}

// errorf builds an API error (status, stable code, message).
func errorf(status int, code, format string, args ...any) *httpapi.Error {
	return httpapi.Errorf(status, code, format, args...)
}

// writeErr writes err as the API's JSON error. Errors never carry cache
// or version headers a success might have set.
func writeErr(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Del(headerVersion)
	h.Del(headerSurrogate)
	h.Del("Location")
	h.Set(headerCache, cacheNoStore)
	if e := (*httpapi.Error)(nil); errors.As(err, &e) && e.Code == codeResharding {
		h.Set(headerRetryAfter, "1")
	}
	httpapi.WriteError(w, err)
}

// classify turns an error that is not an API error into one a client can
// act on: a shard that gave no SQL answer (down, unreachable, too slow) or
// a lock wait that timed out is 503 unavailable, worth retrying; anything
// else is a 500. internal reports whether the error is worth logging.
func classify(err error) (api error, internal bool) {
	var e *httpapi.Error
	if errors.As(err, &e) {
		return e, e.Status >= 500
	}
	var se *exec.ShardError
	switch code := mysqlCode(err); {
	case errors.Is(err, context.Canceled):
		return err, false // the client went away; nobody reads the answer
	case code == mysqlLockWaitTimeout, code == mysqlDeadlock,
		errors.Is(err, context.DeadlineExceeded), code == 0 && errors.As(err, &se):
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "the data store is unavailable; retry shortly"), true
	}
	return err, true
}

// mysqlCode is the server's error number in err, or 0.
func mysqlCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
