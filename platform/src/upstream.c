/*
 * upstream.c - calls between services through Kore's asynchronous curl
 * layer, with the retry policy of upstream.h.
 *
 * One call is a small state machine driven either by the handler being
 * re-entered (mode 1, request-bound) or by curl's and the retry timer's
 * callbacks (mode 2):
 *
 *	INIT -> RUNNING (curl transfer) -> FINISHED (DONE or FAILED)
 *	            ^          |
 *	            |          v
 *	            +------ BACKOFF (a Kore timer; the request sleeps)
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "auth.h"
#include "env.h"
#include "fmt.h"
#include "health.h"
#include "json.h"
#include "landlock.h"
#include "metrics.h"
#include "request.h"
#include "svc.h"
#include "svc_error.h"
#include "svc_log.h"
#include "upstream.h"

/* Seconds a kept-alive connection may idle and still be reused. */
#define UPSTREAM_CONN_MAXAGE_S	5L

#define CALL_INIT		0
#define CALL_RUNNING		1
#define CALL_BACKOFF		2
#define CALL_FINISHED		3

/* Below this much budget left an attempt is not worth starting. */
#define UPSTREAM_MIN_ATTEMPT_MS	30

#define UPSTREAM_CA_MAX		1024

static int	call_setup(struct upstream_call *, const struct upstream_req *,
		    struct svc_error *);
static int	attempt_begin(struct upstream_call *);
static int	attempt_end(struct upstream_call *);
static int	call_finish(struct upstream_call *, int);
static void	call_add_header(struct upstream_call *, const char *);
static void	curl_done_cb(struct kore_curl *, void *);
static CURLcode	call_ssl_ctx(CURL *, void *, void *);
static void	backoff_fire(void *, u_int64_t);
static u_int32_t	random_u32(void);
static u_int64_t	now_us(void);
static int	header_ok(const char *);
static void	count(const struct upstream_call *, const char *,
		    const char *, u_int64_t);
static void	in_flight(struct upstream_call *, int);

static void	ready_start(struct svc_ready_check *);
static void	ready_end(struct upstream_call *, void *);

/* A readiness check of a target: its /readyz answers 200 (or drains). */
struct upstream_ready {
	struct svc_ready_check	check;		/* first: the check is it */
	struct upstream_call	call;
	int			target;
};

static struct upstream_ready	ready_of[UPSTREAM_TARGETS_MAX];

/* The declared targets: their count, names' variables, base URLs. */
static int		ntargets;
static char		target_env[UPSTREAM_TARGETS_MAX][UPSTREAM_ENV_MAX];
static char		*base_url[UPSTREAM_TARGETS_MAX];
static char		ca_file[UPSTREAM_CA_MAX];
static u_int32_t	deadline_ms = UPSTREAM_DEADLINE_MS;
static CURLSH		*share;

void
upstream_parent_init(void)
{
	const char	*v;
	size_t		len;
	int		t;

	for (ntargets = 0; svc_decl.calls[ntargets] != NULL; ntargets++) {
		if (ntargets == UPSTREAM_TARGETS_MAX)
			fatalx("more than %d services to call",
			    UPSTREAM_TARGETS_MAX);
	}

	for (t = 0; t < ntargets; t++) {
		if (!upstream_env_name(target_env[t], sizeof(target_env[t]),
		    svc_decl.calls[t]))
			fatalx("service name too long: %s", svc_decl.calls[t]);
		v = getenv(target_env[t]);
		if (v == NULL || *v == '\0')
			fatalx("%s is not set", target_env[t]);
		/* The contract: HTTPS only, between services too. */
		if (strncmp(v, "https://", 8) != 0 || v[8] == '\0')
			fatalx("%s: not an https:// URL: '%s'", target_env[t], v);
		len = strlen(v);
		if (len >= UPSTREAM_URL_MAX / 2)
			fatalx("%s too long", target_env[t]);
		kore_free(base_url[t]);
		base_url[t] = kore_strdup(v);
		/* "https://h:p/" and "https://h:p" are the same base. */
		while (len > 8 && base_url[t][len - 1] == '/')
			base_url[t][--len] = '\0';
	}

	if (ntargets == 0)
		return;

	if ((v = getenv("CA_FILE")) == NULL || *v == '\0')
		fatalx("CA_FILE is not set (needed for the calls to %s)",
		    "other services");
	if (kore_strlcpy(ca_file, v, sizeof(ca_file)) >= sizeof(ca_file))
		fatalx("CA_FILE too long");
	/* libcurl reads it for each new connection (landlock.h). */
	landlock_allow_read(ca_file);

	if (svc_identity_token() == NULL)
		fatalx("IDENTITY_TOKEN_FILE is not set (needed for the calls "
		    "to other services)");

	/* Never past the contract's 3 s, never uselessly short. */
	deadline_ms = env_u32("UPSTREAM_DEADLINE_MS", UPSTREAM_DEADLINE_MS,
	    100, 2900);
}

