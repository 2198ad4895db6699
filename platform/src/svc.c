/*
 * svc.c - the service descriptor's glue to Kore (configuration hooks) and
 * the per-request pipeline: request id -> rate limit -> auth -> method ->
 * content type, then the handler.
 */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "auth.h"
#include "fmt.h"
#include "json.h"
#include "metrics.h"
#include "ratelimit.h"
#include "svc.h"
#include "svc_log.h"
#include "svc_int.h"
#include "tlsmem.h"

/* Our own identity for upstream calls; the only raw token we hold. */
static char	svc_identity[AUTH_SECRET_MAX];

/*
 * Randomness for request ids: one getrandom(2) per 16 ids instead of one
 * per request.  Per process, emptied in every new worker (after fork), so
 * no two workers ever share bytes.
 */
static u_int8_t	reqid_pool[256];
static size_t	reqid_left;

/* The timer that writes a worker's pending request lines (svc_log.h). */
static struct kore_timer	*log_timer;

static void	svc_req_onfree(struct http_request *);
static u_int32_t	env_u32(const char *, u_int32_t);
static void	load_secret(const char *, char *, size_t);
static void	load_creds(void);
static void	svc_log_loop(void);
static void	svc_log_due(void *, u_int64_t);

/*
 * Parent, before the workers fork (and before any chroot): read the
 * environment and the secrets, map the shared tables.
 */
void
kore_parent_configure(int argc, char **argv)
{
	u_int32_t	rate, burst, slots;

	(void)argc;
	(void)argv;

	svc_log_init(svc_decl.name, SVC_LOG_INFO);

	if (!tlsmem_installed()) {
		svc_log(SVC_LOG_WARN, NULL, "TLS record buffers are not "
		    "reused: OpenSSL allocated before tlsmem was installed");
	}

	rate = env_u32("RATE_LIMIT_RATE", svc_decl.default_rate);
	burst = env_u32("RATE_LIMIT_BURST", svc_decl.default_burst);
	slots = env_u32("RATE_LIMIT_SLOTS", RATELIMIT_SLOTS_DEFAULT);

	if (svc_decl.auth != SVC_AUTH_NONE)
		load_creds();
	load_secret("IDENTITY_TOKEN_FILE", svc_identity, sizeof(svc_identity));

	if (!ratelimit_init(slots, rate, burst))
		fatal("cannot map the rate limit table: %s", errno_s);
	if (!metrics_init())
		fatal("cannot map the metrics table: %s", errno_s);

	http_error_hook = svc_kore_error;

	svc_log(SVC_LOG_INFO, NULL, "configured: rate limit %u/s burst %u "
	    "(%u addresses)", rate, burst, slots);

	if (svc_app.parent_init != NULL)
		svc_app.parent_init();
}

void
kore_worker_configure(void)
{
	int		id;

	id = worker != NULL ? worker->id : 0;

	svc_log_set_worker(id);
	metrics_set_proc((u_int32_t)id);
	http_error_hook = svc_kore_error;

	/* Never the parent's bytes (it has none, but a fork copies them). */
	reqid_left = 0;

	/* Request log lines: one write per batch (svc_log_loop). */
	svc_log_batch();
	kore_worker_loop_hook = svc_log_loop;

	if (svc_app.worker_init != NULL)
		svc_app.worker_init();
}

/*
 * End of every event loop iteration: lines wait in the batch, so make sure
 * the worker wakes to write them within SVC_LOG_BATCH_MS, even when it has
 * nothing else to do.
 */
static void
svc_log_loop(void)
{
	if (log_timer == NULL && svc_log_pending()) {
		log_timer = kore_timer_add(svc_log_due, SVC_LOG_BATCH_MS, NULL,
		    KORE_TIMER_ONESHOT);
	}
}

static void
svc_log_due(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;

	log_timer = NULL;		/* Kore frees the oneshot timer */
	svc_log_flush();
}

static u_int32_t
env_u32(const char *name, u_int32_t def)
{
	const char	*v;
	char		*ep;
	unsigned long	ul;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);

	errno = 0;
	ul = strtoul(v, &ep, 10);
	if (errno != 0 || *ep != '\0' || ul > 0xffffffffUL || *v == '-')
		fatal("%s: not a number: '%s'", name, v);

	return ((u_int32_t)ul);
}

/* An optional secret file named by env; unreadable is fatal. */
static void
load_secret(const char *env, char *out, size_t len)
{
	const char	*path, *errstr;

	out[0] = '\0';

	if ((path = getenv(env)) == NULL || *path == '\0')
		return;

	/* The reason only, never the content. */
	if (!auth_secret_read(path, out, len, &errstr))
		fatal("%s (%s): %s", env, path, errstr);
}

/* The digests of what the service accepts (auth.h); fatal if none. */
static void
load_creds(void)
{
	struct auth_creds	*creds;
	const char		*path;
	char			err[128];

	if ((path = getenv("CREDENTIALS_FILE")) == NULL || *path == '\0')
		fatal("CREDENTIALS_FILE is not set");

	creds = kore_calloc(1, sizeof(*creds));
	if (!auth_creds_read(creds, path, err, sizeof(err)))
		fatal("CREDENTIALS_FILE (%s): %s", path, err);
	auth_set_creds(creds);
	svc_log(SVC_LOG_INFO, NULL, "%zu credentials accepted", creds->n);
	kore_free(creds);
}

