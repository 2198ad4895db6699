/*
 * orders.c - POST /orders and GET /orders/:id (CONTRACT §3).
 *
 * POST /orders stores the order with its outbox entry (and its
 * Idempotency-Key) in one statement, crm.create_order(), then forwards it
 * to the supply-order hub itself within the forward deadline: a final answer is
 * stored (crm.order_settle()) and answered 201; otherwise the answer is
 * 202 pending and the outbox dispatcher (outbox.c) carries on.  The outbox
 * entry is not due before the deadline (plus a margin) has passed, so the
 * dispatcher does not race the request; the hub is idempotent on
 * crm_order_id anyway.
 *
 * GET /orders/:id reads the order and, once confirmed, asks the hub
 * for the shipment's live status; without an answer it shows what is
 * stored.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "items.h"
#include "json.h"
#include "json_writer.h"
#include "path.h"
#include "pipeline.h"
#include "queries.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"
#include "svc_log.h"
#include "upstream.h"
#include "service_decl.h"

#define ITEMS_MAX		100
#define QTY_MAX			1000
#define KEY_MAX			128
#define HOLD_MARGIN_MS		1000	/* outbox waits deadline + this */
#define LIVE_BUDGET_MS		800	/* GET: the live shipment status */
#define LIVE_MAX		64

#define PHASE_PREPARE		0
#define PHASE_CREATE		1
#define PHASE_FORWARD		2
#define PHASE_SETTLE		3
#define PHASE_ANSWERED		4
#define PHASE_GET		5
#define PHASE_LIVE		6

/*
 * An order as crm.order_row() answers it (queries.h), copied out of the
 * result: the JSON object SQL builds without "shipment", and the
 * shipment's columns (NULL where SQL has NULL).
 */
struct crm_order {
	char			*body;
	char			supply_id[FMT_UUID_LEN + 1];	/* "" none */
	char			*ship_id;
	char			*ship_carrier;
	char			*ship_eta;
	char			*ship_status;
};

struct ord_state {
	struct db_call		call;		/* create / get */
	struct db_call		call2;		/* settle / answered */
	struct upstream_call	up;
	int			phase;
	int			has_key;
	char			id[FMT_UUID_LEN + 1];
	char			key[KEY_MAX + 1];
	char			hold[16];
	char			ttl[16];
	char			*body;
	struct items		items;
	char			*line1;
	char			*city;
	char			*postal_code;
	char			*country;
	char			*forward;
	char			*result;
	struct crm_order	order;		/* GET */
	const char		*params[12];
};

static int	order_prepare(struct http_request *, struct ord_state *);
static int	order_created(struct http_request *, struct ord_state *);
static int	order_forward(struct http_request *, struct ord_state *);
static int	order_settle(struct http_request *, struct ord_state *);
static int	order_pending(struct http_request *, struct ord_state *);
static int	order_read(struct http_request *, struct ord_state *);
static int	order_live(struct http_request *, struct ord_state *);
static void	order_answer(struct http_request *, const struct db_call *,
		    int, int);
static void	order_load(struct crm_order *, const struct db_call *, int);
static char	*order_column(const struct db_call *, int);
static void	order_free(struct crm_order *);
static void	crm_order_respond(struct http_request *,
		    const struct crm_order *, int, const char *);
static char	*body_text(struct http_request *);
static void	ord_cleanup(void *);

static const struct svc_route r_orders = {
	"/orders", HTTP_METHOD_POST, SVC_ROUTE_JSON_BODY
};
static const struct svc_route r_order = {
	"/orders/:id", HTTP_METHOD_GET, 0
};

static const struct json_field item_fields[] = {
	ITEM_FIELDS(QTY_MAX),
};
static const struct json_schema item_schema = JSON_SCHEMA(item_fields);

static const struct json_field address_fields[] = {
	{ "line1", JSON_STRING, JSON_REQUIRED, 1, 200, NULL, NULL, NULL },
	{ "city", JSON_STRING, JSON_REQUIRED, 1, 100, NULL, NULL, NULL },
	{ "postal_code", JSON_STRING, JSON_REQUIRED, 1, FMT_POSTAL_MAX,
	    fmt_postal_code, FMT_POSTAL_RULE, NULL },
	{ "country", JSON_STRING, JSON_REQUIRED, 2, 2,
	    fmt_country, "must be an ISO 3166-1 alpha-2 code", NULL },
};
static const struct json_schema address_schema =
    JSON_SCHEMA(address_fields);

static const struct json_field order_fields[] = {
	{ "customer_id", JSON_STRING, JSON_REQUIRED, 36, 36,
	    fmt_uuid, "must be a lower-case UUID", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, ITEMS_MAX,
	    NULL, NULL, &item_schema },
	{ "shipping_address", JSON_OBJECT, JSON_REQUIRED, 0, 0,
	    NULL, NULL, &address_schema },
};
static const struct json_schema order_schema = JSON_SCHEMA(order_fields);

