/*
 * upstream.h - the one client for calls from one service to another:
 * HTTPS through Kore's asynchronous curl layer (src/curl.c), inside the
 * worker's event loop; a worker never blocks on a downstream service.
 *
 * Every call:
 *	- goes to a configured target's base URL + path, verified against
 *	  the stack's CA (CURLOPT_CAINFO = CA_FILE, TLS >= 1.2, peer and host
 *	  name checked); only https:// is accepted;
 *	- carries "Authorization: Bearer <identity token>" (svc_identity_token(),
 *	  IDENTITY_TOKEN_FILE: the calling service's own, never the operators'),
 *	  "X-Request-Id" (the bound request's id, or upstream_req.request_id),
 *	  "Accept: application/json" and, with a body,
 *	  "Content-Type: application/json; charset=utf-8";
 *	- has a deadline per attempt (attempt_timeout_ms, connect included)
 *	  and a total budget (budget_ms) over all attempts and waits; when the
 *	  call is bound to a request the budget is also capped so that it
 *	  ends UPSTREAM_DEADLINE_MS after the request arrived - the 503 then
 *	  still leaves within the contract's request deadline (2 s);
 *	- is retried, within max_attempts and the budget, with exponential
 *	  backoff and full jitter (delay = random [0, min(cap, base * 2^n)]):
 *	    always		when the connection could not be made (nothing
 *				was sent) or the answer is 429 or 408 (the
 *				peer rejected it unprocessed; after its
 *				Retry-After when that fits the budget);
 *	    UPSTREAM_RETRYABLE	also on a timeout, a broken connection and
 *				502/503/504 (after Retry-After when given,
 *				but a 503's of 1 s - what a service at
 *				capacity sheds with - gives way to the
 *				backoff below).
 *	  Only idempotent operations may set UPSTREAM_RETRYABLE: in this
 *	  system every write between services carries an idempotency key
 *	  (reservation_id, crm_order_id, order_id...), so the caller decides.
 *	  A backoff wait is a Kore timer, never a sleep.
 *	- is counted in /metrics:
 *	    upstream_requests_total{target,outcome}  per attempt; outcome is
 *		"2xx" "3xx" "4xx" "5xx" "timeout" "connect_error" "error"
 *	    upstream_retries_total{target}           attempts after the first
 *	    upstream_failures_total{target}          calls ending UPSTREAM_FAILED
 *	    upstream_duration_seconds{target}        histogram, per attempt
 *	    upstream_in_flight{target}               gauge, calls not finished
 *
 * Results:
 *	UPSTREAM_PENDING  the call is running or waiting to retry
 *	UPSTREAM_DONE     an HTTP answer arrived that is final for the retry
 *	                  policy: any 2xx/3xx/4xx, or a 5xx not retried (e.g.
 *	                  500).  Read it with upstream_status(),
 *	                  upstream_body(), upstream_json(), upstream_header().
 *	                  Interpreting the status is the caller's business.
 *	UPSTREAM_FAILED   no usable answer within the attempts and the budget
 *	                  (unreachable, timeouts, 502/503/504/429 to the end),
 *	                  or the call could not be set up.  upstream_error()
 *	                  gives 503 unavailable with Retry-After (the
 *	                  downstream's own Retry-After when it sent one, else
 *	                  1); upstream_status() is the last HTTP status seen
 *	                  (0: none).
 *
 * Mode 1, bound to a request (like db.h): keep a struct upstream_call in
 * the handler's svc_app_state() and call upstream_exec() each time Kore
 * runs the handler; UPSTREAM_PENDING means "return KORE_RESULT_RETRY"
 * (the request sleeps until the answer or the retry timer wakes it).  The
 * upstream_req is copied on the first call (URL, body, headers): later
 * entries ignore it, so the caller's strings and body need only live
 * during that first call.  The state's cleanup MUST call upstream_done():
 * it removes a pending curl handle and a pending retry timer, so a request
 * freed mid-call (client gone) is never touched afterwards.
 *
 *	struct st { struct upstream_call up; ... };
 *
 *	static void
 *	st_cleanup(void *arg)
 *	{
 *		struct st	*st = arg;
 *
 *		upstream_done(&st->up);
 *	}
 *
 *	st = svc_app_state(req, sizeof(*st), st_cleanup);
 *	r = upstream_exec(req, &st->up, &ureq, &err);
 *	if (r == UPSTREAM_PENDING)
 *		return (KORE_RESULT_RETRY);
 *	if (r == UPSTREAM_FAILED) {
 *		svc_respond_error(req, &err);		(503 unavailable)
 *		return (KORE_RESULT_OK);
 *	}
 *	if (upstream_status(&st->up) == 201) { doc = upstream_json(...) ... }
 *	upstream_done(&st->up);		(then the next call may reuse it)
 *
 * Mode 2, bound to a callback (no request: e.g. an outbox dispatcher run
 * by a Kore timer): upstream_start() starts the call and returns; cb runs
 * exactly once, later, from the event loop, with upstream_result() DONE or
 * FAILED; the answer stays readable until upstream_done() (which cb may
 * call, and after which cb may free the memory holding the call).  If
 * upstream_start() fails it returns KORE_RESULT_ERROR with err filled,
 * has already released the call (upstream_done()) and cb is never called.  upstream_done() before cb cancels the call (cb is
 * then never called).
 *
 * Connections: Kore's curl layer frees the easy handle after each
 * transfer, but the connections live in its one multi handle's connection
 * cache (CURLMOPT_MAXCONNECTS 500), so the next call to the same target
 * reuses a kept-alive TLS connection; a per-worker CURLSH shares TLS
 * sessions and the DNS cache between calls.  TCP keep-alive is on.
 *
 * Configuration (environment, read by upstream_parent_init() in the
 * parent before the workers fork and chroot):
 *	<NAME>_URL		for each service the declaration calls (svc.h,
 *				svc_decl.calls), its base URL,
 *				"https://host:port" (no trailing path); NAME
 *				upper-cased with '-' as '_' (a service "stock"
 *				reads STOCK_URL); every one is required.
 *	CA_FILE			the CA that signs every service's certificate,
 *				a path valid INSIDE the worker chroot
 *				(e.g. /etc/crm/tls/ca.pem); required when a
 *				target is configured.
 *	UPSTREAM_DEADLINE_MS	request-bound calls end this many ms after
 *				the request arrived at the latest
 *				(default 1800).
 *	IDENTITY_TOKEN_FILE	the token presented (svc.h); required when a
 *				target is configured.
 * Host names: the URLs are numeric (127.0.0.1) today.  A host name would
 * have to resolve inside the sandbox: the worker chroot needs /etc/hosts
 * (and /etc/resolv.conf for DNS, which musl's resolver reads), and since
 * libcurl is built with the synchronous resolver (platform/deps/recipes/
 * curl.sh: no resolver thread under seccomp) a DNS lookup would block the
 * worker: prefer /etc/hosts entries, or CURLOPT_RESOLVE pins, before any
 * real DNS.  The DNS cache is shared per worker (CURLSH).
 */

