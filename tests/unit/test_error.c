/*
 * test_error.c - error codes, their status, the rendered body and the
 * hook that renders the errors Kore's HTTP layer raises.
 */

#include <unistd.h>

#include "unit.h"

#include <kore/http.h>

#include "fmt.h"
#include "metrics.h"
#include "respond.h"
#include "svc_error.h"
#include "svc_log.h"

static const struct {
	enum svc_code	code;
	int		status;
	const char	*name;
} table[] = {
	{ SVC_VALIDATION_FAILED, 400, "validation_failed" },
	{ SVC_MALFORMED_JSON, 400, "malformed_json" },
	{ SVC_UNAUTHORIZED, 401, "unauthorized" },
	{ SVC_NOT_FOUND, 404, "not_found" },
	{ SVC_METHOD_NOT_ALLOWED, 405, "method_not_allowed" },
	{ SVC_CONFLICT, 409, "conflict" },
	{ SVC_INSUFFICIENT_STOCK, 409, "insufficient_stock" },
	{ SVC_IDEMPOTENCY_CONFLICT, 409, "idempotency_conflict" },
	{ SVC_PRECONDITION_FAILED, 412, "precondition_failed" },
	{ SVC_PAYLOAD_TOO_LARGE, 413, "payload_too_large" },
	{ SVC_URI_TOO_LONG, 414, "uri_too_long" },
	{ SVC_HEADERS_TOO_LARGE, 431, "headers_too_large" },
	{ SVC_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type" },
	{ SVC_UNKNOWN_CUSTOMER, 422, "unknown_customer" },
	{ SVC_UNKNOWN_PRODUCT, 422, "unknown_product" },
	{ SVC_RATE_LIMITED, 429, "rate_limited" },
	{ SVC_UNAVAILABLE, 503, "unavailable" },
	{ SVC_INTERNAL, 500, "internal" },
};

START_TEST(code_status)
{
	ck_assert_int_eq(svc_code_status(table[_i].code), table[_i].status);
	ck_assert_str_eq(svc_code_name(table[_i].code), table[_i].name);
}
END_TEST

START_TEST(status_to_code)
{
	ck_assert_int_eq(svc_code_from_status(404), SVC_NOT_FOUND);
	ck_assert_int_eq(svc_code_from_status(405), SVC_METHOD_NOT_ALLOWED);
	ck_assert_int_eq(svc_code_from_status(413), SVC_PAYLOAD_TOO_LARGE);
	ck_assert_int_eq(svc_code_from_status(414), SVC_URI_TOO_LONG);
	ck_assert_int_eq(svc_code_from_status(431), SVC_HEADERS_TOO_LARGE);
	ck_assert_int_eq(svc_code_from_status(503), SVC_UNAVAILABLE);
	ck_assert_int_eq(svc_code_from_status(408), SVC_REQUEST_TIMEOUT);
	ck_assert_int_eq(svc_code_from_status(500), SVC_INTERNAL);
	ck_assert_int_eq(svc_code_from_status(599), SVC_INTERNAL);
	ck_assert_int_eq(svc_code_status(SVC_NONE), 500);
	ck_assert_int_eq(svc_code_status((enum svc_code)999), 500);
}
END_TEST

START_TEST(render_validation)
{
	struct svc_error	err;
	struct kore_buf		b;
	yajl_val		v, d, e;
	const char		*code[] = { "error", "code", NULL };
	const char		*msg[] = { "error", "message", NULL };
	const char		*rid[] = { "error", "request_id", NULL };
	const char		*det[] = { "error", "details", NULL };
	const char		*f[] = { "field", NULL };
	const char		*p[] = { "problem", NULL };

	svc_error_init(&err);
	svc_error_detail(&err, "items[0].quantity", "must be between %d "
	    "and %d", 1, 1000);
	svc_error_detail(&err, "na\"me", "bad \"quote\"\n");
	svc_error_set(&err, SVC_VALIDATION_FAILED, "request failed");

	kore_buf_init(&b, 256);
	svc_error_render(&err, "req-1", &b);
	v = unit_json(&b);

	/* Only "error" at the top, and exactly the four members. */
	ck_assert_uint_eq(YAJL_GET_OBJECT(v)->len, 1);
	e = yajl_tree_get(v, (const char *[]){ "error", NULL },
	    yajl_t_object);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(YAJL_GET_OBJECT(e)->len, 4);

	ck_assert_str_eq(unit_str(v, code), "validation_failed");
	ck_assert_str_eq(unit_str(v, msg), "request failed");
	ck_assert_str_eq(unit_str(v, rid), "req-1");
	d = yajl_tree_get(v, det, yajl_t_array);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(YAJL_GET_ARRAY(d)->len, 2);
	ck_assert_str_eq(unit_str(YAJL_GET_ARRAY(d)->values[0], f),
	    "items[0].quantity");
	ck_assert_str_eq(unit_str(YAJL_GET_ARRAY(d)->values[0], p),
	    "must be between 1 and 1000");
	ck_assert_str_eq(unit_str(YAJL_GET_ARRAY(d)->values[1], f),
	    "na\"me");
	ck_assert_str_eq(unit_str(YAJL_GET_ARRAY(d)->values[1], p),
	    "bad \"quote\"\n");

	yajl_tree_free(v);
	kore_buf_cleanup(&b);
}
END_TEST

START_TEST(render_plain_and_internal)
{
	struct svc_error	err;
	struct kore_buf		b;

	kore_buf_init(&b, 256);

	svc_error_init(&err);
	svc_error_set(&err, SVC_NOT_FOUND, "no customer %s", "abc");
	svc_error_render(&err, "r", &b);
	ck_assert_str_eq(unit_cstr(&b), "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no customer abc\",\"request_id\":\"r\"}}");
	kore_buf_reset(&b);

	/* Internal: the message (maybe SQL text) never reaches the client. */
	svc_error_init(&err);
	svc_error_set(&err, SVC_INTERNAL, "ERROR: relation \"x\" missing");
	svc_error_detail(&err, "sql", "SELECT secret");
	svc_error_render(&err, "r", &b);
	ck_assert_str_eq(unit_cstr(&b), "{\"error\":{\"code\":\"internal\","
	    "\"message\":\"internal error\",\"request_id\":\"r\"}}");
	kore_buf_reset(&b);

	/* An unset error renders as internal, never as an empty body. */
	svc_error_init(&err);
	svc_error_render(&err, NULL, &b);
	ck_assert_str_eq(unit_cstr(&b), "{\"error\":{\"code\":\"internal\","
	    "\"message\":\"internal error\",\"request_id\":\"-\"}}");
	kore_buf_reset(&b);

	/* Details on a non-validation code (insufficient stock per item). */
	svc_error_init(&err);
	svc_error_set(&err, SVC_INSUFFICIENT_STOCK, "not enough stock");
	svc_error_detail(&err, "items[1]", "only 3 available");
	svc_error_render(&err, "r", &b);
	ck_assert_str_eq(unit_cstr(&b), "{\"error\":{\"code\":"
	    "\"insufficient_stock\",\"message\":\"not enough stock\","
	    "\"request_id\":\"r\",\"details\":[{\"field\":\"items[1]\","
	    "\"problem\":\"only 3 available\"}]}}");

	kore_buf_cleanup(&b);
}
END_TEST

START_TEST(detail_overflow)
{
	struct svc_error	err;
	struct kore_buf		b;
	yajl_val		v, d;
	const char		*det[] = { "error", "details", NULL };
	int			i;

	svc_error_init(&err);
	for (i = 0; i < SVC_ERROR_MAXDETAILS + 5; i++)
		svc_error_detail(&err, "f", "p%d", i);
	svc_error_set(&err, SVC_VALIDATION_FAILED, "x");
	ck_assert_uint_eq(err.ndetails, SVC_ERROR_MAXDETAILS);
	ck_assert_uint_eq(err.ndropped, 5);

	kore_buf_init(&b, 4096);
	svc_error_render(&err, "r", &b);
	v = unit_json(&b);
	d = yajl_tree_get(v, det, yajl_t_array);
	ck_assert_uint_eq(YAJL_GET_ARRAY(d)->len, SVC_ERROR_MAXDETAILS + 1);
	yajl_tree_free(v);
	kore_buf_cleanup(&b);

	/* Long field and problem texts are cut, not overflowed. */
	svc_error_init(&err);
	{
		char	big[1000];

		memset(big, 'z', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		svc_error_detail(&err, big, "%s", big);
		svc_error_set(&err, SVC_CONFLICT, "%s", big);
	}
	ck_assert_uint_eq(strlen(err.details[0].field),
	    SVC_ERROR_FIELDLEN - 1);
	ck_assert_uint_eq(strlen(err.details[0].problem),
	    SVC_ERROR_PROBLEMLEN - 1);
	ck_assert_uint_eq(strlen(err.message), SVC_ERROR_MSGLEN - 1);
}
END_TEST

/* The Kore-layer hook: shape, headers, request id, log line, metrics. */
START_TEST(kore_hook)
{
	struct http_error	he;
	struct kore_buf		hdrs, body;
	yajl_val		v;
	const char		*code[] = { "error", "code", NULL };
	const char		*rid[] = { "error", "request_id", NULL };
	int			fds[2];
	char			line[1024];
	ssize_t			n;

	ck_assert(metrics_init());
	ck_assert_int_eq(pipe(fds), 0);
	svc_log_set_fd(fds[1]);

	memset(&he, 0, sizeof(he));
	he.status = 413;
	he.method = "POST";
	he.path = "/orders";
	he.request_id = "client-id.1";
	kore_buf_init(&hdrs, 128);
	kore_buf_init(&body, 128);
	svc_kore_error(NULL, &he, &hdrs, &body);

	ck_assert_ptr_nonnull(strstr(unit_cstr(&hdrs),
	    "content-type: application/json; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(unit_cstr(&hdrs),
	    "x-request-id: client-id.1\r\n"));
	v = unit_json(&body);
	ck_assert_str_eq(unit_str(v, code), "payload_too_large");
	ck_assert_str_eq(unit_str(v, rid), "client-id.1");
	yajl_tree_free(v);

	n = read(fds[0], line, sizeof(line) - 1);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_ptr_nonnull(strstr(line, "\"request_id\":\"client-id.1\""));
	ck_assert_ptr_nonnull(strstr(line, "\"status\":413"));
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"-\",method=\"POST\",status=\"413\""), 1);

	/* A hostile id and method: a generated id, method label OTHER. */
	kore_buf_reset(&hdrs);
	kore_buf_reset(&body);
	he.status = 405;
	he.method = "EVIL\"METHOD";
	he.request_id = "bad id\r\n";
	he.methods = HTTP_METHOD_GET | HTTP_METHOD_PUT;
	svc_kore_error(NULL, &he, &hdrs, &body);
	ck_assert_ptr_nonnull(strstr(unit_cstr(&hdrs),
	    "allow: GET, HEAD, PUT\r\n"));
	ck_assert_ptr_null(strstr(unit_cstr(&hdrs), "bad id"));
	v = unit_json(&body);
	ck_assert_str_eq(unit_str(v, code), "method_not_allowed");
	ck_assert(fmt_uuid(unit_str(v, rid)));
	yajl_tree_free(v);
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"-\",method=\"OTHER\",status=\"405\""), 1);

	/* 503 (request limit) carries Retry-After; 400 carries details. */
	kore_buf_reset(&hdrs);
	kore_buf_reset(&body);
	he.status = 503;
	he.request_id = NULL;
	svc_kore_error(NULL, &he, &hdrs, &body);
	ck_assert_ptr_nonnull(strstr(unit_cstr(&hdrs), "retry-after: 1\r\n"));
	v = unit_json(&body);
	ck_assert_str_eq(unit_str(v, code), "unavailable");
	yajl_tree_free(v);

	kore_buf_reset(&hdrs);
	kore_buf_reset(&body);
	he.status = 400;
	svc_kore_error(NULL, &he, &hdrs, &body);
	ck_assert_ptr_nonnull(strstr(unit_cstr(&body),
	    "\"details\":[{\"field\":\"request\""));

	kore_buf_cleanup(&hdrs);
	kore_buf_cleanup(&body);
	svc_log_set_fd(STDOUT_FILENO);
	close(fds[0]);
	close(fds[1]);
	metrics_cleanup();
}
END_TEST

static Suite *
error_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("error");
	tc = tcase_create("codes");
	tcase_add_loop_test(tc, code_status, 0,
	    sizeof(table) / sizeof(table[0]));
	tcase_add_test(tc, status_to_code);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, render_validation);
	tcase_add_test(tc, render_plain_and_internal);
	tcase_add_test(tc, detail_overflow);
	tcase_add_test(tc, kore_hook);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(error_suite()));
}
