/*
 * shipments.c - POST /shipments (plan a shipment) and GET /shipments/:id
 * (the stored record, read through the supply-order hub, with its live
 * status).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fmt.h"
#include "handlers.h"
#include "json.h"
#include "json_writer.h"
#include "path.h"
#include "pipeline.h"
#include "plan.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"
#include "svc_log.h"
#include "upstream.h"
#include "service_decl.h"

struct shipment {
	char		id[FMT_UUID_LEN + 1];
	const char	*order_id;
	const char	*carrier;
	const char	*service_level;
	const char	*origin;
	int64_t		distance_km;
	int		has_distance;
	time_t		created;
	time_t		eta;
};

struct get_state {
	struct upstream_call	up;
	char			id[FMT_UUID_LEN + 1];
	char			path[96];
};

static int	create_plan(struct http_request *, const struct json_value *,
		    struct plan_result *, int *);
static int	items_unique(const struct json_value *, struct svc_error *);
static void	shipment_render(struct http_request *, int,
		    const struct shipment *);
static int	record_read(const struct json_value *, struct shipment *);
static int	get_prepare(struct http_request *, void *);
static void	get_cleanup(void *);

static const struct svc_route r_create = {
	"/shipments", HTTP_METHOD_POST, SVC_ROUTE_JSON_BODY
};
static const struct svc_route r_get = {
	"/shipments/:id", HTTP_METHOD_GET, 0
};

static const struct json_field item_fields[] = {
	{ "product_id", JSON_STRING, JSON_REQUIRED, 2, 64,
	    fmt_product_id, "must match ^[A-Z0-9][A-Z0-9-]{1,63}$", NULL },
	{ "quantity", JSON_INTEGER, JSON_REQUIRED, 1, 1000, NULL, NULL, NULL },
};
static const struct json_schema item_schema = JSON_SCHEMA(item_fields);

static const struct json_field dest_fields[] = {
	{ "postal_code", JSON_STRING, JSON_REQUIRED, 1, FMT_POSTAL_MAX,
	    fmt_postal_code, FMT_POSTAL_RULE, NULL },
	{ "country", JSON_STRING, JSON_REQUIRED, 2, 2, fmt_country,
	    "must be an ISO 3166-1 alpha-2 code", NULL },
};
static const struct json_schema dest_schema = JSON_SCHEMA(dest_fields);

static const struct json_field create_fields[] = {
	{ "order_id", JSON_STRING, JSON_REQUIRED, 36, 36, fmt_uuid,
	    "must be a UUID in canonical lower-case form", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, 100, NULL, NULL,
	    &item_schema },
	{ "destination", JSON_OBJECT, JSON_REQUIRED, 0, 0, NULL, NULL,
	    &dest_schema },
	{ "service_level", JSON_STRING, JSON_OPTIONAL, 0, 0,
	    plan_level_check, "must be \"standard\" or \"express\"", NULL },
};
static const struct json_schema create_schema = JSON_SCHEMA(create_fields);

/* POST /shipments: plan it; deterministic but for created_at and eta. */
int
logistics_create(struct http_request *req)
{
	struct json_value	*body;
	struct plan_result	plan;
	struct shipment		s;
	int			level;

	if (!svc_begin(req, &r_create))
		return (svc_stopped(req));

	if ((body = svc_body_json(req, &create_schema)) == NULL)
		return (KORE_RESULT_OK);

	if (!create_plan(req, body, &plan, &level)) {
		json_free(body);
		return (KORE_RESULT_OK);
	}

	memset(&s, 0, sizeof(s));
	s.order_id = json_get_string(body, "order_id");
	if (!plan_shipment_id(s.order_id, s.id, sizeof(s.id))) {
		json_free(body);
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (KORE_RESULT_OK);
	}
	s.carrier = plan.carrier->name;
	s.service_level = plan_level_name(level);
	s.origin = plan.origin->id;
	s.distance_km = plan.distance_km;
	s.has_distance = 1;
	s.created = time(NULL);
	s.eta = s.created + (time_t)plan.transit_hours * 3600;

	shipment_render(req, 201, &s);
	json_free(body);

	return (KORE_RESULT_OK);
}

