/*
 * test_svc.c - the request pipeline (svc_begin, svc_respond_*,
 * svc_body_json) on real Kore request and connection structures: the
 * response bytes Kore queues on the connection are read back and checked.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "svc.h"

/* The `allow` lines of this test program's declaration. */
static const struct svc_grant	unit_grants[] = {
	{ "/inventory/:id", "caller-b" },
	{ "/x", " alpha  beta-2 gamma " },
	{ NULL, NULL }
};
#define UNIT_APP_AUTH	SVC_AUTH_SERVICE
#define UNIT_APP_GRANTS	unit_grants
#include "unit.h"

#include <kore/http.h>

#include "admission.h"
#include "auth.h"
#include "fmt.h"
#include "json.h"
#include "metrics.h"
#include "pipeline.h"
#include "ratelimit.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_log.h"

#define MAXHDR		8

static struct connection	conn;
static struct http_request	*req;
static struct http_header	hdrs[MAXHDR];
static int			nhdrs;
static int			logfds[2];
static char			resp[16384];

static const struct svc_route	r_item = {
	"/inventory/:id", HTTP_METHOD_GET | HTTP_METHOD_PUT,
	SVC_ROUTE_JSON_BODY
};

static const struct svc_route	r_operator = {
	"/audit", HTTP_METHOD_GET, 0
};

static const struct svc_route	r_probe = {
	"/healthz", HTTP_METHOD_GET, SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT
};

static const struct svc_route	r_platform = {
	"/readyz", HTTP_METHOD_GET,
	SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT | SVC_ROUTE_NO_ADMISSION
};

static const struct json_field	put_fields[] = {
	{ "quantity", JSON_INTEGER, JSON_REQUIRED, 0, INT64_MAX, NULL, NULL,
	    NULL },
};
static const struct json_schema	put_schema = JSON_SCHEMA(put_fields);

static void
setup(void)
{
	/* operator: tok-1; caller-b: tok-b (r_item's caller); caller-c: tok-c. */
	static const char	creds[] =
	    "operator "
	    "65dcf16ea3dfa49069628089eb4a75483070f5584b2a21ee64912b5f621f12da\n"
	    "caller-b "
	    "efa1cd32d437a4dd30463a379503cadfb2b13481660f6345110f3bde01f2e773\n"
	    "caller-c "
	    "1236183d37679658f9f22e86d74ca3bad0a8125f5d057d60e0337565f3ae4f89\n";
	struct auth_creds	c;
	char			err[64];

	ck_assert(auth_creds_parse(&c, creds, sizeof(creds) - 1, err,
	    sizeof(err)));

	net_init();
	http_init();
	ck_assert(metrics_init());
	ck_assert(ratelimit_init(64, 1000, 1000));
	auth_set_creds(&c);

	ck_assert_int_eq(pipe(logfds), 0);
	svc_log_set_fd(logfds[1]);
}

static void
teardown(void)
{
	svc_log_set_fd(STDOUT_FILENO);
	close(logfds[0]);
	close(logfds[1]);
	ratelimit_cleanup();
	metrics_cleanup();
}

static void
new_request(int method, const char *addr)
{
	memset(&conn, 0, sizeof(conn));
	conn.proto = CONN_PROTO_HTTP;
	conn.flags = CONN_IS_BUSY;	/* no http_start_recv() afterwards */
	conn.family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr,
	    &conn.addr.ipv4.sin_addr), 1);
	TAILQ_INIT(&conn.send_queue);

	req = kore_calloc(1, sizeof(*req));
	req->owner = &conn;
	req->method = method;
	req->http_body_fd = -1;
	TAILQ_INIT(&req->req_headers);
	TAILQ_INIT(&req->resp_headers);
	TAILQ_INIT(&req->req_cookies);
	TAILQ_INIT(&req->resp_cookies);
	TAILQ_INIT(&req->arguments);
	TAILQ_INIT(&req->files);
	nhdrs = 0;
}

static void
add_header(const char *name, const char *value)
{
	ck_assert_int_lt(nhdrs, MAXHDR);
	hdrs[nhdrs].header = (char *)(uintptr_t)name;
	hdrs[nhdrs].value = (char *)(uintptr_t)value;
	TAILQ_INSERT_TAIL(&req->req_headers, &hdrs[nhdrs], list);
	nhdrs++;
}

