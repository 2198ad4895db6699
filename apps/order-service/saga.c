/*
 * saga.c - POST /supply-orders (CONTRACT §4): the supply order saga.
 *
 *	open (record pending, claim the lease)
 *	  -> reserve   POST   inventory  /inventory/reservations
 *	  -> ship      POST   logistics  /shipments
 *	  -> commit    POST   inventory  /inventory/reservations/:id/commit
 *	  -> confirmed
 *
 * What one request does is recorded once, at its end (orders.finish():
 * the changes and their audit rows in one statement): reserved, shipped
 * and confirmed together; or rejected; or the steps it got through and
 * their compensation.  Every downstream write is idempotent by an id the
 * order owns (the reservation id, the supply order id as the shipment's
 * order_id), so a step needs no record before the next one starts:
 * whatever stops the saga - a crash, an outage - leaves the order at the
 * step last recorded, and the caller's repeat redoes what follows (a step
 * done twice takes effect once).
 *
 * Inventory's 409 and 422 reject the order (nothing is held).  A step that
 * still fails after its retries is compensated: the reservation is
 * released, the order stays pending, the answer is 503 with Retry-After.
 * A released reservation id cannot be reserved again (inventory replays
 * it), so the compensation records a fresh one for the next attempt.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "items.h"
#include "json.h"
#include "json_writer.h"
#include "order.h"
#include "pipeline.h"
#include "queries.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc.h"
#include "svc_error.h"
#include "upstream.h"
#include "service_decl.h"

/*
 * Time: the whole saga, compensation included, answers within the
 * request deadline (upstream.h caps every call at UPSTREAM_DEADLINE_MS
 * after the request arrived).  A forward step may use the time left
 * minus SAGA_RELEASE_MS, kept for releasing the reservation if it fails;
 * with less than SAGA_STEP_MIN_MS left the step is not tried.
 */
#define SAGA_RELEASE_MS		400
#define SAGA_STEP_MIN_MS	100
/*
 * The lease of the request running an order's saga (longer than any
 * request lives), and how long a concurrent repeat waits for it inside
 * open() before answering 503 (below the DB statement timeout).
 */
#define SAGA_LEASE		"5 seconds"
#define SAGA_WAIT		"800 milliseconds"

#define PHASE_OPEN		0
#define PHASE_RESERVE		1
#define PHASE_SHIP		2
#define PHASE_COMMIT		3
#define PHASE_RELEASE		4
#define PHASE_FINISH		5

/* The most events one request records: reserved, shipped, confirmed. */
#define SAGA_EVENTS_MAX		4

struct saga_state {
	struct db_call		call;
	struct upstream_call	up;
	int			phase;
	int			started;	/* up is running */

	/* The request. */
	char			crm_order_id[FMT_UUID_LEN + 1];
	char			customer_id[FMT_UUID_LEN + 1];
	char			postal_code[FMT_POSTAL_MAX + 1];
	char			country[3];
	char			token[FMT_UUID_LEN + 1];
	struct items		items;
	const char		*params[10];

	/* The order as last recorded. */
	struct order		o;

	/*
	 * What this request did, for orders.finish(): the events, the
	 * service each concerned, their details (a JSON array) and the
	 * shipment.  st->o.step follows the steps as they succeed.
	 */
	char			events[SAGA_EVENTS_MAX * 16];
	char			services[SAGA_EVENTS_MAX * 64];
	struct kore_buf		details;
	int			nevents;
	int			finishing;	/* the arrays are closed */
	char			*shipment;

	/* Set when the saga stops pending: answered after advance(). */
	int			unavailable;
	struct svc_error	err;
	char			failed[16];	/* the step that failed */
};

static int	saga_prepare(struct http_request *, void *);
static int	saga_open(struct http_request *, struct saga_state *);
static int	saga_call(struct http_request *, struct saga_state *);
static int	saga_finish(struct http_request *, struct saga_state *);
static int	saga_next(struct http_request *, struct saga_state *);
static void	saga_busy(struct http_request *, struct saga_state *);
static int	saga_load(struct http_request *, struct saga_state *,
		    const struct db_stmt *, const char **, int *);
static void	saga_request(const struct saga_state *,
		    struct upstream_req *, struct kore_buf *, char *, size_t);