int
crm_order_create(struct http_request *req)
{
	struct ord_state	*st;

	if (!svc_begin(req, &r_orders))
		return (svc_stopped(req));

	st = svc_app_state(req, sizeof(*st), ord_cleanup);
	switch (st->phase) {
	case PHASE_PREPARE:
		if (!order_prepare(req, st))
			return (KORE_RESULT_OK);
		st->phase = PHASE_CREATE;
		/* FALLTHROUGH */
	case PHASE_CREATE:
		return (order_created(req, st));
	case PHASE_FORWARD:
		return (order_forward(req, st));
	case PHASE_SETTLE:
		return (order_settle(req, st));
	case PHASE_ANSWERED:
		return (order_pending(req, st));
	default:
		fatal("crm_order_create: phase %d", st->phase);
	}
	return (KORE_RESULT_OK);
}

int
crm_order_get(struct http_request *req)
{
	struct ord_state	*st;

	if (!svc_begin(req, &r_order))
		return (svc_stopped(req));

	st = svc_app_state(req, sizeof(*st), ord_cleanup);
	if (st->phase == PHASE_PREPARE) {
		if (!path_uuid(req, 1, "id", st->id, sizeof(st->id)))
			return (KORE_RESULT_OK);
		st->params[0] = st->id;
		st->phase = PHASE_GET;
	}

	if (st->phase == PHASE_GET)
		return (order_read(req, st));
	return (order_live(req, st));
}

/* Step 1: the order, its items, outbox entry and key in one statement. */
static int
order_created(struct http_request *req, struct ord_state *st)
{
	struct svc_error	err;
	const char		*outcome, *answer;
	int			r, code;

	if (!db_fetch(req, &st->call, &q_order_create, st->params, &r))
		return (r);
	if (db_ntuples(&st->call) < 1) {
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (KORE_RESULT_OK);
	}

	outcome = db_value(&st->call, 0, 0);
	if (!strcmp(outcome, "unknown_customer")) {
		svc_error_set(&err, SVC_UNKNOWN_CUSTOMER, "no customer %s",
		    st->params[2]);
		svc_error_detail(&err, "customer_id", "unknown customer");
		svc_respond_error(req, &err);
		return (KORE_RESULT_OK);
	}
	if (!strcmp(outcome, "idempotency_conflict")) {
		svc_fail(req, SVC_IDEMPOTENCY_CONFLICT, "this Idempotency-Key "
		    "was used with another request body");
		return (KORE_RESULT_OK);
	}
	if (!strcmp(outcome, "replayed")) {
		/* The first answer's status; until it is known, the state's. */
		answer = db_value(&st->call, 0, 1 + ORDER_ANSWER);
		if (*answer != '\0')
			code = atoi(answer);
		else if (!strcmp(db_value(&st->call, 0, 1 + ORDER_STATUS),
		    "pending"))
			code = 202;
		else
			code = 201;
		order_answer(req, &st->call, 1, code);
		return (KORE_RESULT_OK);
	}
	if (strcmp(outcome, "created")) {
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (KORE_RESULT_OK);
	}

	(void)kore_strlcpy(st->id, db_value(&st->call, 0, 1 + ORDER_ID),
	    sizeof(st->id));
	st->forward = kore_strdup(db_value(&st->call, 0, 1 + ORDER_FORWARD));
	st->phase = PHASE_FORWARD;
	return (order_forward(req, st));
}

/* Step 2: the hub's answer within the forward deadline, or not. */
static int
order_forward(struct http_request *req, struct ord_state *st)
{
	struct upstream_req	ureq;
	struct svc_error	err;
	int			r;

	supply_request(&ureq, st->forward, crm_config.forward_deadline_ms,
	    crm_config.forward_deadline_ms);

	svc_error_init(&err);
	r = upstream_exec(req, &st->up, &ureq, &err);
	if (r == UPSTREAM_PENDING)
		return (KORE_RESULT_RETRY);
	if (r == UPSTREAM_DONE)
		st->result = supply_result(&st->up);
	upstream_done(&st->up);

	if (st->result == NULL)
		return (order_pending(req, st));

	st->params[0] = st->id;
	st->params[1] = st->result;
	st->params[2] = "t";
	st->phase = PHASE_SETTLE;
	return (order_settle(req, st));
}