static void
set_body(const char *body)
{
	req->http_body = kore_buf_alloc(128);
	kore_buf_append(req->http_body, body, strlen(body));
	req->content_length = strlen(body);
}

/* What Kore would free: our onfree hook, the state, headers, body. */
static void
free_request(void)
{
	struct http_header	*h;
	struct netbuf		*nb;

	if (req->onfree != NULL)
		req->onfree(req);
	kore_free(req->hdlr_extra);
	while ((h = TAILQ_FIRST(&req->resp_headers)) != NULL) {
		TAILQ_REMOVE(&req->resp_headers, h, list);
		kore_free(h->header);
		kore_free(h->value);
		kore_pool_put(&http_header_pool, h);
	}
	if (req->http_body != NULL)
		kore_buf_free(req->http_body);
	kore_free(req);
	req = NULL;

	while ((nb = TAILQ_FIRST(&conn.send_queue)) != NULL)
		TAILQ_REMOVE(&conn.send_queue, nb, list);
}

/* The response Kore queued on the connection, as one string. */
static const char *
response(void)
{
	struct netbuf	*nb;
	size_t		off;

	off = 0;
	TAILQ_FOREACH(nb, &conn.send_queue, list) {
		ck_assert_uint_lt(off + nb->b_len, sizeof(resp));
		memcpy(resp + off, nb->buf, nb->b_len);
		off += nb->b_len;
	}
	resp[off] = '\0';

	return (resp);
}

static const char *
body_of(const char *r)
{
	const char	*b;

	b = strstr(r, "\r\n\r\n");
	ck_assert_ptr_nonnull(b);
	return (b + 4);
}

/* The value of a response header (static storage). */
static const char *
header_of(const char *r, const char *name)
{
	static char	val[256];
	char		pat[64];
	const char	*p, *e;

	(void)snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	if ((p = strstr(r, pat)) == NULL)
		return (NULL);
	p += strlen(pat);
	e = strstr(p, "\r\n");
	ck_assert_uint_lt((size_t)(e - p), sizeof(val));
	memcpy(val, p, e - p);
	val[e - p] = '\0';

	return (val);
}

static void
assert_error(const char *r, int status, const char *code)
{
	char		line[64];
	yajl_val	v;
	const char	*k_code[] = { "error", "code", NULL };
	const char	*k_rid[] = { "error", "request_id", NULL };

	(void)snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	ck_assert_msg(strncmp(r, line, strlen(line)) == 0, "got: %s", r);
	ck_assert_str_eq(header_of(r, "content-type"),
	    "application/json; charset=utf-8");

	v = yajl_tree_parse(body_of(r), NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(unit_str(v, k_code), code);
	ck_assert_str_eq(unit_str(v, k_rid), header_of(r, "x-request-id"));
	yajl_tree_free(v);
}

START_TEST(unauthorized)
{
	const char	*r;

	new_request(HTTP_METHOD_GET, "10.0.0.1");
	ck_assert_int_eq(svc_begin(req, &r_item), 0);
	r = response();
	assert_error(r, 401, "unauthorized");
	ck_assert_str_eq(header_of(r, "www-authenticate"), "Bearer");
	ck_assert(fmt_uuid(header_of(r, "x-request-id")));
	free_request();

	new_request(HTTP_METHOD_GET, "10.0.0.1");
	add_header("Authorization", "Bearer tok-2");
	ck_assert_int_eq(svc_begin(req, &r_item), 0);
	assert_error(response(), 401, "unauthorized");
	free_request();

	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/inventory/:id\",method=\"GET\",status=\"401\""), 2);
}
END_TEST

/* A new request with an Authorization header, through svc_begin(). */
static int
begin_with(int method, const char *bearer, const struct svc_route *route)
{
	new_request(method, "10.0.0.1");
	add_header("Authorization", bearer);
	return (svc_begin(req, route));
}

