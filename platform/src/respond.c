/*
 * respond.c - the one way out: every answer of a service, success or
 * error, and every error Kore's HTTP layer raises itself, goes through
 * here so it has the contract's shape, an X-Request-Id, one log line and
 * its metrics.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admission.h"
#include "fmt.h"
#include "metrics.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_int.h"
#include "svc_log.h"

#define CT_JSON		"application/json; charset=utf-8"

static void	svc_send(struct http_request *, int, const void *, size_t,
		    const char *);

static void
svc_send(struct http_request *req, int status, const void *d, size_t len,
    const char *ctype)
{
	struct svc_req	*sr;

	sr = svc_req_ensure(req);
	if (sr->responded) {
		/* A handler bug; never send two answers on one request. */
		svc_log(SVC_LOG_ERROR, sr->request_id,
		    "second response (%d) suppressed", status);
		return;
	}

	if (ctype != NULL)
		http_response_header(req, "content-type", ctype);
	http_response_header(req, "x-request-id", sr->request_id);
	http_response_header(req, "cache-control", "no-store");

	http_response(req, status, d, len);
	svc_finish(req, status);
}

void
svc_respond_json(struct http_request *req, int status, struct kore_buf *buf)
{
	if (buf == NULL)
		svc_send(req, status, "{}", 2, CT_JSON);
	else
		svc_send(req, status, buf->data, buf->offset, CT_JSON);
}

void
svc_respond_status(struct http_request *req, int status)
{
	if (status >= 400) {
		svc_fail(req, svc_code_from_status(status), "%s",
		    http_status_text(status));
		return;
	}

	if (status == 204 || status == 304)
		svc_send(req, status, NULL, 0, NULL);
	else
		svc_send(req, status, "{}", 2, CT_JSON);
}

/* Platform-only: a non-JSON body (the Prometheus text of /metrics). */
void
svc_respond_text(struct http_request *req, int status, const char *ctype,
    struct kore_buf *buf)
{
	svc_send(req, status, buf->data, buf->offset, ctype);
}

void
svc_respond_error(struct http_request *req, const struct svc_error *err)
{
	struct kore_buf		buf;
	struct svc_req		*sr;
	char			tmp[32];
	int			status;

	sr = svc_req_ensure(req);
	status = svc_code_status(err->code);

	if (status == 500) {
		/* The detail stays in the log, never in the answer. */
		svc_log(SVC_LOG_ERROR, sr->request_id, "internal error: %s",
		    err->message);
	}

	if (status == 405) {
		if (err->allow[0] != '\0') {
			http_response_header(req, "allow", err->allow);
		} else if (sr->route != NULL) {
			svc_allow_header(sr->route->methods, tmp,
			    sizeof(tmp));
			http_response_header(req, "allow", tmp);
		}
	}

	if (status == 429 || status == 503) {
		(void)snprintf(tmp, sizeof(tmp), "%u",
		    err->retry_after > 0 ? err->retry_after : 1);
		http_response_header(req, "retry-after", tmp);
	}

	if (status == 401)
		http_response_header(req, "www-authenticate", "Bearer");

	kore_buf_init(&buf, 512);
	svc_error_render(err, sr->request_id, &buf);
	svc_send(req, status, buf.data, buf.offset, CT_JSON);
	kore_buf_cleanup(&buf);
}

void
svc_fail(struct http_request *req, enum svc_code code, const char *fmt, ...)
{
	struct svc_error	err;
	va_list			args;

	svc_error_init(&err);
	err.code = (code > SVC_NONE && code < SVC_CODE_MAX) ?
	    code : SVC_INTERNAL;

	va_start(args, fmt);
	(void)vsnprintf(err.message, sizeof(err.message), fmt, args);
	va_end(args);

	svc_respond_error(req, &err);
}

/* Only names we know become a label value: the raw method is hostile. */
static const char *
kore_method_label(const char *m)
{
	static const char	*known[] = {
		"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH",
		NULL
	};
	size_t			i;

	if (m == NULL)
		return ("OTHER");

	for (i = 0; known[i] != NULL; i++) {
		if (strcasecmp(m, known[i]) == 0)
			return (known[i]);
	}

	return ("OTHER");
}

void
svc_kore_error(struct connection *c, const struct http_error *he,
    struct kore_buf *hdrs, struct kore_buf *body)
{
	struct svc_error	err;
	char			id[SVC_REQID_MAX + 1];
	char			allow[64];
	const char		*method;

	(void)c;

	if (he->request_id != NULL && fmt_request_id(he->request_id))
		(void)kore_strlcpy(id, he->request_id, sizeof(id));
	else if (!svc_request_id_new(id, sizeof(id)))
		(void)kore_strlcpy(id, "-", sizeof(id));

	svc_error_init(&err);
	err.code = svc_code_from_status(he->status);

	switch (he->status) {
	case 400:
		svc_error_set(&err, SVC_VALIDATION_FAILED,
		    "malformed HTTP request");
		svc_error_detail(&err, "request", "%s", he->reason != NULL ?
		    he->reason : "malformed HTTP request");
		break;
	case 404:
		svc_error_set(&err, SVC_NOT_FOUND, "no such route");
		break;
	case 413:
		svc_error_set(&err, SVC_PAYLOAD_TOO_LARGE,
		    "request body exceeds the configured limit");
		break;
	case 414:
		svc_error_set(&err, SVC_URI_TOO_LONG,
		    "request line exceeds the configured limit");
		break;
	case 431:
		svc_error_set(&err, SVC_HEADERS_TOO_LARGE,
		    "request headers exceed the configured limit");
		break;
	case 503:
		/* Kore's http_request_limit: shed as the pipeline sheds. */
		svc_error_set(&err, SVC_UNAVAILABLE,
		    "server busy, retry later");
		admission_shed_count("request_limit");
		break;
	default:
		break;
	}

	kore_buf_appendf(hdrs, "content-type: %s\r\n", CT_JSON);
	kore_buf_appendf(hdrs, "x-request-id: %s\r\n", id);
	kore_buf_appendf(hdrs, "cache-control: no-store\r\n");

	if (he->status == 405 && he->methods != 0) {
		svc_allow_header(he->methods, allow, sizeof(allow));
		kore_buf_appendf(hdrs, "allow: %s\r\n", allow);
	}
	if (he->status == 429 || he->status == 503)
		kore_buf_appendf(hdrs, "retry-after: 1\r\n");

	svc_error_render(&err, id, body);

	method = kore_method_label(he->method);
	svc_log_request(id, method, "-", NULL, he->status, 0.0);
	metrics_request_end("-", method, he->status, 0.0);
}
