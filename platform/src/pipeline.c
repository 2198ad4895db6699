/*
 * pipeline.c - the start of every request (pipeline.h): request id ->
 * rate limit -> auth -> method -> content type -> admission, then the
 * handler.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admission.h"
#include "auth.h"
#include "json.h"
#include "metrics.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc.h"
#include "svc_error.h"
#include "svc_int.h"

static int	svc_checks(struct http_request *, struct svc_req *,
		    const struct svc_route *);
static int	svc_admit(struct http_request *, struct svc_req *);
static void	svc_refuse(struct http_request *, enum svc_code, u_int32_t,
		    const char *);
static int	svc_client_limited(struct http_request *, u_int32_t *);
static const char *svc_header_repeated(struct http_request *);

int
svc_begin(struct http_request *req, const struct svc_route *route)
{
	struct svc_req		*sr;

	sr = svc_req_ensure(req);
	if (!sr->begun) {
		sr->begun = 1;
		sr->route = route;
		if (!svc_checks(req, sr, route))
			return (0);
	}
	if (sr->responded)
		return (0);

	if (route->flags & SVC_ROUTE_NO_ADMISSION)
		return (1);
	return (svc_admit(req, sr));
}

int
svc_stopped(struct http_request *req)
{
	struct svc_req	*sr;

	if ((sr = svc_req(req)) != NULL && !sr->responded) {
		if (sr->admit.state == ADMISSION_WAITING)
			return (KORE_RESULT_RETRY);
		/* A handler bug: never leave a request without an answer. */
		svc_fail(req, SVC_INTERNAL, "internal error");
	}

	return (KORE_RESULT_OK);
}

/*
 * Its turn (admission.h): go on; wait asleep until admitted or shed; or
 * shed now, before any of its work is done.
 */
static int
svc_admit(struct http_request *req, struct svc_req *sr)
{
	switch (admission_enter(&sr->admit, req, kore_time_ms())) {
	case ADMISSION_IN:
		return (1);
	case ADMISSION_WAITING:
		http_request_sleep(req);
		return (0);
	default:
		svc_refuse(req, SVC_UNAVAILABLE, ADMISSION_RETRY_AFTER,
		    "the service is at capacity, retry later");
		return (0);
	}
}

/* Refused before any work: come back after retry seconds. */
static void
svc_refuse(struct http_request *req, enum svc_code code, u_int32_t retry,
    const char *message)
{
	struct svc_error	err;

	svc_error_init(&err);
	svc_error_set(&err, code, "%s", message);
	err.retry_after = retry;
	svc_respond_error(req, &err);
}

/* The request's own checks; 0 when one failed and it was answered. */
static int
svc_checks(struct http_request *req, struct svc_req *sr,
    const struct svc_route *route)
{
	struct svc_error	err;
	const char		*hdr, *caller;
	u_int32_t		retry;
	int			methods;

	/* Kore read an oversized body away (http-llhttp-parser.patch): 413. */
	if (req->flags & HTTP_REQUEST_BODY_DISCARD) {
		svc_fail(req, SVC_PAYLOAD_TOO_LARGE,
		    "the request body is larger than %llu bytes",
		    (unsigned long long)http_body_max);
		return (0);
	}

	retry = 1;
	if (!(route->flags & SVC_ROUTE_NO_RATELIMIT) &&
	    svc_client_limited(req, &retry)) {
		metrics_counter_add("rate_limit_rejections_total", NULL, 1);
		svc_refuse(req, SVC_RATE_LIMITED, retry,
		    "too many requests from this address");
		return (0);
	}

	if ((hdr = svc_header_repeated(req)) != NULL) {
		svc_error_init(&err);
		svc_error_set(&err, SVC_VALIDATION_FAILED,
		    "the %s header is given more than once", hdr);
		svc_error_detail(&err, hdr, "must be given once");
		svc_respond_error(req, &err);
		return (0);
	}

	if (!(route->flags & SVC_ROUTE_PUBLIC) &&
	    svc_decl.auth != SVC_AUTH_NONE) {
		if (!http_request_header(req, "authorization", &hdr))
			hdr = NULL;
		if ((caller = auth_check_bearer(hdr)) == NULL) {
			svc_fail(req, SVC_UNAUTHORIZED,
			    "missing or invalid bearer token");
			return (0);
		}
		/* The contract has no 403: a route not ours is a 401 too. */
		sr->caller = caller;
		if (!svc_caller_allowed(route, caller)) {
			svc_fail(req, SVC_UNAUTHORIZED,
			    "this credential is not allowed on this route");
			return (0);
		}
	}

	/* A route for every method takes those Kore has no name for too. */
	methods = route->methods;
	if (methods & HTTP_METHOD_GET)
		methods |= HTTP_METHOD_HEAD;
	if (methods != HTTP_METHOD_ALL && !(methods & req->method)) {
		svc_error_init(&err);
		svc_error_set(&err, SVC_METHOD_NOT_ALLOWED,
		    "method %s not allowed here",
		    svc_method_name(req->method));
		svc_allow_header(route->methods, err.allow, sizeof(err.allow));
		svc_respond_error(req, &err);
		return (0);
	}

	/* A body must say it is JSON; an empty one is answered as such. */
	if ((route->flags & SVC_ROUTE_JSON_BODY) &&
	    (req->method == HTTP_METHOD_POST ||
	    req->method == HTTP_METHOD_PUT ||
	    req->method == HTTP_METHOD_PATCH) &&
	    (http_request_header(req, "content-type", &hdr) ?
	    !svc_content_type_ok(hdr) : req->http_body_length > 0)) {
		svc_fail(req, SVC_UNSUPPORTED_MEDIA_TYPE,
		    "content type must be application/json; charset=utf-8");
		return (0);
	}

	return (1);
}

