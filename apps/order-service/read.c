/*
 * read.c - GET /supply-orders/:id, GET /supply-orders/:id/audit and
 * GET /supply-orders/by-shipment/:shipmentId (CONTRACT §4).
 *
 * GET /supply-orders/:id shows a confirmed order's shipment with its live
 * status from the logistics service.  When that cannot answer in time
 * the order is still answered (200), with the last status this service
 * knows and "status_stale": true: the order itself is ours,
 * and a status a little behind is more useful than a 503.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "order.h"
#include "path.h"
#include "pipeline.h"
#include "queries.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"
#include "upstream.h"
#include "service_decl.h"

/* The live status is worth this much of the request's time, at most. */
#define LIVE_BUDGET_MS		800

struct read_state {
	struct db_call		call;
	struct upstream_call	up;
	int			live;		/* fetching the live status */
	char			id[FMT_UUID_LEN + 1];
	const char		*params[1];
	struct order		o;
};

static int	read_order_id(struct http_request *, void *);
static int	read_shipment_id(struct http_request *, void *);
static int	read_id(struct http_request *, struct read_state *, int,
		    const char *);
static int	read_raw(struct http_request *, struct read_state *,
		    const struct db_stmt *, const char *);
static int	read_live(struct http_request *, struct read_state *);
static void	read_cleanup(void *);

/* Callers (service.decl): the public API reads its orders, the logistics
 * service the records. */
static const struct svc_route r_get = {
	"/supply-orders/:id", HTTP_METHOD_GET, 0
};
static const struct svc_route r_audit = {
	"/supply-orders/:id/audit", HTTP_METHOD_GET, 0
};
static const struct svc_route r_by_shipment = {
	"/supply-orders/by-shipment/:shipmentId", HTTP_METHOD_GET, 0
};

int
order_get(struct http_request *req)
{
	struct read_state	*st;

	if ((st = svc_enter(req, &r_get, sizeof(*st), read_cleanup,
	    read_order_id)) == NULL)
		return (svc_stopped(req));
	if (st->live)
		return (read_live(req, st));

	switch (order_query(req, &st->call, &q_get, st->params, &st->o)) {
	case ORDER_PENDING:
		return (KORE_RESULT_RETRY);
	case ORDER_ANSWERED:
		return (KORE_RESULT_OK);
	case ORDER_NONE:
		svc_fail(req, SVC_NOT_FOUND, "no supply order %s", st->id);
		return (KORE_RESULT_OK);
	}

	if (strcmp(st->o.status, "confirmed") || st->o.shipment_id[0] == '\0') {
		order_respond(req, &st->o, 200, NULL);
		return (KORE_RESULT_OK);
	}
	st->live = 1;
	return (read_live(req, st));
}

/* GET /shipments/:id at the logistics service for the shipment's status. */
static int
read_live(struct http_request *req, struct read_state *st)
{
	char			path[64];
	char			live[ORDER_TEXT_MAX];
	int			r;

	(void)snprintf(path, sizeof(path), "/shipments/%s",
	    st->o.shipment_id);
	r = upstream_get_string(req, &st->up, UPSTREAM_LOGISTICS_SERVICE, path,
	    LIVE_BUDGET_MS, "status", live, sizeof(live));
	if (r == UPSTREAM_PENDING)
		return (KORE_RESULT_RETRY);
	upstream_done(&st->up);

	order_respond(req, &st->o, 200, r == UPSTREAM_DONE ? live : NULL);
	return (KORE_RESULT_OK);
}

int
order_audit(struct http_request *req)
{
	struct read_state	*st;

	if ((st = svc_enter(req, &r_audit, sizeof(*st), read_cleanup,
	    read_order_id)) == NULL)
		return (svc_stopped(req));
	return (read_raw(req, st, &q_audit, "supply order"));
}

int
order_by_shipment(struct http_request *req)
{
	struct read_state	*st;

	if ((st = svc_enter(req, &r_by_shipment, sizeof(*st), read_cleanup,
	    read_shipment_id)) == NULL)
		return (svc_stopped(req));
	return (read_raw(req, st, &q_by_shipment, "shipment"));
}

/*
 * A statement by st->id whose one text column is the whole JSON answer
 * (built or stored by PostgreSQL); no row: 404.
 */
static int
read_raw(struct http_request *req, struct read_state *st,
    const struct db_stmt *stmt, const char *what)
{
	struct kore_buf		buf;
	const char		*json;
	int			r;

	if (!db_fetch(req, &st->call, stmt, st->params, &r))
		return (r);

	if (db_ntuples(&st->call) != 1 || db_isnull(&st->call, 0, 0)) {
		svc_fail(req, SVC_NOT_FOUND, "no %s %s", what, st->id);
	} else {
		json = db_value(&st->call, 0, 0);
		kore_buf_init(&buf, strlen(json) + 1);
		kore_buf_append(&buf, json, strlen(json));
		svc_respond_json(req, 200, &buf);
		kore_buf_cleanup(&buf);
	}
	db_done(&st->call);
	return (KORE_RESULT_OK);
}

/* /supply-orders/:id[/audit] */
static int
read_order_id(struct http_request *req, void *arg)
{
	return (read_id(req, arg, 1, "id"));
}

/* /supply-orders/by-shipment/:shipmentId */
static int
read_shipment_id(struct http_request *req, void *arg)
{
	return (read_id(req, arg, 2, "shipmentId"));
}

/* The UUID in path segment seg, named name in a 400. */
static int
read_id(struct http_request *req, struct read_state *st, int seg,
    const char *name)
{
	if (!path_uuid(req, seg, name, st->id, sizeof(st->id)))
		return (0);
	st->params[0] = st->id;
	return (1);
}

static void
read_cleanup(void *arg)
{
	struct read_state	*st = arg;

	upstream_done(&st->up);
	db_done(&st->call);
}
