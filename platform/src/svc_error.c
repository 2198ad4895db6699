/*
 * svc_error.c - the contract's error codes, their HTTP status and the
 * error body renderer (pure: no I/O, unit-tested as is).
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "json_writer.h"
#include "svc_error.h"

static const struct {
	const char	*name;
	int		status;
} codes[SVC_CODE_MAX] = {
	[SVC_NONE] =			{ "internal", 500 },
	[SVC_VALIDATION_FAILED] =	{ "validation_failed", 400 },
	[SVC_MALFORMED_JSON] =		{ "malformed_json", 400 },
	[SVC_UNAUTHORIZED] =		{ "unauthorized", 401 },
	[SVC_NOT_FOUND] =		{ "not_found", 404 },
	[SVC_METHOD_NOT_ALLOWED] =	{ "method_not_allowed", 405 },
	[SVC_CONFLICT] =		{ "conflict", 409 },
	[SVC_INSUFFICIENT_STOCK] =	{ "insufficient_stock", 409 },
	[SVC_IDEMPOTENCY_CONFLICT] =	{ "idempotency_conflict", 409 },
	[SVC_PRECONDITION_FAILED] =	{ "precondition_failed", 412 },
	[SVC_PAYLOAD_TOO_LARGE] =	{ "payload_too_large", 413 },
	[SVC_URI_TOO_LONG] =		{ "uri_too_long", 414 },
	[SVC_HEADERS_TOO_LARGE] =	{ "headers_too_large", 431 },
	[SVC_UNSUPPORTED_MEDIA_TYPE] =	{ "unsupported_media_type", 415 },
	[SVC_UNKNOWN_CUSTOMER] =	{ "unknown_customer", 422 },
	[SVC_UNKNOWN_PRODUCT] =		{ "unknown_product", 422 },
	[SVC_RATE_LIMITED] =		{ "rate_limited", 429 },
	[SVC_UNAVAILABLE] =		{ "unavailable", 503 },
	[SVC_INTERNAL] =		{ "internal", 500 },
	[SVC_REQUEST_TIMEOUT] =		{ "request_timeout", 408 },
	[SVC_LENGTH_REQUIRED] =		{ "length_required", 411 },
	[SVC_HTTP_VERSION] =		{ "http_version_not_supported", 505 },
	[SVC_MISDIRECTED_REQUEST] =	{ "misdirected_request", 421 },
	[SVC_EXPECTATION_FAILED] =	{ "expectation_failed", 417 },
};

void
svc_error_init(struct svc_error *err)
{
	memset(err, 0, sizeof(*err));
}

void
svc_error_set(struct svc_error *err, enum svc_code code, const char *fmt, ...)
{
	va_list		args;

	if (code <= SVC_NONE || code >= SVC_CODE_MAX)
		code = SVC_INTERNAL;

	err->code = code;

	va_start(args, fmt);
	(void)vsnprintf(err->message, sizeof(err->message), fmt, args);
	va_end(args);
}

void
svc_error_detail(struct svc_error *err, const char *field,
    const char *fmt, ...)
{
	struct svc_error_detail	*d;
	va_list			args;

	if (err->ndetails >= SVC_ERROR_MAXDETAILS) {
		err->ndropped++;
		return;
	}

	d = &err->details[err->ndetails++];
	(void)snprintf(d->field, sizeof(d->field), "%s", field);

	va_start(args, fmt);
	(void)vsnprintf(d->problem, sizeof(d->problem), fmt, args);
	va_end(args);
}

int
svc_code_status(enum svc_code code)
{
	if (code <= SVC_NONE || code >= SVC_CODE_MAX)
		return (500);

	return (codes[code].status);
}

const char *
svc_code_name(enum svc_code code)
{
	if (code <= SVC_NONE || code >= SVC_CODE_MAX)
		return ("internal");

	return (codes[code].name);
}

enum svc_code
svc_code_from_status(int status)
{
	switch (status) {
	case 400:
		return (SVC_VALIDATION_FAILED);
	case 401:
	case 403:
		return (SVC_UNAUTHORIZED);
	case 404:
		return (SVC_NOT_FOUND);
	case 405:
		return (SVC_METHOD_NOT_ALLOWED);
	case 409:
		return (SVC_CONFLICT);
	case 412:
		return (SVC_PRECONDITION_FAILED);
	case 413:
		return (SVC_PAYLOAD_TOO_LARGE);
	case 414:
		return (SVC_URI_TOO_LONG);
	case 415:
		return (SVC_UNSUPPORTED_MEDIA_TYPE);
	case 429:
		return (SVC_RATE_LIMITED);
	case 431:
		return (SVC_HEADERS_TOO_LARGE);
	case 408:
		return (SVC_REQUEST_TIMEOUT);
	case 411:
		return (SVC_LENGTH_REQUIRED);
	case 422:
		return (SVC_VALIDATION_FAILED);
	case 505:
		return (SVC_HTTP_VERSION);
	case 421:
		return (SVC_MISDIRECTED_REQUEST);
	case 417:
		return (SVC_EXPECTATION_FAILED);
	case 502:
	case 503:
	case 504:
		return (SVC_UNAVAILABLE);
	default:
		return (SVC_INTERNAL);
	}
}

/* The message for errors whose own message is empty. */
static const char *
default_message(enum svc_code code)
{
	switch (code) {
	case SVC_VALIDATION_FAILED:
		return ("request failed validation");
	case SVC_MALFORMED_JSON:
		return ("request body is not valid JSON");
	case SVC_UNAUTHORIZED:
		return ("missing or invalid credentials");
	case SVC_NOT_FOUND:
		return ("not found");
	case SVC_METHOD_NOT_ALLOWED:
		return ("method not allowed");
	case SVC_CONFLICT:
		return ("conflict");
	case SVC_INSUFFICIENT_STOCK:
		return ("insufficient stock");
	case SVC_IDEMPOTENCY_CONFLICT:
		return ("idempotency key reused with another request");
	case SVC_PRECONDITION_FAILED:
		return ("precondition failed");
	case SVC_PAYLOAD_TOO_LARGE:
		return ("request body too large");
	case SVC_URI_TOO_LONG:
		return ("request URI too long");
	case SVC_HEADERS_TOO_LARGE:
		return ("request headers too large");
	case SVC_UNSUPPORTED_MEDIA_TYPE:
		return ("content type must be application/json");
	case SVC_UNKNOWN_CUSTOMER:
		return ("unknown customer");
	case SVC_UNKNOWN_PRODUCT:
		return ("unknown product");
	case SVC_RATE_LIMITED:
		return ("too many requests");
	case SVC_UNAVAILABLE:
		return ("service temporarily unavailable");
	case SVC_REQUEST_TIMEOUT:
		return ("request not received in time");
	case SVC_LENGTH_REQUIRED:
		return ("content-length required");
	case SVC_HTTP_VERSION:
		return ("HTTP version not supported");
	case SVC_MISDIRECTED_REQUEST:
		return ("the Host header does not name the TLS server name");
	case SVC_EXPECTATION_FAILED:
		return ("only Expect: 100-continue is supported");
	default:
		return ("internal error");
	}
}