/* A known credential on a route that does not name it: 401 too. */
START_TEST(route_callers)
{
	char		log[2048];
	ssize_t		n;

	ck_assert_int_eq(begin_with(HTTP_METHOD_PUT, "Bearer tok-c", &r_item),
	    0);
	assert_error(response(), 401, "unauthorized");
	ck_assert_str_eq(svc_req(req)->caller, "caller-c");
	free_request();
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/inventory/:id\",method=\"PUT\",status=\"401\""), 1);

	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-b", &r_item),
	    1);
	ck_assert_str_eq(svc_req(req)->caller, "caller-b");
	svc_respond_status(req, 204);
	free_request();

	/* The operator on every route, also on one that names nobody. */
	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-1",
	    &r_operator), 1);
	svc_respond_status(req, 204);
	free_request();
	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-b",
	    &r_operator), 0);
	assert_error(response(), 401, "unauthorized");
	free_request();

	/* The caller's name in the request lines, never its token. */
	n = read(logfds[0], log, sizeof(log) - 1);
	ck_assert_int_gt(n, 0);
	log[n] = '\0';
	ck_assert_ptr_nonnull(strstr(log, "\"status\":401,"));
	ck_assert_ptr_nonnull(strstr(log, "\"caller\":\"caller-c\"}"));
	ck_assert_ptr_nonnull(strstr(log, "\"caller\":\"caller-b\"}"));
	ck_assert_ptr_nonnull(strstr(log, "\"caller\":\"operator\"}"));
	ck_assert_ptr_null(strstr(log, "tok-"));
}
END_TEST

/*
 * At capacity (one running, none may wait): the next request is shed at
 * once, 503 in the contract's shape with Retry-After, counted; the
 * platform's routes are still answered; an answer frees the place.
 */
START_TEST(shed_at_capacity)
{
	struct http_request	*first;
	const char		*r;

	admission_config.limit = 1;
	admission_config.queue = 0;

	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-1", &r_item),
	    1);
	first = req;
	ck_assert_int_eq(admission_running(), 1);

	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-1", &r_item),
	    0);
	ck_assert_int_eq(svc_stopped(req), KORE_RESULT_OK);
	r = response();
	assert_error(r, 503, "unavailable");
	ck_assert_str_eq(header_of(r, "retry-after"), "1");
	free_request();
	ck_assert_int_eq(metrics_value("admission_shed_total",
	    "reason=\"queue_full\""), 1);
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/inventory/:id\",method=\"GET\",status=\"503\""), 1);

	new_request(HTTP_METHOD_GET, "10.0.0.1");
	ck_assert_int_eq(svc_begin(req, &r_platform), 1);
	svc_respond_status(req, 200);
	free_request();

	/* Checks come first: a bad credential is still a 401. */
	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer nope", &r_item),
	    0);
	assert_error(response(), 401, "unauthorized");
	free_request();

	req = first;
	svc_respond_status(req, 204);
	free_request();
	ck_assert_int_eq(admission_running(), 0);

	ck_assert_int_eq(begin_with(HTTP_METHOD_GET, "Bearer tok-1", &r_item),
	    1);
	free_request();		/* gone unanswered (499): the place too */
	ck_assert_int_eq(admission_running(), 0);
}
END_TEST

START_TEST(caller_lists)
{
	static const struct svc_route	r = {
		"/x", HTTP_METHOD_GET, 0
	};

	ck_assert(svc_caller_allowed(&r, "alpha"));
	ck_assert(svc_caller_allowed(&r, "beta-2"));
	ck_assert(svc_caller_allowed(&r, "gamma"));
	ck_assert(svc_caller_allowed(&r, SVC_OPERATOR));
	ck_assert(!svc_caller_allowed(&r, "beta"));
	ck_assert(!svc_caller_allowed(&r, "alph"));
	ck_assert(!svc_caller_allowed(&r, "alphabeta"));
	ck_assert(!svc_caller_allowed(&r, "gamma "));
	ck_assert(!svc_caller_allowed(&r, ""));
	ck_assert(!svc_caller_allowed(&r, NULL));
	ck_assert(!svc_caller_allowed(&r_operator, "alpha"));
	ck_assert(svc_caller_allowed(&r_operator, SVC_OPERATOR));
}
END_TEST

