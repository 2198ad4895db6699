/*
 * health.c - the platform's own routes: /healthz, /readyz, /metrics and
 * the catch-all 404.  /healthz and /readyz skip the rate limit so probes
 * always get through; /metrics is rate-limited like any route.  None of
 * them needs credentials, and none waits for admission or is shed
 * (admission.h): they cost next to nothing, and probes must tell an
 * overloaded service from a dead one.
 *
 * /readyz answers from a per-worker state (health.h): the dependency checks
 * run once per refresh, a refresh at most once per SVC_READY_TTL_MS and
 * only when a call finds the state older than that; calls during a
 * refresh wait for it, woken together when its last check ends.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "health.h"
#include "metrics.h"
#include "pipeline.h"
#include "request.h"
#include "respond.h"
#include "route.h"
#include "svc_error.h"
#include "svc_int.h"

static const struct svc_route	r_healthz = {
	"/healthz", HTTP_METHOD_GET,
	SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT | SVC_ROUTE_NO_ADMISSION
};

static const struct svc_route	r_readyz = {
	"/readyz", HTTP_METHOD_GET,
	SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_RATELIMIT | SVC_ROUTE_NO_ADMISSION
};

static const struct svc_route	r_metrics = {
	"/metrics", HTTP_METHOD_GET, SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_ADMISSION
};

/* Unknown paths: every method, no auth (404 for everyone). */
static const struct svc_route	r_unmatched = {
	"unmatched", HTTP_METHOD_ALL, SVC_ROUTE_PUBLIC | SVC_ROUTE_NO_ADMISSION
};

/* A /readyz call waiting for the refresh that runs. */
struct ready_wait {
	struct http_request	*req;
	int			queued;
	int			woken;	/* the refresh it waited for ended */
	TAILQ_ENTRY(ready_wait)	list;
};

static struct svc_ready_check	*ready_checks[SVC_READY_CHECKS_MAX];
static size_t			ready_nchecks;

/* The worker's readiness state. */
static struct {
	int			known;		/* a refresh has ended */
	u_int64_t		at;		/* kore_time_ms() it ended */
	const char		*failed;	/* first failed check, NULL */
	int			running;	/* checks still out (+1 while
						   starting them) */
} ready;

static TAILQ_HEAD(, ready_wait)	ready_waiting =
    TAILQ_HEAD_INITIALIZER(ready_waiting);

static void	ready_refresh(void);
static void	ready_finish(void);
static void	ready_answer(struct http_request *);
static void	ready_draining(struct http_request *);
static void	ready_wait_cleanup(void *);

void
svc_ready_add(struct svc_ready_check *chk)
{
	if (ready_nchecks >= SVC_READY_CHECKS_MAX)
		fatal("svc_ready_add: more than %d checks",
		    SVC_READY_CHECKS_MAX);
	chk->running = 0;
	chk->ok = 0;
	ready_checks[ready_nchecks++] = chk;
}

void
svc_ready_done(struct svc_ready_check *chk, int ok)
{
	if (!chk->running)
		fatal("svc_ready_done: check %s is not running", chk->name);
	chk->running = 0;
	chk->ok = ok;

	if (--ready.running == 0)
		ready_finish();
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
	struct ready_wait	*w;

	if (!svc_begin(req, &r_readyz))
		return (KORE_RESULT_OK);

	if (kore_draining) {
		ready_draining(req);
		return (KORE_RESULT_OK);
	}

	w = svc_app_state(req, sizeof(*w), ready_wait_cleanup);
	if (w->queued) {
		/* Woken by something else: the refresh still runs. */
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	if (!w->woken && ready_nchecks > 0 && (!ready.known ||
	    kore_time_ms() - ready.at >= SVC_READY_TTL_MS)) {
		if (ready.running == 0)
			ready_refresh();
		/* Still running (it may have ended inside its start). */
		if (ready.running > 0) {
			w->req = req;
			w->queued = 1;
			TAILQ_INSERT_TAIL(&ready_waiting, w, list);
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
	}

	ready_answer(req);
	return (KORE_RESULT_OK);
}

/* Starts every check; the guard keeps one ending at once from finishing. */
static void
ready_refresh(void)
{
	struct svc_ready_check	*chk;
	size_t			i;

	ready.running = 1;
	for (i = 0; i < ready_nchecks; i++) {
		chk = ready_checks[i];
		chk->running = 1;
		chk->ok = 0;
		ready.running++;
		chk->start(chk);
	}

	if (--ready.running == 0)
		ready_finish();
}

/* The last check ended: the new state, and every waiting call answers. */
static void
ready_finish(void)
{
	struct ready_wait	*w;
	size_t			i;

	ready.known = 1;
	ready.at = kore_time_ms();
	ready.failed = NULL;
	for (i = 0; i < ready_nchecks; i++) {
		if (!ready_checks[i]->ok) {
			ready.failed = ready_checks[i]->name;
			break;
		}
	}

	while ((w = TAILQ_FIRST(&ready_waiting)) != NULL) {
		TAILQ_REMOVE(&ready_waiting, w, list);
		w->queued = 0;
		w->woken = 1;
		http_request_wakeup(w->req);
	}
}

static void
ready_answer(struct http_request *req)
{
	struct svc_error	err;
	struct kore_buf		buf;

	if (ready.failed != NULL) {
		svc_error_init(&err);
		svc_error_set(&err, SVC_UNAVAILABLE,
		    "not ready: %s is unavailable", ready.failed);
		err.retry_after = 1;
		svc_respond_error(req, &err);
		return;
	}

	kore_buf_init(&buf, 32);
	kore_buf_append(&buf, "{\"status\":\"ready\"}", 18);
	svc_respond_json(req, HTTP_STATUS_OK, &buf);
	kore_buf_cleanup(&buf);
}

/*
 * Draining (SIGTERM, graceful-drain.patch): not ready from the first
 * moment, whatever the dependencies say, so that a balancer takes this
 * instance out of its rotation while it still serves. SVC_DRAINING_HEADER
 * tells the callers' own readiness checks that this is one instance
 * going away, not the service failing (upstream.c).
 */
static void
ready_draining(struct http_request *req)
{
	struct svc_error	err;

	svc_error_init(&err);
	svc_error_set(&err, SVC_UNAVAILABLE,
	    "not ready: this instance is shutting down");
	err.retry_after = 1;
	http_response_header(req, SVC_DRAINING_HEADER, "1");
	svc_respond_error(req, &err);
}

/* A waiting call freed (its client went away): off the list. */
static void
ready_wait_cleanup(void *arg)
{
	struct ready_wait	*w = arg;

	if (w->queued) {
		TAILQ_REMOVE(&ready_waiting, w, list);
		w->queued = 0;
	}
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
