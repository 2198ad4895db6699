/*
 * stock.c - GET and PUT /inventory/:productId (CONTRACT §5).
 *
 * The version of a product is its ETag; every change of the product
 * (PUT, reserve, commit, release) bumps it, so a PUT with If-Match never
 * overwrites a stock level its sender has not seen.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "json.h"
#include "json_writer.h"
#include "path.h"
#include "pipeline.h"
#include "queries.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"

#define PRODUCT_MAX		64
#define QUANTITY_MAX		1000000000000LL
#define VERSIONS_MAX		16

struct stock_state {
	struct db_call		call;
	int			put;
	char			product[PRODUCT_MAX + 1];
	char			quantity[24];
	char			check[2];
	char			versions[VERSIONS_MAX * 21 + 3];
	const char		*params[4];
};

static int	stock_prepare(struct http_request *, void *);
static int	stock_if_match(struct http_request *, struct stock_state *);
static void	stock_render(struct http_request *, const struct db_call *,
		    int, int);
static void	stock_cleanup(void *);

static const struct svc_route r_stock = {
	"/inventory/:productId",
	HTTP_METHOD_GET | HTTP_METHOD_PUT,
	SVC_ROUTE_JSON_BODY	/* the operators' only: no `allow` line */
};

static const struct json_field put_fields[] = {
	{ "quantity", JSON_INTEGER, JSON_REQUIRED, 0, QUANTITY_MAX,
	    NULL, NULL, NULL },
};
static const struct json_schema put_schema = JSON_SCHEMA(put_fields);

int
inventory_item(struct http_request *req)
{
	struct stock_state	*st;
	const char		*outcome;
	int			r;

	if ((st = svc_enter(req, &r_stock, sizeof(*st), stock_cleanup,
	    stock_prepare)) == NULL)
		return (svc_stopped(req));

	if (!db_fetch(req, &st->call, st->put ? &q_stock_put : &q_stock_get,
	    st->params, &r))
		return (r);

	if (!st->put) {
		if (db_ntuples(&st->call) != 1)
			svc_fail(req, SVC_NOT_FOUND, "no product %s",
			    st->product);
		else
			stock_render(req, &st->call, 0, 200);
	} else {
		outcome = db_ntuples(&st->call) == 1 ?
		    db_value(&st->call, 0, 0) : "";
		if (!strcmp(outcome, "created"))
			stock_render(req, &st->call, 1, 201);
		else if (!strcmp(outcome, "updated"))
			stock_render(req, &st->call, 1, 200);
		else if (!strcmp(outcome, "precondition_failed"))
			svc_fail(req, SVC_PRECONDITION_FAILED,
			    "If-Match does not match the current version of %s",
			    st->product);
		else
			svc_fail(req, SVC_INTERNAL, "internal error");
	}

	db_done(&st->call);
	return (KORE_RESULT_OK);
}

/* Checks the path (and the body of a PUT) and sets the statement's params. */
static int
stock_prepare(struct http_request *req, void *arg)
{
	struct stock_state	*st = arg;
	struct json_value	*body;
	int64_t			qty;

	if (!path_param(req, 1, fmt_product_id, "productId",
	    "must match ^[A-Z0-9][A-Z0-9-]{1,63}$", st->product,
	    sizeof(st->product)))
		return (0);
	st->params[0] = st->product;

	if (req->method == HTTP_METHOD_GET)
		return (1);

	st->put = 1;
	if ((body = svc_body_json(req, &put_schema)) == NULL)
		return (0);
	if (!json_get_int(body, "quantity", &qty)) {
		json_free(body);
		svc_fail(req, SVC_INTERNAL, "internal error");
		return (0);
	}
	json_free(body);

	(void)snprintf(st->quantity, sizeof(st->quantity), "%lld",
	    (long long)qty);
	st->params[1] = st->quantity;

	if (!stock_if_match(req, st))
		return (0);
	st->params[2] = st->check;
	st->params[3] = st->versions[0] != '\0' ? st->versions : NULL;

	return (1);
}

/*
 * If-Match: absent (no precondition), "*" (any current version) or a list
 * of entity tags.  Only strong tags of our form ("<version>") can match;
 * anything else is kept as a precondition that no version meets (412).
 */
static int
stock_if_match(struct http_request *req, struct stock_state *st)
{
	const char	*hdr, *p;
	size_t		off, n, nversions;
	int		inquote;

	(void)kore_strlcpy(st->check, "f", sizeof(st->check));
	st->versions[0] = '\0';

	if (!http_request_header(req, "if-match", &hdr))
		return (1);

	(void)kore_strlcpy(st->check, "t", sizeof(st->check));
	for (p = hdr; isspace((unsigned char)*p); p++)
		;
	if (*p == '*')
		return (1);		/* versions NULL: any existing one */

	off = 0;
	nversions = 0;
	st->versions[off++] = '{';
	while (*p != '\0' && nversions < VERSIONS_MAX) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		inquote = (*p == '"');
		if (inquote)
			p++;
		for (n = 0; isdigit((unsigned char)p[n]) && n < 18; n++)
			;
		if (inquote && n > 0 && p[n] == '"') {
			if (nversions > 0)
				st->versions[off++] = ',';
			memcpy(&st->versions[off], p, n);
			off += n;
			nversions++;
		}
		/* Skip the rest of this tag (weak, malformed or done). */
		while (*p != '\0' && *p != ',')
			p++;
	}
	st->versions[off++] = '}';
	st->versions[off] = '\0';

	return (1);
}

/* The product's JSON and its ETag; col is the first product column. */
static void
stock_render(struct http_request *req, const struct db_call *call, int col,
    int status)
{
	struct kore_buf		buf;
	struct json_writer	w;
	char			etag[32];
	int64_t			quantity, reserved, version;

	quantity = strtoll(db_value(call, 0, col + STOCK_QUANTITY), NULL, 10);
	reserved = strtoll(db_value(call, 0, col + STOCK_RESERVED), NULL, 10);
	version = strtoll(db_value(call, 0, col + STOCK_VERSION), NULL, 10);

	kore_buf_init(&buf, 256);
	jw_init(&w, &buf);
	jw_object_open(&w, NULL);
	jw_string(&w, "product_id", db_value(call, 0, col + STOCK_PRODUCT));
	jw_int(&w, "quantity", quantity);
	jw_int(&w, "reserved", reserved);
	jw_int(&w, "version", version);
	jw_string(&w, "updated_at", db_value(call, 0, col + STOCK_UPDATED));
	jw_object_close(&w);

	(void)snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	http_response_header(req, "etag", etag);
	svc_respond_json(req, status, &buf);
	kore_buf_cleanup(&buf);
}

static void
stock_cleanup(void *arg)
{
	struct stock_state	*st = arg;

	db_done(&st->call);
}