const char *
svc_identity_token(void)
{
	return (svc_identity[0] != '\0' ? svc_identity : NULL);
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

/* The request's platform state, created on first use. */
struct svc_req *
svc_req_ensure(struct http_request *req)
{
	struct svc_req	*sr;
	const char	*hdr;

	if (req->hdlr_extra != NULL)
		return (req->hdlr_extra);

	sr = http_state_create(req, sizeof(*sr), svc_req_onfree);
	(void)clock_gettime(CLOCK_MONOTONIC, &sr->start);

	if (http_request_header(req, "x-request-id", &hdr) &&
	    fmt_request_id(hdr)) {
		(void)kore_strlcpy(sr->request_id, hdr,
		    sizeof(sr->request_id));
	} else if (!svc_request_id_new(sr->request_id,
	    sizeof(sr->request_id))) {
		fatal("no randomness for a request id");
	}

	metrics_request_begin();
	sr->in_flight = 1;

	return (sr);
}

/* A new v4 UUID as request id, from the pool. */
int
svc_request_id_new(char *out, size_t len)
{
	size_t		off;
	ssize_t		r;

	if (reqid_left < 16) {
		for (off = 0; off < sizeof(reqid_pool); off += (size_t)r) {
			r = getrandom(reqid_pool + off,
			    sizeof(reqid_pool) - off, 0);
			if (r == -1) {
				if (errno == EINTR) {
					r = 0;
					continue;
				}
				return (0);
			}
		}
		reqid_left = sizeof(reqid_pool);
	}

	reqid_left -= 16;
	fmt_uuid_format(reqid_pool + reqid_left, 4, out, len);

	return (1);
}

struct svc_req *
svc_req(struct http_request *req)
{
	return (req->hdlr_extra);
}

const char *
svc_request_id(struct http_request *req)
{
	struct svc_req	*sr;

	if ((sr = req->hdlr_extra) == NULL)
		return ("-");

	return (sr->request_id);
}

void *
svc_app_state(struct http_request *req, size_t len, void (*cleanup)(void *))
{
	struct svc_req	*sr;

	sr = svc_req_ensure(req);
	if (sr->app == NULL) {
		sr->app = kore_calloc(1, len);
		sr->app_cleanup = cleanup;
	}

	return (sr->app);
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

/*
 * Kore frees req->hdlr_extra itself after this; we release what hangs
 * off it and close the books on a request that was never answered
 * (the client went away while it waited).
 */
static void
svc_req_onfree(struct http_request *req)
{
	struct svc_req	*sr;

	if ((sr = req->hdlr_extra) == NULL)
		return;

	if (sr->app != NULL) {
		if (sr->app_cleanup != NULL)
			sr->app_cleanup(sr->app);
		kore_free(sr->app);
		sr->app = NULL;
	}

	if (!sr->responded)
		svc_finish(req, 499);

	if (sr->in_flight) {
		metrics_request_leave();
		sr->in_flight = 0;
	}
}

/* The request's one log line and its metrics. */
void
svc_finish(struct http_request *req, int status)
{
	struct svc_req	*sr;
	struct timespec	now;
	double		secs;
	const char	*route, *method;

	sr = svc_req_ensure(req);
	sr->responded = 1;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - sr->start.tv_sec) +
	    (double)(now.tv_nsec - sr->start.tv_nsec) / 1e9;
	if (secs < 0)
		secs = 0;

	route = sr->route != NULL ? sr->route->name : "-";
	method = svc_method_name(req->method);

	svc_log_request(sr->request_id, method, route, sr->caller, status,
	    secs * 1000.0);
	metrics_request_end(route, method, status, secs);

	if (sr->in_flight) {
		metrics_request_leave();
		sr->in_flight = 0;
	}
}

const char *
svc_method_name(int m)
{
	switch (m) {
	case HTTP_METHOD_GET:
		return ("GET");
	case HTTP_METHOD_POST:
		return ("POST");
	case HTTP_METHOD_PUT:
		return ("PUT");
	case HTTP_METHOD_DELETE:
		return ("DELETE");
	case HTTP_METHOD_HEAD:
		return ("HEAD");
	case HTTP_METHOD_OPTIONS:
		return ("OPTIONS");
	case HTTP_METHOD_PATCH:
		return ("PATCH");
	default:
		return ("OTHER");
	}
}

void
svc_allow_header(int methods, char *buf, size_t len)
{
	static const int	order[] = {
		HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST,
		HTTP_METHOD_PUT, HTTP_METHOD_PATCH, HTTP_METHOD_DELETE,
		HTTP_METHOD_OPTIONS
	};
	size_t			i, off;

	if (len == 0)
		return;
	buf[0] = '\0';
	off = 0;

	/* A GET route answers HEAD too. */
	if (methods & HTTP_METHOD_GET)
		methods |= HTTP_METHOD_HEAD;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(methods & order[i]))
			continue;
		if (off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off > 0 ? ", " : "", svc_method_name(order[i]));
	}
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

int
svc_begin(struct http_request *req, const struct svc_route *route)
{
	struct svc_req		*sr;
	struct svc_error	err;
	const char		*hdr, *caller;
	u_int32_t		retry;
	int			methods;

	sr = svc_req_ensure(req);
	if (sr->begun)
		return (!sr->responded);

	sr->begun = 1;
	sr->route = route;

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
		svc_error_init(&err);
		svc_error_set(&err, SVC_RATE_LIMITED,
		    "too many requests from this address");
		err.retry_after = retry;
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

	methods = route->methods;
	if (methods & HTTP_METHOD_GET)
		methods |= HTTP_METHOD_HEAD;
	if (!(methods & req->method)) {
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
