/*
 * health.c - the platform's own routes: /healthz, /readyz, /metrics and
 * the catch-all 404.  /healthz and /readyz skip the rate limit so probes
 * always get through; /metrics is rate-limited like any route.  None of
 * them needs credentials.
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "metrics.h"
#include "svc.h"
#include "svc_int.h"

static const struct svc_route	r_healthz = {
	"/healthz", HTTP_METHOD_GET, SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT
};

static const struct svc_route	r_readyz = {
	"/readyz", HTTP_METHOD_GET, SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT
};

static const struct svc_route	r_metrics = {
	"/metrics", HTTP_METHOD_GET, SVC_ROUTE_PUBLIC
};

/* Unknown paths: every method, no auth (404 for everyone). */
static const struct svc_route	r_unmatched = {
	"unmatched", HTTP_METHOD_ALL, SVC_ROUTE_PUBLIC
};

static int	(*ready_fn)(struct http_request *);

void
svc_ready_set(int (*fn)(struct http_request *))
{
	ready_fn = fn;
}

int
svc_healthz(struct http_request *req)
{
	struct kore_buf		buf;

	if (!svc_begin(req, &r_healthz))
		return (KORE_RESULT_OK);

	kore_buf_init(&buf, 32);
	kore_buf_append(&buf, "{\"status\":\"ok\"}", 15);
	svc_respond_json(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

int
svc_readyz(struct http_request *req)
{
	struct kore_buf		buf;

	if (!svc_begin(req, &r_readyz))
		return (KORE_RESULT_OK);

	/* The DB layer's check may be a state machine: it re-enters here. */
	if (ready_fn != NULL)
		return (ready_fn(req));

	kore_buf_init(&buf, 32);
	kore_buf_append(&buf, "{\"status\":\"ready\"}", 18);
	svc_respond_json(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

int
svc_metrics(struct http_request *req)
{
	struct kore_buf		buf;

	if (!svc_begin(req, &r_metrics))
		return (KORE_RESULT_OK);

	kore_buf_init(&buf, 8192);
	metrics_render(&buf);
	svc_respond_text(req, HTTP_STATUS_OK,
	    "text/plain; version=0.0.4; charset=utf-8", &buf);
	kore_buf_cleanup(&buf);

	return (KORE_RESULT_OK);
}

int
svc_not_found(struct http_request *req)
{
	if (!svc_begin(req, &r_unmatched))
		return (KORE_RESULT_OK);

	svc_fail(req, SVC_NOT_FOUND, "no such route");

	return (KORE_RESULT_OK);
}