static const struct metrics_help	upstream_metrics[] = {
	{ "upstream_requests_total", "Attempts of calls to other services, "
	    "by target and outcome." },
	{ "upstream_retries_total", "Attempts after the first of calls to "
	    "other services, by target." },
	{ "upstream_failures_total", "Calls to other services that got no "
	    "usable answer within their attempts and budget, by target." },
	{ "upstream_duration_seconds", "Time of one attempt of a call to "
	    "another service, by target." },
	{ "upstream_in_flight", "Calls to other services not yet finished, "
	    "by target." },
	{ NULL, NULL }
};

void
upstream_worker_init(void)
{
	metrics_describe(upstream_metrics);

	/* One worker, one thread: the share needs no lock callbacks. */
	if ((share = curl_share_init()) == NULL)
		fatalx("curl_share_init failed");
	(void)curl_share_setopt(share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	(void)curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

void
upstream_ready_add(int t)
{
	struct upstream_ready	*r;

	if (t < 0 || t >= ntargets || base_url[t] == NULL)
		fatal("upstream_ready_add: target %d not configured", t);

	r = &ready_of[t];
	r->target = t;
	r->check.name = svc_decl.calls[t];
	r->check.start = ready_start;
	svc_ready_add(&r->check);
}

/*
 * One attempt, within UPSTREAM_READY_MS: the target's own /readyz is
 * answered from its cached state, so this costs it next to nothing.
 */
static void
ready_start(struct svc_ready_check *chk)
{
	struct upstream_ready	*r = (struct upstream_ready *)chk;
	struct upstream_req	ur;
	struct svc_error	err;

	memset(&ur, 0, sizeof(ur));
	ur.target = r->target;
	ur.method = HTTP_METHOD_GET;
	ur.path = "/readyz";
	ur.max_attempts = 1;
	ur.attempt_timeout_ms = UPSTREAM_READY_MS;
	ur.budget_ms = UPSTREAM_READY_MS;

	svc_error_init(&err);
	if (upstream_start(&r->call, &ur, ready_end, r, &err) !=
	    KORE_RESULT_OK)
		svc_ready_done(chk, 0);
}

static void
ready_end(struct upstream_call *c, void *arg)
{
	struct upstream_ready	*r = arg;
	int			ok;

	/*
	 * An instance that drains says 503 while the others behind the same
	 * address still serve (health.h): the service answers.
	 */
	ok = upstream_result(c) == UPSTREAM_DONE &&
	    (upstream_status(c) == 200 || (upstream_status(c) == 503 &&
	    upstream_header(c, SVC_DRAINING_HEADER) != NULL));
	upstream_done(c);
	svc_ready_done(&r->check, ok);
}

const char *
upstream_target_name(int t)
{
	int		i;

	/* Also before upstream_parent_init() counted them. */
	for (i = 0; i <= t && t < UPSTREAM_TARGETS_MAX; i++) {
		if (svc_decl.calls[i] == NULL)
			break;
	}
	if (t < 0 || i <= t)
		return ("unknown");
	return (svc_decl.calls[t]);
}

int
upstream_exec(struct http_request *req, struct upstream_call *c,
    const struct upstream_req *ur, struct svc_error *err)
{
	int		r;

	switch (c->state) {
	case CALL_INIT:
		c->req = req;
		if (!call_setup(c, ur, err))
			return (UPSTREAM_FAILED);
		r = attempt_begin(c);
		break;
	case CALL_RUNNING:
		/* Woken by something else: sleep until curl is done. */
		if (c->curl.handle != NULL) {
			http_request_sleep(req);
			return (UPSTREAM_PENDING);
		}
		r = attempt_end(c);
		break;
	case CALL_BACKOFF:
		if (c->timer != NULL) {
			http_request_sleep(req);
			return (UPSTREAM_PENDING);
		}
		r = attempt_begin(c);
		break;
	case CALL_FINISHED:
		r = c->result;
		break;
	default:
		fatal("upstream_exec: bad state %d", c->state);
	}

	if (r == UPSTREAM_FAILED)
		upstream_error(c, err);

	return (r);
}

int
upstream_start(struct upstream_call *c, const struct upstream_req *ur,
    void (*cb)(struct upstream_call *, void *), void *arg,
    struct svc_error *err)
{
	if (c->state != CALL_INIT)
		fatal("upstream_start: call in use");
	if (cb == NULL)
		fatal("upstream_start: no callback");

	c->req = NULL;
	c->cb = cb;
	c->cb_arg = arg;
	if (!call_setup(c, ur, err)) {
		upstream_done(c);
		return (KORE_RESULT_ERROR);
	}

	/* Failing before anything ran: the caller hears it now, not cb. */
	if (attempt_begin(c) == UPSTREAM_FAILED) {
		upstream_error(c, err);
		upstream_done(c);
		return (KORE_RESULT_ERROR);
	}

	return (KORE_RESULT_OK);
}

void
upstream_done(struct upstream_call *c)
{
	if (c->timer != NULL) {
		kore_timer_remove(c->timer);
		c->timer = NULL;
	}
	if (c->curl_live) {
		/* Takes it off req->chandles and out of the multi handle. */
		kore_curl_cleanup(&c->curl);
		c->curl_live = 0;
	}
	in_flight(c, 0);
	kore_free(c->url);
	if (c->body != NULL)
		kore_buf_free(c->body);
	if (c->extra != NULL)
		curl_slist_free_all(c->extra);

	memset(c, 0, sizeof(*c));
}

int
upstream_result(const struct upstream_call *c)
{
	if (c->state != CALL_FINISHED)
		return (UPSTREAM_PENDING);
	return (c->result);
}

int
upstream_status(const struct upstream_call *c)
{
	return ((int)c->status);
}

void
upstream_body(const struct upstream_call *c, const u_int8_t **body,
    size_t *len)
{
	*body = NULL;
	*len = 0;

	if (c->state != CALL_FINISHED || c->result != UPSTREAM_DONE ||
	    !c->curl_live || c->curl.response == NULL)
		return;

	*body = c->curl.response->data;
	*len = c->curl.response->offset;
}

struct json_value *
upstream_json(const struct upstream_call *c, struct svc_error *err)
{
	struct json_value	*doc;
	const u_int8_t		*body;
	size_t			len;

	upstream_body(c, &body, &len);
	if (body == NULL || len == 0) {
		svc_log(SVC_LOG_ERROR, c->request_id, "upstream %s: %s %d "
		    "without a body", upstream_target_name(c->target),
		    c->url, (int)c->status);
		svc_error_set(err, SVC_INTERNAL, "internal error");
		return (NULL);
	}

	if ((doc = json_parse(body, len, NULL, err)) == NULL) {
		svc_log(SVC_LOG_ERROR, c->request_id, "upstream %s: %s %d "
		    "answered no JSON object", upstream_target_name(c->target),
		    c->url, (int)c->status);
		svc_error_init(err);
		svc_error_set(err, SVC_INTERNAL, "internal error");
		return (NULL);
	}

	return (doc);
}

const char *
upstream_header(struct upstream_call *c, const char *name)
{
	const char	*v;

	if (!c->curl_live || c->state != CALL_FINISHED)
		return (NULL);
	if (!kore_curl_http_get_header(&c->curl, name, &v))
		return (NULL);
	return (v);
}

void
upstream_error(const struct upstream_call *c, struct svc_error *err)
{
	svc_error_set(err, SVC_UNAVAILABLE, "%s is unavailable, retry later",
	    upstream_target_name(c->target));
	err->retry_after = c->retry_after > 0 ? c->retry_after : 1;
}

u_int32_t
upstream_backoff_ms(u_int32_t retry, u_int32_t base, u_int32_t cap,
    u_int32_t rnd)
{
	u_int64_t	ceil;

	if (retry == 0)
		retry = 1;

	/* base << (retry - 1), saturating at cap. */
	ceil = base;
	while (--retry > 0 && ceil < cap)
		ceil <<= 1;
	if (ceil > cap)
		ceil = cap;

	return ((u_int32_t)((u_int64_t)rnd % (ceil + 1)));
}

u_int32_t
upstream_parse_retry_after(const char *v)
{
	unsigned long	ul;
	char		*ep;

	if (v == NULL)
		return (0);
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v < '0' || *v > '9')
		return (0);		/* an HTTP-date: not used between us */

	errno = 0;
	ul = strtoul(v, &ep, 10);
	while (*ep == ' ' || *ep == '\t')
		ep++;
	if (errno != 0 || *ep != '\0')
		return (0);
	if (ul > 3600)
		ul = 3600;

	return ((u_int32_t)ul);
}

int
upstream_join_url(char *out, size_t len, const char *base, const char *path)
{
	int		n;

	if (base == NULL || path == NULL || path[0] != '/')
		return (0);

	n = snprintf(out, len, "%s%s", base, path);
	if (n < 0 || (size_t)n >= len)
		return (0);

	return (1);
}

int
upstream_env_name(char *out, size_t len, const char *name)
{
	size_t		i, n;

	n = strlen(name);
	if (n == 0 || n + sizeof("_URL") > len)
		return (0);
	for (i = 0; i < n; i++) {
		out[i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	}
	memcpy(out + n, "_URL", sizeof("_URL"));

	return (1);
}

/* Copies what the call needs across attempts. */
static int
call_setup(struct upstream_call *c, const struct upstream_req *ur,
    struct svc_error *err)
{
	struct svc_req	*sr;
	char		url[UPSTREAM_URL_MAX], line[512];
	u_int64_t	now, cap, start;
	u_int32_t	budget;
	size_t		i;
	int		n;

	c->state = CALL_FINISHED;
	c->result = UPSTREAM_FAILED;

	if (ur == NULL || ur->target < 0 || ur->target >= ntargets) {
		svc_error_set(err, SVC_INTERNAL, "internal error");
		svc_log(SVC_LOG_ERROR, NULL, "upstream: bad target");
		return (0);
	}
	c->target = ur->target;

	if (base_url[c->target] == NULL) {
		svc_error_set(err, SVC_INTERNAL, "internal error");
		svc_log(SVC_LOG_ERROR, NULL, "upstream: %s not configured "
		    "(%s)", svc_decl.calls[c->target], target_env[c->target]);
		return (0);
	}

	if (!upstream_join_url(url, sizeof(url), base_url[c->target],
	    ur->path)) {
		svc_error_set(err, SVC_INTERNAL, "internal error");
		svc_log(SVC_LOG_ERROR, NULL, "upstream: bad path for %s",
		    svc_decl.calls[c->target]);
		return (0);
	}

	switch (ur->method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_DELETE:
	case HTTP_METHOD_POST:
	case HTTP_METHOD_PUT:
	case HTTP_METHOD_PATCH:
		break;
	default:
		svc_error_set(err, SVC_INTERNAL, "internal error");
		svc_log(SVC_LOG_ERROR, NULL, "upstream: bad method %d",
		    ur->method);
		return (0);
	}

	if (ur->nheaders > UPSTREAM_HEADERS_MAX ||
	    (ur->nheaders > 0 && ur->headers == NULL)) {
		svc_error_set(err, SVC_INTERNAL, "internal error");
		return (0);
	}
	for (i = 0; i < ur->nheaders; i++) {
		if (!header_ok(ur->headers[i].name) ||
		    !header_ok(ur->headers[i].value)) {
			svc_error_set(err, SVC_INTERNAL, "internal error");
			svc_log(SVC_LOG_ERROR, NULL, "upstream: bad header");
			return (0);
		}
		n = snprintf(line, sizeof(line), "%s: %s",
		    ur->headers[i].name, ur->headers[i].value);
		if (n < 0 || (size_t)n >= sizeof(line)) {
			svc_error_set(err, SVC_INTERNAL, "internal error");
			return (0);
		}
		c->extra = curl_slist_append(c->extra, line);
		if (c->extra == NULL)
			fatal("upstream: curl_slist_append");
	}

	/* X-Request-Id: given, the request's, or a fresh one. */
	if (ur->request_id != NULL && fmt_request_id(ur->request_id)) {
		(void)kore_strlcpy(c->request_id, ur->request_id,
		    sizeof(c->request_id));
	} else if (c->req != NULL && svc_req(c->req) != NULL) {
		(void)kore_strlcpy(c->request_id, svc_request_id(c->req),
		    sizeof(c->request_id));
	} else if (!fmt_uuid_generate(c->request_id, sizeof(c->request_id))) {
		fatal("upstream: no randomness for a request id");
	}

	c->url = kore_strdup(url);
	c->method = ur->method;
	c->flags = ur->flags;
	if (ur->body != NULL && ur->body_len > 0) {
		c->body = kore_buf_alloc(ur->body_len);
		kore_buf_append(c->body, ur->body, ur->body_len);
	}

	c->max_attempts = ur->max_attempts ? ur->max_attempts :
	    UPSTREAM_MAX_ATTEMPTS;
	if (c->max_attempts > UPSTREAM_MAX_ATTEMPTS_MAX)
		c->max_attempts = UPSTREAM_MAX_ATTEMPTS_MAX;
	c->attempt_timeout_ms = ur->attempt_timeout_ms ?
	    ur->attempt_timeout_ms : UPSTREAM_ATTEMPT_TIMEOUT_MS;
	budget = ur->budget_ms ? ur->budget_ms : UPSTREAM_BUDGET_MS;
	if (budget > UPSTREAM_BUDGET_MS_MAX)
		budget = UPSTREAM_BUDGET_MS_MAX;

	now = kore_time_ms();
	c->deadline = now + budget;

	/* A request's calls all end by its deadline (the contract's 2 s). */
	if (c->req != NULL && (sr = svc_req(c->req)) != NULL) {
		start = (u_int64_t)sr->start.tv_sec * 1000 +
		    (u_int64_t)sr->start.tv_nsec / 1000000;
		cap = start + deadline_ms;
		if (cap < c->deadline)
			c->deadline = cap;
	}

	c->state = CALL_INIT;
	c->result = 0;
	in_flight(c, 1);

	return (1);
}

/*
 * OpenSSL keeps a read and a write buffer (~17 KB each) for the life of a
 * connection; released whenever they are empty, the kept-alive upstream
 * connections cost a worker little while they wait for their answers.
 */
static CURLcode
call_ssl_ctx(CURL *e, void *ctx, void *arg)
{
	(void)e;
	(void)arg;

	SSL_CTX_set_mode((SSL_CTX *)ctx, SSL_MODE_RELEASE_BUFFERS);
	return (CURLE_OK);
}

/* Starts the next attempt, or ends the call when no budget is left. */
static int
attempt_begin(struct upstream_call *c)
{
	const char	*tok;
	char		line[AUTH_SECRET_MAX + 8];
	struct curl_slist	*h;
	u_int64_t	now, left, tmo, ctmo;
	CURL		*e;

	now = kore_time_ms();
	left = c->deadline > now ? c->deadline - now : 0;
	if (left < UPSTREAM_MIN_ATTEMPT_MS) {
		(void)kore_strlcpy(c->last_error, "deadline reached",
		    sizeof(c->last_error));
		return (call_finish(c, UPSTREAM_FAILED));
	}

	if (!kore_curl_init(&c->curl, c->url, KORE_CURL_ASYNC)) {
		(void)kore_strlcpy(c->last_error, c->curl.errbuf,
		    sizeof(c->curl.errbuf) < sizeof(c->last_error) ?
		    sizeof(c->curl.errbuf) : sizeof(c->last_error));
		return (call_finish(c, UPSTREAM_FAILED));
	}
	c->curl_live = 1;

	if (c->req != NULL)
		kore_curl_bind_request(&c->curl, c->req);	/* sleeps it */
	else
		kore_curl_bind_callback(&c->curl, curl_done_cb, c);

	kore_curl_http_setup(&c->curl, c->method,
	    c->body != NULL ? c->body->data : NULL,
	    c->body != NULL ? c->body->offset : 0);

	e = c->curl.handle;
	/* Kore's http_setup sends DELETE as GET; say it. */
	if (c->method == HTTP_METHOD_DELETE)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");

	tok = svc_identity_token();
	(void)snprintf(line, sizeof(line), "Bearer %s", tok != NULL ? tok : "");
	kore_curl_http_set_header(&c->curl, "Authorization", line);
	explicit_bzero(line, sizeof(line));
	kore_curl_http_set_header(&c->curl, "X-Request-Id", c->request_id);
	kore_curl_http_set_header(&c->curl, "Accept", "application/json");
	if (c->body != NULL) {
		kore_curl_http_set_header(&c->curl, "Content-Type",
		    "application/json; charset=utf-8");
	}
	for (h = c->extra; h != NULL; h = h->next)
		call_add_header(c, h->data);

	tmo = c->attempt_timeout_ms < left ? c->attempt_timeout_ms : left;
	ctmo = UPSTREAM_CONNECT_TIMEOUT_MS < tmo ?
	    UPSTREAM_CONNECT_TIMEOUT_MS : tmo;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)tmo);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ctmo);

	/* Only HTTPS, verified against our CA, TLS 1.2 or better. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, call_ssl_ctx);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	/*
	 * Reuse a kept-alive connection only while it is well inside the
	 * peers' idle timeouts (http_keepalive_time 20 s, header timeout
	 * 10 s): never one the peer is about to close.
	 */
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, UPSTREAM_CONN_MAXAGE_S);
	if (share != NULL)
		curl_easy_setopt(e, CURLOPT_SHARE, share);

	c->attempts++;
	if (c->attempts > 1)
		count(c, "upstream_retries_total", NULL, 1);
	c->attempt_start = now_us();
	c->state = CALL_RUNNING;

	kore_curl_run(&c->curl);

	return (UPSTREAM_PENDING);
}