START_TEST(success_path)
{
	struct kore_buf	b;
	const char	*r;
	char		log[2048];
	ssize_t		n;

	new_request(HTTP_METHOD_GET, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	add_header("x-request-id", "client.Req_1-2");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	ck_assert_str_eq(svc_request_id(req), "client.Req_1-2");
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 1);

	/* Idempotent: the state-machine re-entry does nothing again. */
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 1);

	kore_buf_init(&b, 64);
	kore_buf_appendf(&b, "{\"ok\":true}");
	http_response_header(req, "etag", "\"3\"");
	svc_respond_json(req, 200, &b);
	kore_buf_cleanup(&b);

	r = response();
	ck_assert(strncmp(r, "HTTP/1.1 200 ", 13) == 0);
	ck_assert_str_eq(header_of(r, "content-type"),
	    "application/json; charset=utf-8");
	ck_assert_str_eq(header_of(r, "x-request-id"), "client.Req_1-2");
	ck_assert_str_eq(header_of(r, "etag"), "\"3\"");
	ck_assert_str_eq(body_of(r), "{\"ok\":true}");
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 0);
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/inventory/:id\",method=\"GET\",status=\"200\""), 1);

	/* A second answer is refused, nothing more is queued. */
	svc_respond_status(req, 500);
	ck_assert_str_eq(response(), r);
	free_request();

	/* One request line, plus the error line about the second answer. */
	n = read(logfds[0], log, sizeof(log) - 1);
	ck_assert_int_gt(n, 0);
	log[n] = '\0';
	ck_assert_ptr_nonnull(strstr(log, "\"request_id\":\"client.Req_1-2\","
	    "\"method\":\"GET\",\"route\":\"/inventory/:id\",\"status\":200"));
	ck_assert_ptr_nonnull(strstr(log, "second response (500) suppressed"));
	ck_assert_ptr_null(strstr(log, "tok-1"));

	/* A malformed incoming id is replaced. */
	new_request(HTTP_METHOD_GET, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	add_header("x-request-id", "bad id");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	ck_assert(fmt_uuid(svc_request_id(req)));
	svc_respond_status(req, 204);
	r = response();
	ck_assert(strncmp(r, "HTTP/1.1 204 ", 13) == 0);
	ck_assert(fmt_uuid(header_of(r, "x-request-id")));
	free_request();
}
END_TEST