/* Checks what the schema cannot and plans; answers 400 when it cannot. */
static int
create_plan(struct http_request *req, const struct json_value *body,
    struct plan_result *plan, int *level)
{
	struct svc_error	err;
	const struct json_value	*dest;
	const char		*country, *postal, *lvl;
	double			lat, lon;

	svc_error_init(&err);
	svc_error_set(&err, SVC_VALIDATION_FAILED, "the shipment is invalid");

	if (!items_unique(json_get_array(body, "items"), &err)) {
		svc_respond_error(req, &err);
		return (0);
	}

	dest = json_get_object(body, "destination");
	country = json_get_string(dest, "country");
	postal = json_get_string(dest, "postal_code");

	switch (plan_locate(logistics_plan, country, postal, &lat, &lon)) {
	case PLAN_OK:
		break;
	case PLAN_UNKNOWN_COUNTRY:
		svc_error_detail(&err, "destination.country",
		    "no delivery to %s", country);
		svc_respond_error(req, &err);
		return (0);
	default:
		svc_error_detail(&err, "destination.postal_code",
		    "not a postal code served in %s", country);
		svc_respond_error(req, &err);
		return (0);
	}

	lvl = json_get_string(body, "service_level");
	*level = lvl != NULL ? plan_level(lvl) : PLAN_STANDARD;

	if (!plan_route(logistics_plan, lat, lon, *level, plan)) {
		/* plan_load() guarantees a carrier for every distance. */
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (0);
	}

	return (1);
}

/* Each product once per shipment, as in an order. */
static int
items_unique(const struct json_value *items, struct svc_error *err)
{
	size_t		i, j, n;
	const char	*a, *b;
	int		ok;
	char		field[48];

	ok = 1;
	n = json_array_len(items);
	for (i = 1; i < n; i++) {
		a = json_get_string(json_array_at(items, i), "product_id");
		for (j = 0; j < i; j++) {
			b = json_get_string(json_array_at(items, j),
			    "product_id");
			if (a != NULL && b != NULL && !strcmp(a, b)) {
				(void)snprintf(field, sizeof(field),
				    "items[%zu].product_id", i);
				svc_error_detail(err, field,
				    "duplicate of items[%zu]", j);
				ok = 0;
				break;
			}
		}
	}

	return (ok);
}

/*
 * GET /shipments/:id: the record the supply-order hub stored when it created the
 * shipment, with the status of now.
 */
int
logistics_shipment(struct http_request *req)
{
	struct get_state	*st;
	struct upstream_req	ur;
	struct svc_error	err;
	struct json_value	*doc;
	struct shipment		s;
	int			r, status;

	if ((st = svc_enter(req, &r_get, sizeof(*st), get_cleanup,
	    get_prepare)) == NULL)
		return (svc_stopped(req));

	memset(&ur, 0, sizeof(ur));
	ur.target = UPSTREAM_ORDER_SERVICE;
	ur.method = HTTP_METHOD_GET;
	ur.path = st->path;
	ur.flags = UPSTREAM_RETRYABLE;

	svc_error_init(&err);
	r = upstream_exec(req, &st->up, &ur, &err);
	if (r == UPSTREAM_PENDING)
		return (KORE_RESULT_RETRY);
	if (r == UPSTREAM_FAILED) {
		svc_respond_error(req, &err);
		return (KORE_RESULT_OK);
	}

	status = upstream_status(&st->up);
	if (status == 404) {
		svc_fail(req, SVC_NOT_FOUND, "no shipment %s", st->id);
		return (KORE_RESULT_OK);
	}
	if (status != 200) {
		svc_log(SVC_LOG_ERROR, svc_request_id(req), "%s answered %d "
		    "for shipment %s", upstream_target_name(UPSTREAM_ORDER_SERVICE),
		    status, st->id);
		if (status >= 500)
			upstream_error(&st->up, &err);
		else
			svc_error_set(&err, SVC_INTERNAL, "internal error");
		svc_respond_error(req, &err);
		return (KORE_RESULT_OK);
	}

	if ((doc = upstream_json(&st->up, &err)) == NULL) {
		svc_respond_error(req, &err);
		return (KORE_RESULT_OK);
	}

	memset(&s, 0, sizeof(s));
	(void)kore_strlcpy(s.id, st->id, sizeof(s.id));
	if (!record_read(doc, &s)) {
		svc_log(SVC_LOG_ERROR, svc_request_id(req), "%s's record of "
		    "shipment %s lacks created_at/eta",
		    upstream_target_name(UPSTREAM_ORDER_SERVICE), st->id);
		svc_fail(req, SVC_INTERNAL, "internal error");
	} else {
		shipment_render(req, 200, &s);
	}

	json_free(doc);
	return (KORE_RESULT_OK);
}

