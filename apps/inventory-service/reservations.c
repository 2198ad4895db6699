/*
 * reservations.c - POST /inventory/reservations, POST
 * /inventory/reservations/:id/commit and DELETE /inventory/reservations/:id
 * (CONTRACT §5).  All or nothing, idempotent by reservation id; the rules
 * are the SQL functions inventory.reserve() and inventory.settle().
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "items.h"
#include "json.h"
#include "json_writer.h"
#include "path.h"
#include "pipeline.h"
#include "queries.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"

#define ITEMS_MAX		100
#define QTY_MAX			1000000

struct res_state {
	struct db_call		call;
	int			commit;
	char			id[FMT_UUID_LEN + 1];
	/* The request's lines, also to name items[i] in errors. */
	struct items		items;
	const char		*params[3];
};

static int	reserve_prepare(struct http_request *, void *);
static int	commit_prepare(struct http_request *, void *);
static int	settle_prepare(struct http_request *, void *);
static int	res_run(struct http_request *, struct res_state *,
		    const struct db_stmt *);
static void	res_answer(struct http_request *, struct res_state *);
static void	res_render(struct http_request *, const struct res_state *,
		    int);
static void	res_shortfalls(struct http_request *, struct res_state *,
		    enum svc_code);
static void	res_cleanup(void *);

/* The supply-order saga is the one caller (CONTRACT §4). */
static const struct svc_route r_reserve = {
	"/inventory/reservations", HTTP_METHOD_POST, SVC_ROUTE_JSON_BODY
};
static const struct svc_route r_commit = {
	"/inventory/reservations/:id/commit", HTTP_METHOD_POST, 0
};
static const struct svc_route r_release = {
	"/inventory/reservations/:id", HTTP_METHOD_DELETE, 0
};

static const struct json_field item_fields[] = {
	ITEM_FIELDS(QTY_MAX),
};
static const struct json_schema item_schema = JSON_SCHEMA(item_fields);

static const struct json_field reserve_fields[] = {
	{ "reservation_id", JSON_STRING, JSON_REQUIRED, 36, 36,
	    fmt_uuid, "must be a lower-case UUID", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, ITEMS_MAX,
	    NULL, NULL, &item_schema },
};
static const struct json_schema reserve_schema = JSON_SCHEMA(reserve_fields);

int
inventory_reserve(struct http_request *req)
{
	struct res_state	*st;

	if ((st = svc_enter(req, &r_reserve, sizeof(*st), res_cleanup,
	    reserve_prepare)) == NULL)
		return (svc_stopped(req));

	return (res_run(req, st, &q_reserve));
}

int
inventory_commit(struct http_request *req)
{
	struct res_state	*st;

	if ((st = svc_enter(req, &r_commit, sizeof(*st), res_cleanup,
	    commit_prepare)) == NULL)
		return (svc_stopped(req));

	return (res_run(req, st, &q_settle));
}

int
inventory_release(struct http_request *req)
{
	struct res_state	*st;

	if ((st = svc_enter(req, &r_release, sizeof(*st), res_cleanup,
	    settle_prepare)) == NULL)
		return (svc_stopped(req));

	return (res_run(req, st, &q_settle));
}

static int
res_run(struct http_request *req, struct res_state *st,
    const struct db_stmt *stmt)
{
	int			r;

	if (!db_fetch(req, &st->call, stmt, st->params, &r))
		return (r);

	res_answer(req, st);
	db_done(&st->call);
	return (KORE_RESULT_OK);
}

/* Turns the function's outcome into the contract's answer. */
static void
res_answer(struct http_request *req, struct res_state *st)
{
	const char	*outcome, *status;

	if (db_ntuples(&st->call) < 1) {
		svc_fail(req, SVC_INTERNAL, "internal error");
		return;
	}

	outcome = db_value(&st->call, 0, RES_OUTCOME);
	status = db_value(&st->call, 0, RES_STATUS);

	if (!strcmp(outcome, "created")) {
		res_render(req, st, 201);
	} else if (!strcmp(outcome, "replayed")) {
		/* The first result stands: a refusal stays a refusal. */
		if (!strcmp(status, "rejected"))
			res_shortfalls(req, st, SVC_INSUFFICIENT_STOCK);
		else
			res_render(req, st, 201);
	} else if (!strcmp(outcome, "insufficient_stock")) {
		res_shortfalls(req, st, SVC_INSUFFICIENT_STOCK);
	} else if (!strcmp(outcome, "unknown_product")) {
		res_shortfalls(req, st, SVC_UNKNOWN_PRODUCT);
	} else if (!strcmp(outcome, "ok")) {
		res_render(req, st, 200);
	} else if (!strcmp(outcome, "conflict")) {
		svc_fail(req, SVC_CONFLICT, "reservation %s is %s and cannot "
		    "be %s", st->id, status,
		    st->commit ? "committed" : "released");
	} else if (!strcmp(outcome, "not_found")) {
		svc_fail(req, SVC_NOT_FOUND, "no reservation %s", st->id);
	} else {
		svc_fail(req, SVC_INTERNAL, "internal error");
	}
}

