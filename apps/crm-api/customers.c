/*
 * customers.c - POST /customers and GET /customers/:id (CONTRACT §3).
 * An e-mail address is taken once, whatever its case (a unique index on
 * lower(email)); crm.create_customer() says "conflict" then.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "db.h"
#include "fmt.h"
#include "handlers.h"
#include "json.h"
#include "path.h"
#include "pipeline.h"
#include "queries.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"

#define NAME_MAX_CHARS		200
#define EMAIL_MAX		254
#define PHONE_MAX		32

struct cust_state {
	struct db_call		call;
	int			ready;
	char			id[FMT_UUID_LEN + 1];
	char			*name;
	char			*email;
	char			*phone;
	const char		*params[3];
};

static int	cust_create_prepare(struct http_request *, struct cust_state *);
static int	cust_run(struct http_request *, struct cust_state *,
		    const struct db_stmt *);
static int	phone_ok(const char *);
static void	cust_cleanup(void *);

static const struct svc_route r_customers = {
	"/customers", HTTP_METHOD_POST, SVC_ROUTE_JSON_BODY
};
static const struct svc_route r_customer = {
	"/customers/:id", HTTP_METHOD_GET, 0
};

static const struct json_field customer_fields[] = {
	{ "name", JSON_STRING, JSON_REQUIRED, 1, NAME_MAX_CHARS,
	    NULL, NULL, NULL },
	{ "email", JSON_STRING, JSON_REQUIRED, 3, EMAIL_MAX,
	    fmt_email, "must be a valid e-mail address", NULL },
	{ "phone", JSON_STRING, JSON_OPTIONAL | JSON_NULLABLE, 1, PHONE_MAX,
	    phone_ok, "must be digits, spaces and + ( ) - . only", NULL },
};
static const struct json_schema customer_schema =
    JSON_SCHEMA(customer_fields);

int
crm_customer_create(struct http_request *req)
{
	struct cust_state	*st;

	if (!svc_begin(req, &r_customers))
		return (svc_stopped(req));

	st = svc_app_state(req, sizeof(*st), cust_cleanup);
	if (!st->ready) {
		if (!cust_create_prepare(req, st))
			return (KORE_RESULT_OK);
		st->ready = 1;
	}

	return (cust_run(req, st, &q_customer_create));
}

int
crm_customer_get(struct http_request *req)
{
	struct cust_state	*st;

	if (!svc_begin(req, &r_customer))
		return (svc_stopped(req));

	st = svc_app_state(req, sizeof(*st), cust_cleanup);
	if (!st->ready) {
		if (!path_uuid(req, 1, "id", st->id, sizeof(st->id)))
			return (KORE_RESULT_OK);
		st->params[0] = st->id;
		st->ready = 1;
	}

	return (cust_run(req, st, &q_customer_get));
}

static int
cust_run(struct http_request *req, struct cust_state *st,
    const struct db_stmt *stmt)
{
	struct kore_buf		buf;
	const char		*body;
	int			r, create;

	if (!db_fetch(req, &st->call, stmt, st->params, &r))
		return (r);

	create = (stmt == &q_customer_create);
	if (db_ntuples(&st->call) < 1) {
		if (create)
			svc_fail(req, SVC_INTERNAL, "internal error");
		else
			svc_fail(req, SVC_NOT_FOUND, "no customer %s", st->id);
	} else if (create && strcmp(db_value(&st->call, 0, CUST_OUTCOME),
	    "created")) {
		svc_fail(req, SVC_CONFLICT, "a customer with this e-mail "
		    "address exists already");
	} else {
		body = db_value(&st->call, 0, create ? CUST_BODY : 0);
		kore_buf_init(&buf, 256);
		kore_buf_append(&buf, body, strlen(body));
		svc_respond_json(req, create ? 201 : 200, &buf);
		kore_buf_cleanup(&buf);
	}

	db_done(&st->call);
	return (KORE_RESULT_OK);
}

static int
cust_create_prepare(struct http_request *req, struct cust_state *st)
{
	struct json_value	*body;
	const char		*phone;

	if ((body = svc_body_json(req, &customer_schema)) == NULL)
		return (0);

	st->name = kore_strdup(json_get_string(body, "name"));
	st->email = kore_strdup(json_get_string(body, "email"));
	if ((phone = json_get_string(body, "phone")) != NULL)
		st->phone = kore_strdup(phone);
	json_free(body);

	st->params[0] = st->name;
	st->params[1] = st->email;
	st->params[2] = st->phone;		/* NULL: SQL NULL */
	return (1);
}

/* A phone number as people write it: "+49 (30) 123-45.67". */
static int
phone_ok(const char *s)
{
	int		digits;

	for (digits = 0; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (strchr(" +()-.", *s) == NULL)
			return (0);
	}
	return (digits > 0);
}

static void
cust_cleanup(void *arg)
{
	struct cust_state	*st = arg;

	db_done(&st->call);
	kore_free(st->name);
	kore_free(st->email);
	kore_free(st->phone);
}
