/*
 * request.c - a request's platform state, from its first use to its one
 * log line and its metrics (request.h).
 */

#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <strings.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admission.h"
#include "fmt.h"
#include "metrics.h"
#include "request.h"
#include "route.h"
#include "svc_int.h"
#include "svc_log.h"

/*
 * Randomness for request ids: one getrandom(2) per 16 ids instead of one
 * per request.  Per process, emptied in every new worker (after fork), so
 * no two workers ever share bytes.
 */
static u_int8_t	reqid_pool[256];
static size_t	reqid_left;

static u_int64_t	requests_done;

static void	svc_req_onfree(struct http_request *);

u_int64_t
svc_requests_done(void)
{
	return (requests_done);
}

int
svc_header_count(struct http_request *req, const char *name)
{
	struct http_header	*hdr;
	int			n;

	n = 0;
	TAILQ_FOREACH(hdr, &req->req_headers, list) {
		if (!strcasecmp(hdr->header, name))
			n++;
	}

	return (n);
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

	/* Two are none well-formed: which would the caller trace? */
	if (http_request_header(req, "x-request-id", &hdr) &&
	    fmt_request_id(hdr) && svc_header_count(req, "x-request-id") == 1) {
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

/* A new worker: never the parent's bytes (it has none, but fork copies). */
void
svc_request_ids_reset(void)
{
	reqid_left = 0;
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
	/* Gone while it waited, too: its spot goes to the next one. */
	admission_leave(&sr->admit);

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
	requests_done++;

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

	/* Answered: its place is free for the next one (admission.h). */
	admission_leave(&sr->admit);

	if (sr->in_flight) {
		metrics_request_leave();
		sr->in_flight = 0;
	}
}