#ifndef __H_UPSTREAM_H
#define __H_UPSTREAM_H

#include <sys/types.h>
#include <stddef.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/curl.h>

#include "request.h"

struct svc_error;
struct json_value;

/*
 * upstream_req.target: an index into svc_decl.calls, the services the
 * declaration names; the build generates UPSTREAM_<NAME> for each
 * (service_decl.h, included by the app).
 */
#define UPSTREAM_TARGETS_MAX		8
#define UPSTREAM_ENV_MAX		64

/* Results of upstream_exec() / upstream_result(). */
#define UPSTREAM_PENDING		1
#define UPSTREAM_DONE			2
#define UPSTREAM_FAILED			3

/* upstream_req.flags */
#define UPSTREAM_RETRYABLE		0x01	/* idempotent: may be resent */

/* Defaults for the zero fields of struct upstream_req. */
#define UPSTREAM_ATTEMPT_TIMEOUT_MS	600	/* one attempt, connect incl. */
#define UPSTREAM_CONNECT_TIMEOUT_MS	250	/* TCP + TLS handshake cap */
#define UPSTREAM_MAX_ATTEMPTS		3
#define UPSTREAM_BUDGET_MS		1800	/* all attempts and waits */
#define UPSTREAM_BACKOFF_BASE_MS	50	/* first retry: [0, 50] ms */
#define UPSTREAM_BACKOFF_CAP_MS		400	/* never longer than this */
#define UPSTREAM_DEADLINE_MS		1800	/* see UPSTREAM_DEADLINE_MS */

/* Hard bounds (a caller's value beyond them is clamped). */
#define UPSTREAM_MAX_ATTEMPTS_MAX	10
#define UPSTREAM_BUDGET_MS_MAX		60000
#define UPSTREAM_HEADERS_MAX		4
#define UPSTREAM_URL_MAX		2048

struct upstream_header {
	const char		*name;
	const char		*value;
};

/* What to call; copied by upstream_exec() / upstream_start(). */
struct upstream_req {
	int			target;
	int			method;		/* HTTP_METHOD_GET/POST/PUT/
						   DELETE */
	const char		*path;		/* "/inventory/SKU-1", starts
						   with '/', already escaped */
	const void		*body;		/* JSON or NULL */
	size_t			body_len;
	int			flags;		/* UPSTREAM_RETRYABLE */

	/* X-Request-Id; NULL: the bound request's, else a new one. */
	const char		*request_id;

	/* Extra headers (e.g. Idempotency-Key, If-Match); may be NULL. */
	const struct upstream_header	*headers;
	size_t			nheaders;

	/* 0: the UPSTREAM_* defaults above. */
	u_int32_t		attempt_timeout_ms;
	u_int32_t		max_attempts;
	u_int32_t		budget_ms;
};