void
svc_error_render(const struct svc_error *err, const char *request_id,
    struct kore_buf *buf)
{
	struct json_writer	jw;
	enum svc_code		code;
	const char		*msg;
	size_t			i;

	code = err->code;
	if (code <= SVC_NONE || code >= SVC_CODE_MAX)
		code = SVC_INTERNAL;

	/* Internal errors never carry their detail to the client. */
	if (code == SVC_INTERNAL || err->message[0] == '\0')
		msg = default_message(code);
	else
		msg = err->message;

	jw_init(&jw, buf);
	jw_object_open(&jw, NULL);
	jw_object_open(&jw, "error");
	jw_string(&jw, "code", svc_code_name(code));
	jw_string(&jw, "message", msg);
	jw_string(&jw, "request_id", request_id != NULL ? request_id : "-");

	if (code != SVC_INTERNAL &&
	    (err->ndetails > 0 || code == SVC_VALIDATION_FAILED)) {
		jw_array_open(&jw, "details");
		for (i = 0; i < err->ndetails; i++) {
			jw_object_open(&jw, NULL);
			jw_string(&jw, "field", err->details[i].field);
			jw_string(&jw, "problem", err->details[i].problem);
			jw_object_close(&jw);
		}
		if (err->ndropped > 0) {
			jw_object_open(&jw, NULL);
			jw_string(&jw, "field", "(more)");
			kore_buf_appendf(buf, ",\"problem\":\"%zu more "
			    "problems not listed\"", err->ndropped);
			jw_object_close(&jw);
		}
		jw_array_close(&jw);
	}

	jw_object_close(&jw);
	jw_object_close(&jw);
}