/*
 * An attempt ended: an answer to keep, a retry to schedule, or the end.
 */
static int
attempt_end(struct upstream_call *c)
{
	const char	*outcome, *ra;
	u_int64_t	now, delay;
	CURLcode	res;
	int		retry, transient;
	char		cls[8], labels[METRICS_LABELS_MAX];

	(void)snprintf(labels, sizeof(labels), "target=\"%s\"",
	    svc_decl.calls[c->target]);
	metrics_observe("upstream_duration_seconds", labels,
	    (double)(now_us() - c->attempt_start) / 1e6);

	retry = 0;
	transient = 0;
	res = c->curl.result;

	if (res == CURLE_OK) {
		c->status = c->curl.http.status;
		(void)snprintf(cls, sizeof(cls), "%dxx",
		    (int)(c->status / 100) % 10);
		outcome = cls;
		c->retry_after = 0;
		if (kore_curl_http_get_header(&c->curl, "retry-after", &ra))
			c->retry_after = upstream_parse_retry_after(ra);

		/*
		 * 429 and 408: rejected before any processing (408: the peer
		 * closed an idle connection we reused), always safe again.
		 */
		if (c->status == 429 || c->status == 408)
			retry = transient = 1;
		else if (c->status == 502 || c->status == 503 ||
		    c->status == 504) {
			transient = 1;
			retry = (c->flags & UPSTREAM_RETRYABLE) != 0;
		}
		(void)snprintf(c->last_error, sizeof(c->last_error),
		    "HTTP %ld", c->status);
	} else {
		transient = 1;
		(void)kore_strlcpy(c->last_error, kore_curl_strerror(&c->curl),
		    sizeof(c->last_error));
		switch (res) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
			/* Nothing was sent: safe to try again. */
			outcome = "connect_error";
			retry = 1;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			outcome = "timeout";
			retry = (c->flags & UPSTREAM_RETRYABLE) != 0;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			/* Configuration: no retry will fix it. */
			outcome = "error";
			break;
		default:
			outcome = "error";
			retry = (c->flags & UPSTREAM_RETRYABLE) != 0;
			break;
		}
	}

	count(c, "upstream_requests_total", outcome, 1);

	if (!transient)
		return (call_finish(c, UPSTREAM_DONE));

	if (!retry || c->attempts >= c->max_attempts) {
		svc_log(SVC_LOG_WARN, c->request_id, "upstream %s %s: %s "
		    "(attempt %u of %u, no retry)", svc_decl.calls[c->target],
		    c->url, c->last_error, c->attempts, c->max_attempts);
		return (call_finish(c, UPSTREAM_FAILED));
	}

	/*
	 * The peer's Retry-After wins over our own backoff; but a 503's of
	 * 1 s, the least the header can say, is what a service at capacity
	 * sheds with (admission.h), said for clients outside: between us,
	 * the shed cost the peer next to nothing and did none of the work,
	 * so our shorter backoff with jitter retries it within the budget.
	 * A 429's is always kept (CONTRACT §2: retried after its
	 * Retry-After), and so is a longer 503's (then often failing fast,
	 * passed on).
	 */
	now = kore_time_ms();
	if (c->retry_after > 0 && (c->status != 503 || c->retry_after > 1))
		delay = (u_int64_t)c->retry_after * 1000;
	else
		delay = upstream_backoff_ms(c->attempts,
		    UPSTREAM_BACKOFF_BASE_MS, UPSTREAM_BACKOFF_CAP_MS,
		    random_u32());

	if (now + delay + UPSTREAM_MIN_ATTEMPT_MS > c->deadline) {
		svc_log(SVC_LOG_WARN, c->request_id, "upstream %s %s: %s "
		    "(attempt %u, no time left to retry)",
		    svc_decl.calls[c->target], c->url, c->last_error,
		    c->attempts);
		return (call_finish(c, UPSTREAM_FAILED));
	}

	svc_log(SVC_LOG_INFO, c->request_id, "upstream %s %s: %s, retry in "
	    "%llu ms", svc_decl.calls[c->target], c->url, c->last_error,
	    (unsigned long long)delay);

	kore_curl_cleanup(&c->curl);
	c->curl_live = 0;

	c->state = CALL_BACKOFF;
	c->timer = kore_timer_add(backoff_fire, delay > 0 ? delay : 1, c,
	    KORE_TIMER_ONESHOT);
	if (c->req != NULL)
		http_request_sleep(c->req);

	return (UPSTREAM_PENDING);
}