START_TEST(method_not_allowed)
{
	const char	*r;

	new_request(HTTP_METHOD_DELETE, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 0);
	r = response();
	assert_error(r, 405, "method_not_allowed");
	ck_assert_str_eq(header_of(r, "allow"), "GET, HEAD, PUT");
	free_request();

	/* HEAD rides on GET. */
	new_request(HTTP_METHOD_HEAD, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	free_request();
}
END_TEST

static const struct {
	const char	*ct;
	int		ok;
} ctypes[] = {
	{ NULL, 1 },
	{ "application/json", 1 },
	{ "application/json; charset=utf-8", 1 },
	{ "Application/JSON;charset=\"UTF-8\"", 1 },
	{ "application/json ; charset=utf8", 1 },
	{ "application/json; charset=iso-8859-1", 0 },
	{ "text/plain", 0 },
	{ "application/jsonx", 0 },
	{ "application/x-www-form-urlencoded", 0 },
	{ "", 0 },
};

START_TEST(content_types)
{
	int		r;

	new_request(HTTP_METHOD_PUT, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	if (ctypes[_i].ct != NULL)
		add_header("content-type", ctypes[_i].ct);

	r = svc_begin(req, &r_item);
	ck_assert_msg(r == ctypes[_i].ok, "content-type '%s'", ctypes[_i].ct);
	if (!r)
		assert_error(response(), 415, "unsupported_media_type");
	free_request();

	/* GET ignores a content type. */
	new_request(HTTP_METHOD_GET, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	add_header("content-type", "text/plain");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	free_request();
}
END_TEST

START_TEST(rate_limited)
{
	const char	*r;

	ratelimit_cleanup();
	ck_assert(ratelimit_init(64, 1, 2));

	new_request(HTTP_METHOD_GET, "10.0.0.7");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	free_request();

	/* Rate limiting comes before auth: no token needed to be refused. */
	new_request(HTTP_METHOD_GET, "10.0.0.7");
	ck_assert_int_eq(svc_begin(req, &r_item), 0);
	assert_error(response(), 401, "unauthorized");
	free_request();

	new_request(HTTP_METHOD_GET, "10.0.0.7");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 0);
	r = response();
	assert_error(r, 429, "rate_limited");
	ck_assert_str_eq(header_of(r, "retry-after"), "1");
	free_request();
	ck_assert_int_eq(metrics_value("rate_limit_rejections_total", NULL),
	    1);

	/* Probes are not rate-limited and need no credentials. */
	new_request(HTTP_METHOD_GET, "10.0.0.7");
	ck_assert_int_eq(svc_begin(req, &r_probe), 1);
	free_request();

	/* Another client is not affected. */
	new_request(HTTP_METHOD_GET, "10.0.0.8");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	free_request();
}
END_TEST

START_TEST(body_json)
{
	struct json_value	*v;
	int64_t			q;
	yajl_val		y;
	const char		*k_f[] = { "field", NULL };
	const char		*k_det[] = { "error", "details", NULL };

	new_request(HTTP_METHOD_PUT, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	set_body("{\"quantity\":5}");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	v = svc_body_json(req, &put_schema);
	ck_assert_ptr_nonnull(v);
	ck_assert(json_get_int(v, "quantity", &q));
	ck_assert_int_eq(q, 5);
	json_free(v);
	ck_assert_str_eq(response(), "");
	free_request();

	new_request(HTTP_METHOD_PUT, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	set_body("{\"quantity\":-1,\"q\":1}");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	ck_assert_ptr_null(svc_body_json(req, &put_schema));
	assert_error(response(), 400, "validation_failed");
	y = yajl_tree_parse(body_of(response()), NULL, 0);
	ck_assert_uint_eq(YAJL_GET_ARRAY(yajl_tree_get(y, k_det,
	    yajl_t_array))->len, 2);
	ck_assert_str_eq(unit_str(YAJL_GET_ARRAY(yajl_tree_get(y, k_det,
	    yajl_t_array))->values[0], k_f), "quantity");
	yajl_tree_free(y);
	free_request();

	new_request(HTTP_METHOD_PUT, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	ck_assert_ptr_null(svc_body_json(req, &put_schema));
	assert_error(response(), 400, "malformed_json");
	free_request();
}
END_TEST

START_TEST(unanswered_request)
{
	char		log[2048];
	ssize_t		n;
	int		*state;

	new_request(HTTP_METHOD_GET, "10.0.0.1");
	add_header("authorization", "Bearer tok-1");
	ck_assert_int_eq(svc_begin(req, &r_item), 1);
	state = svc_app_state(req, sizeof(*state), NULL);
	*state = 42;
	ck_assert_ptr_eq(svc_app_state(req, sizeof(*state), NULL), state);
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 1);

	/* The client went away: Kore frees the request unanswered. */
	free_request();
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 0);
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/inventory/:id\",method=\"GET\",status=\"499\""), 1);

	n = read(logfds[0], log, sizeof(log) - 1);
	ck_assert_int_gt(n, 0);
	log[n] = '\0';
	ck_assert_ptr_nonnull(strstr(log, "\"status\":499"));
}
END_TEST

START_TEST(helpers)
{
	char		allow[64];

	svc_allow_header(HTTP_METHOD_POST, allow, sizeof(allow));
	ck_assert_str_eq(allow, "POST");
	svc_allow_header(HTTP_METHOD_ALL, allow, sizeof(allow));
	ck_assert_str_eq(allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	svc_allow_header(HTTP_METHOD_ALL, allow, 10);
	ck_assert_uint_lt(strlen(allow), 10);

	ck_assert_str_eq(svc_method_name(HTTP_METHOD_PATCH), "PATCH");
	ck_assert_str_eq(svc_method_name(0), "OTHER");
}
END_TEST

static Suite *
svc_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("svc");
	tc = tcase_create("pipeline");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unauthorized);
	tcase_add_test(tc, route_callers);
	tcase_add_test(tc, caller_lists);
	tcase_add_test(tc, success_path);
	tcase_add_test(tc, method_not_allowed);
	tcase_add_test(tc, shed_at_capacity);
	tcase_add_loop_test(tc, content_types, 0,
	    sizeof(ctypes) / sizeof(ctypes[0]));
	tcase_add_test(tc, rate_limited);
	tcase_add_test(tc, body_json);
	tcase_add_test(tc, unanswered_request);
	tcase_add_test(tc, helpers);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(svc_suite()));
}
