// Package app is the takeout application API of the core: the JSON handlers
// under /api/v1 for the catalog (shops, menus), each user's own data
// (profile, addresses, cart, orders, payments) and the merchants' and
// admins' operations (shops, dishes, order progress). New builds an App
// over a sharding/exec Executor; Handler serves it with net/http.
//
// # Where data lives
//
// The catalog (shops, categories, dishes) is in the global keyspace. A
// user's rows are on the shard the ring assigns to the user id: every
// statement of a per-user handler is keyed by user_id, so the router sends
// it to that one shard. A merchant's order listing is a scatter SELECT over
// every shard, merged newest first. An order is named by its reference
// "<user_id>-<order_id>" (OrderRef), so a merchant's status change routes to
// the customer's shard without a scatter.
//
// # Writes
//
// Every write is one transaction on one keyspace: a user's shard, pinned by
// its first keyed statement, or the global keyspace for the catalog. It
// ends by appending the change to that keyspace's outbox
// (replication/outbox) with the surrogate keys of what changed, so the
// rows and the change event commit together or not at all. The response
// carries the change's version in the Cq-Version header; an edge uses it to
// give the user read-your-writes. A rejected request writes nothing: input
// is validated before the transaction starts, and a check that fails inside
// it rolls it back. A transaction the server aborts as a deadlock victim is
// run again from the start (a few times at most).
//
// Order creation reads the user's cart under lock in the shard
// transaction, then reads the shop and the dishes from the global keyspace
// with separate statements (the router refuses statements that mix sharded
// and global tables, and a transaction cannot span keyspaces), and writes
// the order with those prices. The price a customer pays is the catalog's
// price at that moment; later catalog changes never touch placed orders.
//
// # Idempotency
//
// Creating an order and paying one need an Idempotency-Key header. The
// handler's first statement inserts (user_id, key, SHA-256 of the request)
// into idempotency_keys; the response (status, body and version) is stored
// in the same row by the same transaction that writes the order. A
// concurrent request with the same key blocks on InnoDB's unique-key lock
// until the first commits and then fails with a duplicate key: it rolls
// back and answers with the stored response, on any core node, marked
// Idempotent-Replayed: true. Reusing a key for a different request is
// refused (422). Only successful responses
// are stored: a request refused by validation or by the state of the data
// (a closed shop, say) writes nothing, so a retry with the same key may
// succeed once the state allows it.
//
// Keys are kept for ever unless the core node is given an
// IdempotencyRetention: it then deletes older keys with
// ExpireIdempotencyKeys, and a request repeated with an expired key is a
// new request.
//
// # Caching
//
// Catalog reads are public: Cache-Control carries s-maxage,
// stale-while-revalidate and stale-if-error (Config.Catalog) and
// Surrogate-Key names what they show ("shop:12 menu:12"). Per-user reads
// are Cache-Control: private with per-user surrogate keys
// ("user:42:orders"). Writes and errors are no-store.
//
// # Errors
//
// Every error is {"error":{"code":"…","message":"…"}} (core/httpapi) with
// a stable code: 400 for malformed input, 401 without a verified user, 403
// for the wrong role or another merchant's shop, 404 for what does not
// exist or is not the caller's to see, 409 for a request the data's state
// refuses (a closed shop, an illegal order transition), 413 for a body
// over Config.MaxBodyBytes, 422 for a body naming something that does not
// fit (a dish of another shop, a reused idempotency key). A shard that
// does not answer is 503 unavailable, worth retrying. A write of a user
// whom a reshard is moving right now is held until the move's cutover ends
// (at most Config.HoldTimeout) and then runs; past that it is 503
// resharding with Retry-After: 1, having written nothing. Anything else
// unexpected is a 500 that is logged and whose message says nothing.
//
// # Pitfalls
//
// On TiDB, which takes no gap locks, two concurrent cart updates for
// dishes of different shops can both succeed; order creation checks again
// and refuses a cart that mixes shops. An App is safe for concurrent use.
package app