static int
call_finish(struct upstream_call *c, int result)
{
	c->state = CALL_FINISHED;
	c->result = result;
	in_flight(c, 0);

	if (result == UPSTREAM_FAILED) {
		count(c, "upstream_failures_total", NULL, 1);
		/* Nothing of a failed call is read: free it now. */
		if (c->curl_live) {
			kore_curl_cleanup(&c->curl);
			c->curl_live = 0;
		}
	}

	return (result);
}

/* Mode 2: curl finished an attempt. */
static void
curl_done_cb(struct kore_curl *client, void *arg)
{
	struct upstream_call	*c = arg;

	(void)client;

	if (attempt_end(c) == UPSTREAM_PENDING)
		return;

	/* c may be freed by the callback: nothing after it. */
	c->cb(c, c->cb_arg);
}

/* The backoff wait is over. */
static void
backoff_fire(void *arg, u_int64_t now)
{
	struct upstream_call	*c = arg;

	(void)now;

	c->timer = NULL;		/* Kore frees a oneshot timer */

	if (c->req != NULL) {
		/* The handler runs again and starts the next attempt. */
		http_request_wakeup(c->req);
		return;
	}

	if (attempt_begin(c) == UPSTREAM_PENDING)
		return;

	c->cb(c, c->cb_arg);
}