static const char	*saga_step_name(int);
static void	saga_reserved(struct saga_state *);
static void	saga_shipped(struct saga_state *);
static void	saga_committed(struct saga_state *);
static void	saga_released(struct saga_state *);
static void	saga_fail(struct saga_state *, const char *, const char *, ...)
		    __attribute__((format (printf, 3, 4)));
static void	saga_note(struct saga_state *, const char *, const char *,
		    struct kore_buf *);
static void	saga_step(struct saga_state *, const char *, int);
static void	saga_cat(char *, const char *, size_t);
static void	saga_items(struct json_writer *, const struct order *);
static int64_t	saga_left_ms(struct http_request *);
static void	saga_cleanup(void *);

static const struct svc_route r_create = {
	"/supply-orders", HTTP_METHOD_POST, SVC_ROUTE_JSON_BODY
};

static const struct json_field item_fields[] = {
	ITEM_FIELDS(1000),
};
static const struct json_schema item_schema = JSON_SCHEMA(item_fields);

static const struct json_field dest_fields[] = {
	{ "postal_code", JSON_STRING, JSON_REQUIRED, 1, FMT_POSTAL_MAX,
	    fmt_postal_code, FMT_POSTAL_RULE, NULL },
	{ "country", JSON_STRING, JSON_REQUIRED, 2, 2,
	    fmt_country, "must be an ISO 3166-1 alpha-2 code", NULL },
};
static const struct json_schema dest_schema = JSON_SCHEMA(dest_fields);

static const struct json_field create_fields[] = {
	{ "crm_order_id", JSON_STRING, JSON_REQUIRED, 36, 36,
	    fmt_uuid, "must be a lower-case UUID", NULL },
	{ "customer_id", JSON_STRING, JSON_REQUIRED, 36, 36,
	    fmt_uuid, "must be a lower-case UUID", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, ORDER_ITEMS_MAX,
	    NULL, NULL, &item_schema },
	{ "destination", JSON_OBJECT, JSON_REQUIRED, 0, 0,
	    NULL, NULL, &dest_schema },
};
static const struct json_schema create_schema = JSON_SCHEMA(create_fields);

int
order_create(struct http_request *req)
{
	struct saga_state	*st;
	int			r;

	if ((st = svc_enter(req, &r_create, sizeof(*st), saga_cleanup,
	    saga_prepare)) == NULL)
		return (svc_stopped(req));

	/* Each phase ends the request, waits, or moves to the next phase. */
	for (;;) {
		switch (st->phase) {
		case PHASE_OPEN:
			r = saga_open(req, st);
			break;
		case PHASE_FINISH:
			r = saga_finish(req, st);
			break;
		default:
			r = saga_call(req, st);
			break;
		}
		if (r != KORE_RESULT_OK || svc_req(req)->responded)
			return (r);
	}
}

/* Checks the body and sets open()'s parameters. */
static int
saga_prepare(struct http_request *req, void *arg)
{
	struct saga_state	*st = arg;
	struct json_value	*body;
	const struct json_value	*dest;
	int			ok;

	kore_buf_init(&st->details, 256);
	if ((body = svc_body_json(req, &create_schema)) == NULL)
		return (0);

	(void)kore_strlcpy(st->crm_order_id,
	    json_get_string(body, "crm_order_id"), sizeof(st->crm_order_id));
	(void)kore_strlcpy(st->customer_id,
	    json_get_string(body, "customer_id"), sizeof(st->customer_id));
	dest = json_get_object(body, "destination");
	(void)kore_strlcpy(st->postal_code,
	    json_get_string(dest, "postal_code"), sizeof(st->postal_code));
	(void)kore_strlcpy(st->country, json_get_string(dest, "country"),
	    sizeof(st->country));

	ok = items_take(req, json_get_array(body, "items"), &st->items);
	json_free(body);
	if (!ok)
		return (0);

	if (!fmt_uuid_generate(st->token, sizeof(st->token))) {
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (0);
	}

	st->params[0] = st->crm_order_id;
	st->params[1] = st->customer_id;
	st->params[2] = st->items.products;
	st->params[3] = st->items.quantities;
	st->params[4] = st->postal_code;
	st->params[5] = st->country;
	st->params[6] = svc_request_id(req);
	st->params[7] = st->token;
	st->params[8] = SAGA_LEASE;
	st->params[9] = SAGA_WAIT;
	return (1);
}