/* Step 3: the final answer stored with the order: 201. */
static int
order_settle(struct http_request *req, struct ord_state *st)
{
	struct svc_error	err;
	int			r;

	svc_error_init(&err);
	r = db_exec(req, &st->call2, &q_order_settle, st->params, &err);
	if (r == DB_PENDING)
		return (KORE_RESULT_RETRY);
	if (r == DB_OK && db_ntuples(&st->call2) == 1 &&
	    !strcmp(db_value(&st->call2, 0, 0), "settled")) {
		order_answer(req, &st->call2, 1, 201);
		return (KORE_RESULT_OK);
	}

	/* Not stored now: the outbox stores it later; the order is pending. */
	db_done(&st->call2);
	kore_free(st->result);
	st->result = NULL;
	return (order_pending(req, st));
}

/*
 * 202 with the order as created.  With an Idempotency-Key the 202 is
 * recorded first, so a replay answers what this request answered.
 */
static int
order_pending(struct http_request *req, struct ord_state *st)
{
	struct svc_error	err;
	int			r;

	if (st->has_key) {
		st->phase = PHASE_ANSWERED;
		st->params[0] = st->id;
		st->params[1] = "202";
		svc_error_init(&err);
		r = db_exec(req, &st->call2, &q_order_answered, st->params,
		    &err);
		if (r == DB_PENDING)
			return (KORE_RESULT_RETRY);
		db_done(&st->call2);
	}

	order_answer(req, &st->call, 1, 202);
	return (KORE_RESULT_OK);
}

static int
order_read(struct http_request *req, struct ord_state *st)
{
	int			r;

	if (!db_fetch(req, &st->call, &q_order_get, st->params, &r))
		return (r);
	if (db_ntuples(&st->call) < 1) {
		svc_fail(req, SVC_NOT_FOUND, "no order %s", st->id);
		return (KORE_RESULT_OK);
	}
	order_load(&st->order, &st->call, 0);
	db_done(&st->call);

	if (st->order.supply_id[0] == '\0' || st->order.ship_id == NULL) {
		crm_order_respond(req, &st->order, 200, NULL);
		return (KORE_RESULT_OK);
	}

	st->phase = PHASE_LIVE;
	return (order_live(req, st));
}

/* The shipment's live status through the hub, if it answers. */
static int
order_live(struct http_request *req, struct ord_state *st)
{
	char			path[64];
	char			live[LIVE_MAX];
	int			r;

	(void)snprintf(path, sizeof(path), "/supply-orders/%s",
	    st->order.supply_id);
	r = upstream_get_string(req, &st->up, UPSTREAM_ORDER_SERVICE, path,
	    LIVE_BUDGET_MS, "shipment.status", live, sizeof(live));
	if (r == UPSTREAM_PENDING)
		return (KORE_RESULT_RETRY);
	if (r == UPSTREAM_FAILED) {
		svc_log(SVC_LOG_WARN, svc_request_id(req), "order %s: no live "
		    "shipment status (%s status %d); showing the stored one",
		    st->id, upstream_target_name(UPSTREAM_ORDER_SERVICE),
		    upstream_status(&st->up));
	}
	upstream_done(&st->up);

	crm_order_respond(req, &st->order, 200,
	    r == UPSTREAM_DONE ? live : NULL);
	return (KORE_RESULT_OK);
}

/* The order at row 0 of call (its columns from off) as the answer. */
static void
order_answer(struct http_request *req, const struct db_call *call, int off,
    int status)
{
	struct crm_order	o;

	order_load(&o, call, off);
	crm_order_respond(req, &o, status, NULL);
	order_free(&o);
}

static void
order_load(struct crm_order *o, const struct db_call *call, int off)
{
	memset(o, 0, sizeof(*o));
	o->body = order_column(call, off + ORDER_BODY);
	if (!db_isnull(call, 0, off + ORDER_SUPPLY_ID)) {
		(void)kore_strlcpy(o->supply_id,
		    db_value(call, 0, off + ORDER_SUPPLY_ID),
		    sizeof(o->supply_id));
	}
	o->ship_id = order_column(call, off + ORDER_SHIP_ID);
	o->ship_carrier = order_column(call, off + ORDER_SHIP_CARRIER);
	o->ship_eta = order_column(call, off + ORDER_SHIP_ETA);
	o->ship_status = order_column(call, off + ORDER_SHIP_STATUS);

	if (o->body == NULL || strlen(o->body) < 2 ||
	    o->body[strlen(o->body) - 1] != '}')
		fatal("order_load: the body is not an object");
}

/* A copy of row 0's column, NULL for SQL NULL. */
static char *
order_column(const struct db_call *call, int col)
{
	if (db_isnull(call, 0, col))
		return (NULL);
	return (kore_strdup(db_value(call, 0, col)));
}

static void
order_free(struct crm_order *o)
{
	kore_free(o->body);
	kore_free(o->ship_id);
	kore_free(o->ship_carrier);
	kore_free(o->ship_eta);
	kore_free(o->ship_status);
	memset(o, 0, sizeof(*o));
}

