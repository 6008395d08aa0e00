// Package admin is a core node's admin API: the operators', drills' and
// terraform provider's way in. It serves on its own listener, apart from
// the tunnels that carry end users' requests, and every route but the
// probes requires the admin bearer token. End users' identity headers mean
// nothing here and are never read.
//
// # Routes
//
//	method  path                      auth   success  errors: status code
//	GET     /healthz                  none   200      -
//	GET     /readyz                   none   200      503 not_ready
//	GET     /metrics                  token  200      -
//	GET     /admin/v1/members         token  200      -
//	GET     /admin/v1/shardmap        token  200      503 no_shard_map
//	PUT     /admin/v1/shardmap        token  200      428 precondition_required,
//	                                                  400 invalid_precondition,
//	                                                  400 malformed_json, 413 body_too_large,
//	                                                  415 unsupported_media_type,
//	                                                  422 invalid_shard_map, 412 epoch_conflict
//	GET     /admin/v1/regions         token  200      -
//	GET     /admin/v1/regions/{name}  token  200      404 region_not_found
//	PUT     /admin/v1/regions/{name}  token  201/200  400 invalid_precondition,
//	                                                  400 malformed_json|unknown_field|wrong_type,
//	                                                  413, 415, 422 invalid_region,
//	                                                  404 region_not_found (If-Match given),
//	                                                  412 region_conflict
//	DELETE  /admin/v1/regions/{name}  token  204      428 precondition_required,
//	                                                  400 invalid_precondition,
//	                                                  404 region_not_found, 412 region_conflict
//	POST    /admin/v1/reshards        token  202      400 malformed_json|unknown_field|wrong_type,
//	                                                  413, 415, 400 invalid_reshard,
//	                                                  409 shard_exists, 404 shard_not_found,
//	                                                  409 last_shard, 409 reshard_running,
//	                                                  422 shard_unreachable
//	GET     /admin/v1/reshards/current token  200      404 reshard_not_found
//	GET     /admin/v1/reshards/{id}   token  200      400 invalid_reshard_id, 404 reshard_not_found
//	POST    /admin/v1/reshards/{id}/abort token 200   400 invalid_reshard_id, 404 reshard_not_found,
//	                                                  409 reshard_not_abortable, 409 reshard_running
//
// Every route marked token answers 401 unauthenticated, with
// WWW-Authenticate: Bearer, to a request without the admin token. Any other
// path answers 404 not_found and a known path with another method 405
// method_not_allowed with Allow, both after authentication; HEAD is served
// wherever GET is. A failure of the store or the cluster is a 500 internal
// whose cause is logged, never sent. Every error body is
// {"error":{"code":…,"message":…}} (core/httpapi), and no answer may be
// cached (Cache-Control: no-store). The GET and successful PUT answers of
// the shard map and of a region carry an ETag.
//
// # Resharding
//
// The reshard routes exist when Config.Reshards is set. POST starts a
// workflow that adds a shard, {"kind":"add","shard":{"id":"shard-5",
// "address":"10.0.0.5:4000","database":"takeout","weight":1}} (database
// and weight optional), or removes one, {"kind":"remove","shard":
// {"id":"shard-3"}}. It answers 202 once the workflow is recorded, with
// its status (reshard.Status) and Location: /admin/v1/reshards/{id}; the
// workflow runs in the background, and a client follows it by polling
// that location until its phase is done or failed. The refusals happen
// before anything moves, and their message says why. Only one workflow
// runs at a time (409 reshard_running); /admin/v1/reshards/current is the
// running one, else the most recent. Ids are decimal numbers; the status
// carries its id as a JSON string. POST /admin/v1/reshards/{id}/abort rolls
// back a workflow that failed before its cutover (reshard.Coordinator.Abort):
// its copies are deleted and the map it started from is committed again;
// it answers the workflow's status, phase aborted, or 409
// reshard_not_abortable saying why not.
//
// # Optimistic concurrency
//
// Both the shard map and each region change only by compare-and-set, and
// HTTP preconditions carry what the client read: the ETag of a shard map
// is its epoch ("7"), of a region its version. A change sends it back in
// If-Match (7 or "7"; weak tags, lists and * are refused, since any of them
// would defeat the check). The shard map and DELETE require If-Match (428
// without); PUT of a region without If-Match creates it and fails with 412
// if it exists. A stale If-Match is a 412 whose message names the current
// epoch or version and whose ETag is the current one, so the client can
// re-read and decide again.
//
// # Probes and metrics
//
// /healthz says the process serves HTTP. /readyz runs Config.Ready (by
// default: a shard map is served); to an unauthenticated caller it gives no
// reason for not being ready, since reasons name internal addresses; with
// the token it does (as Kubernetes' /readyz withholds reasons). /metrics
// requires the token because Prometheus scrapers carry one
// (authorization: {credentials_file: …} in a scrape config) and the series
// name shards and members.
package admin