static int
reserve_prepare(struct http_request *req, void *arg)
{
	struct res_state	*st = arg;
	struct json_value	*body;
	int			ok;

	if ((body = svc_body_json(req, &reserve_schema)) == NULL)
		return (0);

	(void)kore_strlcpy(st->id, json_get_string(body, "reservation_id"),
	    sizeof(st->id));
	ok = items_take(req, json_get_array(body, "items"), &st->items);
	json_free(body);
	if (!ok)
		return (0);

	st->params[0] = st->id;
	st->params[1] = st->items.products;
	st->params[2] = st->items.quantities;
	return (1);
}

static int
commit_prepare(struct http_request *req, void *arg)
{
	struct res_state	*st = arg;

	st->commit = 1;
	return (settle_prepare(req, st));
}

static int
settle_prepare(struct http_request *req, void *arg)
{
	struct res_state	*st = arg;

	if (!path_uuid(req, 2, "id", st->id, sizeof(st->id)))
		return (0);

	st->params[0] = st->id;
	st->params[1] = st->commit ? "t" : "f";
	return (1);
}

static void
res_render(struct http_request *req, const struct res_state *st, int status)
{
	const struct db_call	*call = &st->call;
	struct kore_buf		buf;
	struct json_writer	w;
	int			row, n;

	n = db_ntuples(call);

	kore_buf_init(&buf, 512);
	jw_init(&w, &buf);
	jw_object_open(&w, NULL);
	jw_string(&w, "reservation_id", st->id);
	jw_string(&w, "status", db_value(call, 0, RES_STATUS));
	jw_array_open(&w, "items");
	for (row = 0; row < n; row++) {
		jw_object_open(&w, NULL);
		jw_string(&w, "product_id", db_value(call, row, RES_PRODUCT));
		jw_int(&w, "quantity",
		    strtoll(db_value(call, row, RES_QUANTITY), NULL, 10));
		jw_object_close(&w);
	}
	jw_array_close(&w);
	jw_string(&w, "created_at", db_value(call, 0, RES_CREATED));
	jw_string(&w, "updated_at", db_value(call, 0, RES_UPDATED));
	jw_object_close(&w);

	svc_respond_json(req, status, &buf);
	kore_buf_cleanup(&buf);
}

/*
 * 409 insufficient_stock or 422 unknown_product, with one detail per
 * product at fault, named by its place in this request.
 */
static void
res_shortfalls(struct http_request *req, struct res_state *st,
    enum svc_code code)
{
	struct svc_error	err;
	const char		*pid;
	char			field[48];
	ssize_t			idx;
	int64_t			want, have;
	int			row, n;

	svc_error_init(&err);
	n = db_ntuples(&st->call);
	for (row = 0; row < n; row++) {
		pid = db_value(&st->call, row, RES_PRODUCT);
		want = strtoll(db_value(&st->call, row, RES_QUANTITY), NULL, 10);
		idx = items_index(&st->items, pid);

		if (code == SVC_UNKNOWN_PRODUCT) {
			if (idx >= 0)
				(void)snprintf(field, sizeof(field),
				    "items[%zd].product_id", idx);
			else
				(void)kore_strlcpy(field, "items",
				    sizeof(field));
			svc_error_detail(&err, field, "unknown product %s",
			    pid);
			continue;
		}

		have = strtoll(db_value(&st->call, row, RES_AVAILABLE),
		    NULL, 10);
		if (have >= want)
			continue;
		if (idx >= 0)
			(void)snprintf(field, sizeof(field),
			    "items[%zd].quantity", idx);
		else
			(void)kore_strlcpy(field, "items", sizeof(field));
		svc_error_detail(&err, field,
		    "insufficient stock for %s: requested %lld, available %lld",
		    pid, (long long)want, (long long)have);
	}

	if (code == SVC_UNKNOWN_PRODUCT)
		svc_error_set(&err, code, "the request names unknown products;"
		    " nothing was reserved");
	else
		svc_error_set(&err, code, "not enough stock; nothing was "
		    "reserved");
	svc_respond_error(req, &err);
}

static void
res_cleanup(void *arg)
{
	struct res_state	*st = arg;

	db_done(&st->call);
	items_free(&st->items);
}