/*
 * Answers the order: SQL's object with "shipment" added, its status the
 * live one when known (live, may be NULL), else the stored one.
 */
static void
crm_order_respond(struct http_request *req, const struct crm_order *o,
    int status, const char *live)
{
	struct kore_buf		buf;
	struct json_writer	w;
	const char		*ship_status;

	kore_buf_init(&buf, 1024);
	kore_buf_append(&buf, o->body, strlen(o->body) - 1);
	if (o->ship_id != NULL) {
		kore_buf_appendf(&buf, ",\"shipment\":");
		jw_init(&w, &buf);
		jw_object_open(&w, NULL);
		jw_string(&w, "id", o->ship_id);
		if (o->ship_carrier != NULL)
			jw_string(&w, "carrier", o->ship_carrier);
		if (o->ship_eta != NULL)
			jw_string(&w, "eta", o->ship_eta);
		ship_status = live != NULL ? live : o->ship_status;
		if (ship_status != NULL)
			jw_string(&w, "status", ship_status);
		jw_object_close(&w);
	}
	kore_buf_append(&buf, "}", 1);

	svc_respond_json(req, status, &buf);
	kore_buf_cleanup(&buf);
}

static int
order_prepare(struct http_request *req, struct ord_state *st)
{
	struct svc_error	err;
	struct json_value	*body;
	const struct json_value	*addr;
	const char		*key;

	svc_error_init(&err);
	if (http_request_header(req, "idempotency-key", &key)) {
		if (!fmt_idempotency_key(key)) {
			svc_error_set(&err, SVC_VALIDATION_FAILED,
			    "the Idempotency-Key header is malformed");
			svc_error_detail(&err, "Idempotency-Key",
			    "must be 1-128 printable ASCII characters");
			svc_respond_error(req, &err);
			return (0);
		}
		(void)kore_strlcpy(st->key, key, sizeof(st->key));
		st->has_key = 1;
	}

	if ((body = svc_body_json(req, &order_schema)) == NULL)
		return (0);

	addr = json_get_object(body, "shipping_address");

	if (!items_take(req, json_get_array(body, "items"), &st->items)) {
		json_free(body);
		return (0);
	}

	(void)kore_strlcpy(st->id, json_get_string(body, "customer_id"),
	    sizeof(st->id));
	st->line1 = kore_strdup(json_get_string(addr, "line1"));
	st->city = kore_strdup(json_get_string(addr, "city"));
	st->postal_code = kore_strdup(json_get_string(addr, "postal_code"));
	st->country = kore_strdup(json_get_string(addr, "country"));
	json_free(body);

	if ((st->body = body_text(req)) == NULL) {
		svc_fail(req, SVC_INTERNAL, "cannot read the body");
		return (0);
	}

	(void)snprintf(st->hold, sizeof(st->hold), "%u",
	    crm_config.forward_deadline_ms + HOLD_MARGIN_MS);
	(void)snprintf(st->ttl, sizeof(st->ttl), "%u",
	    crm_config.idempotency_ttl_s);

	st->params[0] = st->has_key ? st->key : NULL;
	st->params[1] = st->body;
	st->params[2] = st->id;
	st->params[3] = st->items.products;
	st->params[4] = st->items.quantities;
	st->params[5] = st->line1;
	st->params[6] = st->city;
	st->params[7] = st->postal_code;
	st->params[8] = st->country;
	st->params[9] = svc_request_id(req);
	st->params[10] = st->hold;
	st->params[11] = st->ttl;
	return (1);
}

/* The raw body (valid UTF-8 JSON by now), hashed by SQL for the key. */
static char *
body_text(struct http_request *req)
{
	struct kore_buf		buf;
	u_int8_t		tmp[4096];
	ssize_t			r;
	size_t			len;

	if (!http_body_rewind(req))
		return (NULL);
	kore_buf_init(&buf, 1024);
	for (;;) {
		if ((r = http_body_read(req, tmp, sizeof(tmp))) == -1) {
			kore_buf_cleanup(&buf);
			return (NULL);
		}
		if (r == 0)
			break;
		kore_buf_append(&buf, tmp, (size_t)r);
	}
	kore_buf_append(&buf, "", 1);
	return ((char *)kore_buf_release(&buf, &len));
}

static void
ord_cleanup(void *arg)
{
	struct ord_state	*st = arg;

	upstream_done(&st->up);
	db_done(&st->call);
	db_done(&st->call2);
	kore_free(st->body);
	items_free(&st->items);
	kore_free(st->line1);
	kore_free(st->city);
	kore_free(st->postal_code);
	kore_free(st->country);
	kore_free(st->forward);
	kore_free(st->result);
	order_free(&st->order);
}