/* Records the order (or finds it) and claims its saga. */
static int
saga_open(struct http_request *req, struct saga_state *st)
{
	int			ret;

	if (!saga_load(req, st, &q_open, st->params, &ret))
		return (ret);

	if (!strcmp(st->o.outcome, "conflict")) {
		svc_fail(req, SVC_IDEMPOTENCY_CONFLICT, "crm_order_id %s is "
		    "known with another customer, destination or items "
		    "(supply order %s)", st->crm_order_id, st->o.id);
		return (KORE_RESULT_OK);
	}
	if (!strcmp(st->o.outcome, "busy")) {
		saga_busy(req, st);
		return (KORE_RESULT_OK);
	}
	return (saga_next(req, st));
}

/* Another request holds the order's lease: come back later. */
static void
saga_busy(struct http_request *req, struct saga_state *st)
{
	svc_error_init(&st->err);
	svc_error_set(&st->err, SVC_UNAVAILABLE, "supply order %s is being "
	    "processed by another request; repeat the request", st->o.id);
	st->err.retry_after = 1;
	svc_respond_error(req, &st->err);
}

/* After the order was (re)loaded: the step that follows, or the answer. */
static int
saga_next(struct http_request *req, struct saga_state *st)
{
	const char	*step = st->o.step;

	if (st->unavailable) {
		svc_respond_error(req, &st->err);
		return (KORE_RESULT_OK);
	}
	if (strcmp(st->o.status, "pending") ||
	    !strcmp(st->o.outcome, "final")) {
		order_respond(req, &st->o, 201, NULL);
		return (KORE_RESULT_OK);
	}
	if (!strcmp(st->o.outcome, "lost")) {
		/* Our lease ended and another request runs the saga now. */
		saga_busy(req, st);
		return (KORE_RESULT_OK);
	}

	if (!strcmp(step, "recorded"))
		st->phase = PHASE_RESERVE;
	else if (!strcmp(step, "reserved"))
		st->phase = PHASE_SHIP;
	else if (!strcmp(step, "shipped"))
		st->phase = PHASE_COMMIT;
	else
		svc_fail(req, SVC_INTERNAL, "internal error");
	return (KORE_RESULT_OK);
}

/* One downstream call of the current phase, then what its answer means. */
static int
saga_call(struct http_request *req, struct saga_state *st)
{
	struct upstream_req	ureq;
	struct svc_error	uerr;	/* unused: saga_fail() says why */
	struct kore_buf		body;
	char			path[128];
	int64_t			left;
	int			r;

	if (!st->started) {
		left = saga_left_ms(req);
		if (st->phase != PHASE_RELEASE &&
		    left - SAGA_RELEASE_MS < SAGA_STEP_MIN_MS) {
			saga_fail(st, saga_step_name(st->phase),
			    "no time left within the request deadline");
			return (KORE_RESULT_OK);
		}

		memset(&ureq, 0, sizeof(ureq));
		ureq.flags = UPSTREAM_RETRYABLE;	/* idempotent by id */
		if (st->phase != PHASE_RELEASE)
			ureq.budget_ms = (u_int32_t)(left - SAGA_RELEASE_MS);
		kore_buf_init(&body, 512);
		saga_request(st, &ureq, &body, path, sizeof(path));
		ureq.body = body.offset > 0 ? body.data : NULL;
		ureq.body_len = body.offset;
		/* Copied by upstream_exec(): later entries pass it again. */
		r = upstream_exec(req, &st->up, &ureq, &uerr);
		kore_buf_cleanup(&body);
		st->started = 1;
	} else {
		memset(&ureq, 0, sizeof(ureq));
		r = upstream_exec(req, &st->up, &ureq, &uerr);
	}
	if (r == UPSTREAM_PENDING)
		return (KORE_RESULT_RETRY);

	switch (st->phase) {
	case PHASE_RESERVE:
		saga_reserved(st);
		break;
	case PHASE_SHIP:
		saga_shipped(st);
		break;
	case PHASE_COMMIT:
		saga_committed(st);
		break;
	case PHASE_RELEASE:
		saga_released(st);
		break;
	}
	upstream_done(&st->up);
	st->started = 0;
	return (KORE_RESULT_OK);
}

/* The request of the current phase: target, method, path and body. */
static void
saga_request(const struct saga_state *st, struct upstream_req *ureq,
    struct kore_buf *body, char *path, size_t len)
{
	struct json_writer	w;

