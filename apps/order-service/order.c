/*
 * order.c - a supply order out of its SQL rows, and its JSON (see order.h).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "json_writer.h"
#include "order.h"
#include "queries.h"
#include "respond.h"
#include "svc_error.h"

static int	order_load(struct order *, const struct db_call *);
static void	order_copy(char *, size_t, const struct db_call *, int, int);

int
order_query(struct http_request *req, struct db_call *call,
    const struct db_stmt *stmt, const char **params, struct order *o)
{
	struct svc_error	err;
	int			r;

	svc_error_init(&err);
	r = db_exec(req, call, stmt, params, &err);
	if (r == DB_PENDING)
		return (ORDER_PENDING);
	if (r == DB_FAILED) {
		svc_respond_error(req, &err);
		return (ORDER_ANSWERED);
	}
	r = order_load(o, call);
	db_done(call);
	return (r ? ORDER_LOADED : ORDER_NONE);
}

/* 1 when the call's rows hold an order (outcome in o->outcome). */
static int
order_load(struct order *o, const struct db_call *call)
{
	int		row, n;

	memset(o, 0, sizeof(*o));
	if ((n = db_ntuples(call)) < 1)
		return (0);

	order_copy(o->outcome, sizeof(o->outcome), call, 0, ORD_OUTCOME);
	order_copy(o->id, sizeof(o->id), call, 0, ORD_ID);
	order_copy(o->crm_order_id, sizeof(o->crm_order_id), call, 0,
	    ORD_CRM_ORDER);
	if (db_isnull(call, 0, ORD_STATUS))
		return (1);		/* "conflict": id and key only */

	order_copy(o->customer_id, sizeof(o->customer_id), call, 0,
	    ORD_CUSTOMER);
	order_copy(o->status, sizeof(o->status), call, 0, ORD_STATUS);
	order_copy(o->reason, sizeof(o->reason), call, 0, ORD_REASON);
	order_copy(o->step, sizeof(o->step), call, 0, ORD_STEP);
	order_copy(o->reservation_id, sizeof(o->reservation_id), call, 0,
	    ORD_RESERVATION);
	order_copy(o->postal_code, sizeof(o->postal_code), call, 0,
	    ORD_POSTAL);
	order_copy(o->country, sizeof(o->country), call, 0, ORD_COUNTRY);
	order_copy(o->shipment_id, sizeof(o->shipment_id), call, 0,
	    ORD_SHIPMENT);
	order_copy(o->carrier, sizeof(o->carrier), call, 0, ORD_CARRIER);
	order_copy(o->eta, sizeof(o->eta), call, 0, ORD_ETA);
	order_copy(o->shipment_status, sizeof(o->shipment_status), call, 0,
	    ORD_SHIP_STATUS);
	order_copy(o->created_at, sizeof(o->created_at), call, 0,
	    ORD_CREATED);
	order_copy(o->updated_at, sizeof(o->updated_at), call, 0,
	    ORD_UPDATED);

	for (row = 0; row < n && row < ORDER_ITEMS_MAX; row++) {
		order_copy(o->items[row].product,
		    sizeof(o->items[row].product), call, row, ORD_PRODUCT);
		o->items[row].quantity =
		    strtoll(db_value(call, row, ORD_QUANTITY), NULL, 10);
	}
	o->nitems = (size_t)row;
	return (1);
}

void
order_respond(struct http_request *req, const struct order *o, int status,
    const char *live)
{
	struct kore_buf		buf;
	struct json_writer	w;
	size_t			i;

	kore_buf_init(&buf, 1024);
	jw_init(&w, &buf);
	jw_object_open(&w, NULL);
	jw_string(&w, "id", o->id);
	jw_string(&w, "crm_order_id", o->crm_order_id);
	jw_string(&w, "customer_id", o->customer_id);
	jw_string(&w, "status", o->status);
	if (o->reason[0] != '\0')
		jw_string(&w, "reason", o->reason);
	jw_array_open(&w, "items");
	for (i = 0; i < o->nitems; i++) {
		jw_object_open(&w, NULL);
		jw_string(&w, "product_id", o->items[i].product);
		jw_int(&w, "quantity", o->items[i].quantity);
		jw_object_close(&w);
	}
	jw_array_close(&w);
	jw_object_open(&w, "destination");
	jw_string(&w, "postal_code", o->postal_code);
	jw_string(&w, "country", o->country);
	jw_object_close(&w);
	/* Only a confirmed order has a shipment: a pending one may lose it. */
	if (!strcmp(o->status, "confirmed") && o->shipment_id[0] != '\0') {
		jw_object_open(&w, "shipment");
		jw_string(&w, "id", o->shipment_id);
		jw_string(&w, "carrier", o->carrier);
		jw_string(&w, "eta", o->eta);
		jw_string(&w, "status", live != NULL ? live :
		    o->shipment_status);
		jw_bool(&w, "status_stale", live == NULL);
		jw_object_close(&w);
	}
	jw_string(&w, "created_at", o->created_at);
	jw_string(&w, "updated_at", o->updated_at);
	jw_object_close(&w);

	svc_respond_json(req, status, &buf);
	kore_buf_cleanup(&buf);
}

static void
order_copy(char *dst, size_t len, const struct db_call *call, int row,
    int col)
{
	if (db_isnull(call, row, col))
		dst[0] = '\0';
	else
		(void)kore_strlcpy(dst, db_value(call, row, col), len);
}