static void
call_add_header(struct upstream_call *c, const char *line)
{
	c->curl.http.hdrlist = curl_slist_append(c->curl.http.hdrlist, line);
	if (c->curl.http.hdrlist == NULL)
		fatal("upstream: curl_slist_append");
	curl_easy_setopt(c->curl.handle, CURLOPT_HTTPHEADER,
	    c->curl.http.hdrlist);
}

/* A header name or value: printable, no CR/LF, not empty. */
static int
header_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return (0);
	}
	return (1);
}

static u_int64_t
now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)ts.tv_sec * 1000000 + (u_int64_t)ts.tv_nsec / 1000);
}

static u_int32_t
random_u32(void)
{
	u_int32_t	r;

	/* Jitter only: a failure degrades to no jitter, not to an error. */
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (u_int32_t)kore_time_ms();
	return (r);
}

static void
count(const struct upstream_call *c, const char *name, const char *outcome,
    u_int64_t n)
{
	char		labels[METRICS_LABELS_MAX];

	if (outcome != NULL) {
		(void)snprintf(labels, sizeof(labels),
		    "target=\"%s\",outcome=\"%s\"", svc_decl.calls[c->target],
		    outcome);
	} else {
		(void)snprintf(labels, sizeof(labels), "target=\"%s\"",
		    svc_decl.calls[c->target]);
	}
	metrics_counter_add(name, labels, n);
}

/* upstream_in_flight{target}: calls started and not yet finished. */
static void
in_flight(struct upstream_call *c, int on)
{
	char		labels[METRICS_LABELS_MAX];

	if (c->in_flight == on)
		return;
	c->in_flight = on;
	(void)snprintf(labels, sizeof(labels), "target=\"%s\"",
	    svc_decl.calls[c->target]);
	metrics_gauge_add("upstream_in_flight", labels, on ? 1 : -1);
}