	jw_init(&w, body);
	switch (st->phase) {
	case PHASE_RESERVE:
		ureq->target = UPSTREAM_INVENTORY_SERVICE;
		ureq->method = HTTP_METHOD_POST;
		ureq->path = "/inventory/reservations";
		jw_object_open(&w, NULL);
		jw_string(&w, "reservation_id", st->o.reservation_id);
		saga_items(&w, &st->o);
		jw_object_close(&w);
		break;
	case PHASE_SHIP:
		ureq->target = UPSTREAM_LOGISTICS_SERVICE;
		ureq->method = HTTP_METHOD_POST;
		ureq->path = "/shipments";
		jw_object_open(&w, NULL);
		jw_string(&w, "order_id", st->o.id);
		saga_items(&w, &st->o);
		jw_object_open(&w, "destination");
		jw_string(&w, "postal_code", st->o.postal_code);
		jw_string(&w, "country", st->o.country);
		jw_object_close(&w);
		jw_object_close(&w);
		break;
	case PHASE_COMMIT:
		ureq->target = UPSTREAM_INVENTORY_SERVICE;
		ureq->method = HTTP_METHOD_POST;
		(void)snprintf(path, len,
		    "/inventory/reservations/%s/commit", st->o.reservation_id);
		ureq->path = path;
		break;
	case PHASE_RELEASE:
		ureq->target = UPSTREAM_INVENTORY_SERVICE;
		ureq->method = HTTP_METHOD_DELETE;
		(void)snprintf(path, len,
		    "/inventory/reservations/%s", st->o.reservation_id);
		ureq->path = path;
		break;
	}
}

/* POST /inventory/reservations answered (or not). */
static void
saga_reserved(struct saga_state *st)
{
	struct svc_error	err;
	struct json_value	*doc;
	struct kore_buf		d;
	struct json_writer	w;
	const char		*status;
	int			code;

	if (upstream_result(&st->up) == UPSTREAM_FAILED) {
		saga_fail(st, "reserve", "%s unavailable",
		    upstream_target_name(UPSTREAM_INVENTORY_SERVICE));
		return;
	}

	code = upstream_status(&st->up);
	if (code == 409 || code == 422) {
		kore_buf_init(&d, 64);
		jw_init(&w, &d);
		jw_object_open(&w, NULL);
		jw_string(&w, "reason", code == 409 ?
		    "insufficient_stock" : "unknown_product");
		jw_int(&w, "http_status", code);
		jw_object_close(&w);
		saga_note(st, "rejected",
		    upstream_target_name(UPSTREAM_INVENTORY_SERVICE), &d);
		st->phase = PHASE_FINISH;
		return;
	}
	if (code != 201) {
		saga_fail(st, "reserve", "unexpected answer of %s",
		    upstream_target_name(UPSTREAM_INVENTORY_SERVICE));
		return;
	}

	/*
	 * A replay of a reservation that was released (a crash between the
	 * release and its record) holds nothing: compensate, so the next
	 * attempt takes a fresh reservation id.
	 */
	svc_error_init(&err);
	status = NULL;
	if ((doc = upstream_json(&st->up, &err)) != NULL)
		status = json_get_string(doc, "status");
	if (status == NULL || (strcmp(status, "reserved") &&
	    strcmp(status, "committed"))) {
		json_free(doc);
		saga_fail(st, "reserve", "the reservation is not held");
		return;
	}
	json_free(doc);
	saga_note(st, "reserved", upstream_target_name(UPSTREAM_INVENTORY_SERVICE),
	    NULL);
	saga_step(st, "reserved", PHASE_SHIP);
}