void *
svc_enter(struct http_request *req, const struct svc_route *route,
    size_t len, void (*cleanup)(void *),
    int (*prepare)(struct http_request *, void *))
{
	struct svc_req	*sr;
	void		*st;

	if (!svc_begin(req, route))
		return (NULL);

	st = svc_app_state(req, len, cleanup);
	sr = req->hdlr_extra;
	if (!sr->prepared) {
		if (prepare != NULL && !prepare(req, st))
			return (NULL);
		sr->prepared = 1;
	}

	return (st);
}

struct json_value *
svc_body_json(struct http_request *req, const struct json_schema *schema)
{
	struct kore_buf		buf;
	struct svc_error	err;
	struct json_value	*v;
	u_int8_t		tmp[4096];
	ssize_t			r;

	kore_buf_init(&buf, 1024);

	if (!http_body_rewind(req)) {
		kore_buf_cleanup(&buf);
		svc_fail(req, SVC_INTERNAL, "cannot rewind the body");
		return (NULL);
	}

	for (;;) {
		r = http_body_read(req, tmp, sizeof(tmp));
		if (r == -1) {
			kore_buf_cleanup(&buf);
			svc_fail(req, SVC_INTERNAL, "cannot read the body");
			return (NULL);
		}
		if (r == 0)
			break;
		kore_buf_append(&buf, tmp, (size_t)r);
	}

	svc_error_init(&err);
	v = json_parse(buf.data, buf.offset, schema, &err);
	kore_buf_cleanup(&buf);

	if (v == NULL)
		svc_respond_error(req, &err);

	return (v);
}

static int
svc_client_limited(struct http_request *req, u_int32_t *retry)
{
	struct connection	*c = req->owner;

	if (c == NULL)
		return (0);

	switch (c->family) {
	case AF_INET:
		return (!ratelimit_take(AF_INET, &c->addr.ipv4.sin_addr,
		    ratelimit_now_us(), retry));
	case AF_INET6:
		return (!ratelimit_take(AF_INET6, &c->addr.ipv6.sin6_addr,
		    ratelimit_now_us(), retry));
	default:
		return (0);
	}
}

/*
 * A client key opens every route of the public API; an internal route
 * opens to the operator and to the identities it names.
 */
int
svc_caller_allowed(const struct svc_route *route, const char *caller)
{
	const struct svc_grant	*g;
	const char		*p;
	size_t			len, clen;

	if (caller == NULL)
		return (0);
	if (svc_decl.auth != SVC_AUTH_SERVICE ||
	    strcmp(caller, SVC_OPERATOR) == 0)
		return (1);

	/* The route's `allow` line of the declaration, if it has one. */
	p = NULL;
	for (g = svc_decl.grants; g != NULL && g->route != NULL; g++) {
		if (strcmp(g->route, route->name) == 0) {
			p = g->callers;
			break;
		}
	}

	clen = strlen(caller);
	while (p != NULL && *p != '\0') {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len > 0 && len == clen && strncmp(p, caller, len) == 0)
			return (1);
		p += len;
	}

	return (0);
}

/*
 * application/json, optionally with parameters; a charset parameter must
 * be utf-8.  Whitespace and case are insignificant.
 */
int
svc_content_type_ok(const char *ct)
{
	const char	*p, *v;
	size_t		vlen;

	while (*ct == ' ' || *ct == '\t')
		ct++;

	if (strncasecmp(ct, "application/json", 16) != 0)
		return (0);

	p = ct + 16;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return (1);
		if (*p != ';')
			return (0);
		p++;
		while (*p == ' ' || *p == '\t')
			p++;

		if (strncasecmp(p, "charset=", 8) == 0) {
			v = p + 8;
			if (*v == '"')
				v++;
			vlen = strcspn(v, "\"; \t");
			if (!((vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
			    (vlen == 4 && strncasecmp(v, "utf8", 4) == 0)))
				return (0);
		}

		/* Skip to the next parameter. */
		while (*p != '\0' && *p != ';')
			p++;
	}
}

/*
 * The first of the headers that must come once and came more often, NULL
 * if none did: Kore reads the first of two, a proxy in front may read the
 * last, so two credentials or two keys are refused, not chosen from.
 */
static const char *
svc_header_repeated(struct http_request *req)
{
	static const char	*once[] = {
		"Authorization", "Content-Type", "Idempotency-Key"
	};
	size_t			i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++) {
		if (svc_header_count(req, once[i]) > 1)
			return (once[i]);
	}

	return (NULL);
}