/*
 * The stored record: the shipment object as this service answered it,
 * either as the document itself or under "shipment" (with the supply
 * order around it).  created_at and eta are needed for the status.
 */
static int
record_read(const struct json_value *doc, struct shipment *s)
{
	const struct json_value	*rec;
	const char		*v;

	rec = doc;
	if (json_get_string(doc, "eta") == NULL &&
	    json_get_object(doc, "shipment") != NULL)
		rec = json_get_object(doc, "shipment");

	if ((v = json_get_string(rec, "eta")) == NULL ||
	    !fmt_rfc3339_parse(v, &s->eta))
		return (0);
	if ((v = json_get_string(rec, "created_at")) == NULL)
		v = json_get_string(doc, "created_at");
	if (v == NULL || !fmt_rfc3339_parse(v, &s->created))
		return (0);

	s->order_id = json_get_string(rec, "order_id");
	if (s->order_id == NULL && rec != doc)
		s->order_id = json_get_string(doc, "id");
	s->carrier = json_get_string(rec, "carrier");
	s->service_level = json_get_string(rec, "service_level");
	s->origin = json_get_string(rec, "origin_warehouse");
	s->has_distance = json_get_int(rec, "distance_km", &s->distance_km);

	return (1);
}

static void
shipment_render(struct http_request *req, int status,
    const struct shipment *s)
{
	struct kore_buf		buf;
	struct json_writer	jw;
	char			created[FMT_RFC3339_LEN], eta[FMT_RFC3339_LEN];

	fmt_rfc3339_time(created, sizeof(created), s->created);
	fmt_rfc3339_time(eta, sizeof(eta), s->eta);

	kore_buf_init(&buf, 512);
	jw_init(&jw, &buf);
	jw_object_open(&jw, NULL);
	jw_string(&jw, "id", s->id);
	if (s->order_id != NULL)
		jw_string(&jw, "order_id", s->order_id);
	jw_string(&jw, "status", plan_status(s->created, s->eta,
	    time(NULL)));
	if (s->carrier != NULL)
		jw_string(&jw, "carrier", s->carrier);
	if (s->service_level != NULL)
		jw_string(&jw, "service_level", s->service_level);
	if (s->origin != NULL)
		jw_string(&jw, "origin_warehouse", s->origin);
	if (s->has_distance)
		jw_int(&jw, "distance_km", s->distance_km);
	jw_string(&jw, "eta", eta);
	jw_string(&jw, "created_at", created);
	jw_object_close(&jw);

	svc_respond_json(req, status, &buf);
	kore_buf_cleanup(&buf);
}

/* The shipment id from the path; 400 when it is not a UUID. */
static int
get_prepare(struct http_request *req, void *arg)
{
	struct get_state	*st = arg;

	if (!path_uuid(req, 1, "id", st->id, sizeof(st->id)))
		return (0);
	(void)snprintf(st->path, sizeof(st->path),
	    "/supply-orders/by-shipment/%s", st->id);

	return (1);
}

static void
get_cleanup(void *arg)
{
	struct get_state	*st = arg;

	upstream_done(&st->up);
}