/* POST /shipments answered (or not): keep logistics' whole 201 body. */
static void
saga_shipped(struct saga_state *st)
{
	struct svc_error	err;
	struct json_value	*doc;
	struct kore_buf		d;
	struct json_writer	w;
	const u_int8_t		*data;
	const char		*id, *order_id;
	size_t			len;

	if (upstream_result(&st->up) == UPSTREAM_FAILED) {
		saga_fail(st, "ship", "%s unavailable",
		    upstream_target_name(UPSTREAM_LOGISTICS_SERVICE));
		return;
	}
	if (upstream_status(&st->up) != 201) {
		saga_fail(st, "ship", "unexpected answer of %s",
		    upstream_target_name(UPSTREAM_LOGISTICS_SERVICE));
		return;
	}

	svc_error_init(&err);
	if ((doc = upstream_json(&st->up, &err)) == NULL) {
		saga_fail(st, "ship", "%s answered no JSON",
		    upstream_target_name(UPSTREAM_LOGISTICS_SERVICE));
		return;
	}
	id = json_get_string(doc, "id");
	order_id = json_get_string(doc, "order_id");
	if (id == NULL || !fmt_uuid(id) || order_id == NULL ||
	    strcmp(order_id, st->o.id) ||
	    json_get_string(doc, "carrier") == NULL ||
	    json_get_string(doc, "eta") == NULL) {
		json_free(doc);
		saga_fail(st, "ship", "%s answered an unexpected shipment",
		    upstream_target_name(UPSTREAM_LOGISTICS_SERVICE));
		return;
	}

	kore_buf_init(&d, 64);
	jw_init(&w, &d);
	jw_object_open(&w, NULL);
	jw_string(&w, "shipment_id", id);
	jw_string(&w, "carrier", json_get_string(doc, "carrier"));
	jw_object_close(&w);
	json_free(doc);

	upstream_body(&st->up, &data, &len);
	kore_free(st->shipment);
	st->shipment = kore_malloc(len + 1);
	memcpy(st->shipment, data, len);
	st->shipment[len] = '\0';

	saga_note(st, "shipped", upstream_target_name(UPSTREAM_LOGISTICS_SERVICE),
	    &d);
	saga_step(st, "shipped", PHASE_COMMIT);
}

/* POST /inventory/reservations/:id/commit answered (or not). */
static void
saga_committed(struct saga_state *st)
{
	if (upstream_result(&st->up) == UPSTREAM_FAILED) {
		saga_fail(st, "commit", "%s unavailable",
		    upstream_target_name(UPSTREAM_INVENTORY_SERVICE));
		return;
	}
	if (upstream_status(&st->up) != 200) {
		/* 409: released meanwhile; 404: gone. Start over. */
		saga_fail(st, "commit", "the reservation cannot be committed");
		return;
	}
	saga_note(st, "confirmed", upstream_target_name(UPSTREAM_INVENTORY_SERVICE),
	    NULL);
	st->phase = PHASE_FINISH;
}

/*
 * DELETE /inventory/reservations/:id (the compensation) answered (or
 * not).  200 (released now or before) and 404 (never made) leave nothing
 * held: the next attempt takes a fresh reservation id.  409 means it was
 * committed: if the order had shipped, the commit went through and only
 * its answer was lost, so the order is confirmed after all.
 */
static void
saga_released(struct saga_state *st)
{
	struct kore_buf		d;
	struct json_writer	w;
	int			code, released;

	code = upstream_result(&st->up) == UPSTREAM_DONE ?
	    upstream_status(&st->up) : 0;

	if (code == 409 && !strcmp(st->o.step, "shipped")) {
		st->unavailable = 0;
		saga_note(st, "confirmed",
		    upstream_target_name(UPSTREAM_INVENTORY_SERVICE), NULL);
		st->phase = PHASE_FINISH;
		return;
	}

	released = (code == 200 || code == 404);
	kore_buf_init(&d, 128);
	jw_init(&w, &d);
	jw_object_open(&w, NULL);
	jw_string(&w, "failed_step", st->failed);
	jw_string(&w, "error", st->err.message);
	jw_bool(&w, "released", released);
	jw_object_close(&w);
	saga_note(st, released ? "compensated" : "suspended",
	    released ? upstream_target_name(UPSTREAM_INVENTORY_SERVICE) :
	    svc_decl.name, &d);
	st->phase = PHASE_FINISH;
}

/*
 * A step failed for good: release the reservation (PHASE_RELEASE), then
 * record the compensation and answer 503.
 */
static void
saga_fail(struct saga_state *st, const char *step, const char *fmt, ...)
{
	va_list		ap;
	char		why[128];

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	(void)kore_strlcpy(st->failed, step, sizeof(st->failed));
	svc_error_init(&st->err);
	svc_error_set(&st->err, SVC_UNAVAILABLE, "%s; supply order %s is "
	    "pending, repeat the request to resume it", why, st->o.id);
	st->err.retry_after = 1;
	st->unavailable = 1;
	st->phase = PHASE_RELEASE;
}

/*
 * Adds an event to what orders.finish() records: its name, the service it
 * concerned and its details (NULL: none; d is consumed).
 */
static void
saga_note(struct saga_state *st, const char *event, const char *service,
    struct kore_buf *d)
{
	if (st->nevents == SAGA_EVENTS_MAX)
		fatal("saga_note: more than %d events", SAGA_EVENTS_MAX);