/*
 * Zero it before first use (svc_app_state() does); upstream_done() puts
 * it back to that state.  The fields are the implementation's; use the
 * accessors below.
 */
struct upstream_call {
	int			state;
	int			result;
	int			curl_live;	/* curl needs cleanup */

	struct kore_curl	curl;
	struct kore_timer	*timer;		/* pending backoff wait */
	struct http_request	*req;		/* mode 1 */
	void			(*cb)(struct upstream_call *, void *);
	void			*cb_arg;	/* mode 2 */

	int			target;
	int			method;
	int			flags;
	char			*url;
	struct kore_buf		*body;
	struct curl_slist	*extra;		/* copied extra headers */
	char			request_id[SVC_REQID_MAX + 1];

	u_int32_t		attempts;	/* started so far */
	u_int32_t		max_attempts;
	u_int32_t		attempt_timeout_ms;
	u_int64_t		deadline;	/* kore_time_ms() */
	u_int64_t		attempt_start;	/* us, monotonic */

	long			status;		/* last HTTP status, 0: none */
	u_int32_t		retry_after;	/* last Retry-After, seconds */
	int			in_flight;	/* counted in the gauge */
	char			last_error[96];	/* for the log */
};

/*
 * Parent, before fork/chroot: reads the URLs of the declared targets and
 * CA_FILE (see above); fatal when one is not set or not https://.  Call it
 * from the app's parent_init.
 */
void		upstream_parent_init(void);

/* Worker: the shared TLS session / DNS cache.  From the app's worker_init. */
void		upstream_worker_init(void);

/*
 * Adds a target to the worker's readiness checks (health.h): its /readyz
 * answers 200 within UPSTREAM_READY_MS (one attempt).  From the app's
 * worker_init, after upstream_worker_init(); the target must be
 * configured.  Mind cycles: a service whose readiness includes one that
 * includes it would never become ready again after both were unready.
 */
#define UPSTREAM_READY_MS		900

void		upstream_ready_add(int);

/* Mode 1: see above.  Returns UPSTREAM_PENDING, _DONE or _FAILED. */
int		upstream_exec(struct http_request *, struct upstream_call *,
		    const struct upstream_req *, struct svc_error *);

/* Mode 2: see above.  KORE_RESULT_OK: cb will run once. */
int		upstream_start(struct upstream_call *,
		    const struct upstream_req *,
		    void (*)(struct upstream_call *, void *), void *,
		    struct svc_error *);

/* Cancels what is pending and frees everything; idempotent. */
void		upstream_done(struct upstream_call *);

int		upstream_result(const struct upstream_call *);
int		upstream_status(const struct upstream_call *);
void		upstream_body(const struct upstream_call *,
		    const u_int8_t **, size_t *);

/*
 * The answer's body parsed as a JSON object (json_parse() without a
 * schema); NULL with err = 500 internal when it is not one (a peer of
 * ours answering garbage is a bug, not an outage).  json_free() it.
 */
struct json_value	*upstream_json(const struct upstream_call *,
			    struct svc_error *);

/*
 * Mode 1, one string out of another service's answer: GET path at target
 * (retried: a GET changes nothing) within budget_ms and, when it answers
 * 200 with a JSON object, copies the string at member ("status", or
 * "shipment.status" inside a member object) into out (len bytes).
 * Returns UPSTREAM_PENDING (return KORE_RESULT_RETRY); UPSTREAM_DONE with
 * the string in out; UPSTREAM_FAILED with out "": no answer in time,
 * another status, no such string, or one longer than out.  Then, as with
 * upstream_exec(), upstream_status() tells the last status seen and
 * upstream_done() ends the call.
 */
int		upstream_get_string(struct http_request *,
		    struct upstream_call *, int,
		    const char *, u_int32_t, const char *, char *, size_t);

/* A response header of the answer, NULL if absent. */
const char	*upstream_header(struct upstream_call *, const char *);

/* 503 unavailable naming the target, with Retry-After. */
void		upstream_error(const struct upstream_call *,
		    struct svc_error *);

/* The target's service name (the declaration's); the metrics label. */
const char	*upstream_target_name(int);

/* Pure helpers (unit tested). */

/*
 * Full jitter: (retry, base_ms, cap_ms, rnd) -> rnd mapped uniformly into
 * [0, min(cap, base << (retry - 1))]; retry >= 1 (the first retry).
 */
u_int32_t	upstream_backoff_ms(u_int32_t, u_int32_t, u_int32_t,
		    u_int32_t);

/* Retry-After in seconds (delta-seconds only); 0 if absent or invalid. */
u_int32_t	upstream_parse_retry_after(const char *);

/* base + path into out; 0 if it does not fit or path lacks a leading '/'. */
int		upstream_join_url(char *, size_t, const char *, const char *);

/*
 * The variable holding a service's base URL: "stock-room" ->
 * "STOCK_ROOM_URL"; 0 if it does not fit.
 */
int		upstream_env_name(char *, size_t, const char *);

#endif