	/*
	 * Array literals "{a,b}" of plain words (event and service names
	 * need no quoting), and the details as a JSON array.
	 */
	saga_cat(st->events, st->nevents > 0 ? "," : "{",
	    sizeof(st->events));
	saga_cat(st->events, event, sizeof(st->events));
	saga_cat(st->services, st->nevents > 0 ? "," : "{",
	    sizeof(st->services));
	saga_cat(st->services, service, sizeof(st->services));

	kore_buf_append(&st->details, st->nevents > 0 ? "," : "[", 1);
	if (d != NULL) {
		kore_buf_append(&st->details, d->data, d->offset);
		kore_buf_cleanup(d);
	} else {
		kore_buf_append(&st->details, "null", 4);
	}
	st->nevents++;
}

/*
 * Appends src to the string dst (size bytes).  The arrays are sized for
 * SAGA_EVENTS_MAX events, so a cut would record a wrong list: a bug.
 */
static void
saga_cat(char *dst, const char *src, size_t size)
{
	size_t		len;

	len = strlen(dst);
	if (len + 1 >= size || kore_strlcpy(dst + len, src, size - len) >=
	    size - len)
		fatal("saga_cat: '%s' does not fit", src);
}

/* A step done (not recorded yet): the next phase starts from it. */
static void
saga_step(struct saga_state *st, const char *step, int phase)
{
	(void)kore_strlcpy(st->o.step, step, sizeof(st->o.step));
	st->phase = phase;
}

/* Records what this request did, then answers from the order as stored. */
static int
saga_finish(struct http_request *req, struct saga_state *st)
{
	const char		*params[7];
	int			ret;

	if (!st->finishing) {
		saga_cat(st->events, "}", sizeof(st->events));
		saga_cat(st->services, "}", sizeof(st->services));
		kore_buf_append(&st->details, "]", 2);	/* and the NUL */
		st->finishing = 1;
	}

	params[0] = st->o.id;
	params[1] = st->token;
	params[2] = svc_request_id(req);
	params[3] = st->events;
	params[4] = st->services;
	params[5] = (const char *)st->details.data;
	params[6] = strstr(st->events, "shipped") != NULL ?
	    st->shipment : NULL;

	if (!saga_load(req, st, &q_finish, params, &ret))
		return (ret);
	return (saga_next(req, st));
}

/*
 * One of the saga's statements into st->o: 1 when loaded, else 0 with
 * what the handler returns now in *ret (it waits, or it has answered).
 */
static int
saga_load(struct http_request *req, struct saga_state *st,
    const struct db_stmt *stmt, const char **params, int *ret)
{
	*ret = KORE_RESULT_OK;
	switch (order_query(req, &st->call, stmt, params, &st->o)) {
	case ORDER_LOADED:
		return (1);
	case ORDER_PENDING:
		*ret = KORE_RESULT_RETRY;
		break;
	case ORDER_NONE:
		svc_fail(req, SVC_INTERNAL, "internal error");
		break;
	}
	return (0);
}

static const char *
saga_step_name(int phase)
{
	switch (phase) {
	case PHASE_RESERVE:
		return ("reserve");
	case PHASE_SHIP:
		return ("ship");
	default:
		return ("commit");
	}
}

static void
saga_items(struct json_writer *w, const struct order *o)
{
	size_t		i;

	jw_array_open(w, "items");
	for (i = 0; i < o->nitems; i++) {
		jw_object_open(w, NULL);
		jw_string(w, "product_id", o->items[i].product);
		jw_int(w, "quantity", o->items[i].quantity);
		jw_object_close(w);
	}
	jw_array_close(w);
}

/* Milliseconds left until UPSTREAM_DEADLINE_MS after the request came. */
static int64_t
saga_left_ms(struct http_request *req)
{
	struct svc_req		*sr = svc_req(req);
	struct timespec		now;
	int64_t			spent;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (int64_t)(now.tv_sec - sr->start.tv_sec) * 1000 +
	    (now.tv_nsec - sr->start.tv_nsec) / 1000000;
	return (UPSTREAM_DEADLINE_MS - spent);
}

static void
saga_cleanup(void *arg)
{
	struct saga_state	*st = arg;

	upstream_done(&st->up);
	db_done(&st->call);
	items_free(&st->items);
	kore_buf_cleanup(&st->details);
	kore_free(st->shipment);
}
