/*
 * request.h - a request's platform state: its id, its route and caller,
 * when it started, whether it has been answered; and the handler's own
 * state, which lives and dies with it.
 *
 * The platform owns req->hdlr_extra (it holds struct svc_req): handlers
 * must NOT call http_state_create(); they keep their own state in
 * svc_app_state().  The request ends with its one log line and its
 * metrics, written when it is answered (respond.h) or, when its client
 * went away first, when Kore frees it (status 499).
 */

#ifndef __H_REQUEST_H
#define __H_REQUEST_H

#include <stddef.h>
#include <time.h>

#include "admission.h"

struct http_request;
struct svc_route;

#define SVC_REQID_MAX		64

/* Per-request platform state, lives in req->hdlr_extra. */
struct svc_req {
	char			request_id[SVC_REQID_MAX + 1];
	const struct svc_route	*route;
	const char		*caller;	/* the credential's name */
	struct timespec		start;		/* CLOCK_MONOTONIC */
	int			begun;
	int			responded;
	int			in_flight;	/* counted in the gauge */
	int			prepared;	/* svc_enter()'s prepare ran */
	struct admission_slot	admit;		/* its place (admission.h) */

	/* The handler's own state (svc_app_state()). */
	void			*app;
	void			(*app_cleanup)(void *);
};

/* Requests this process has answered (svc_finish()) since it started. */
u_int64_t	svc_requests_done(void);

/* How many times the request carries the header name (any case). */
int		svc_header_count(struct http_request *, const char *);

/* NULL before svc_begin(). */
struct svc_req	*svc_req(struct http_request *);

/* Never NULL: "-" before svc_begin(). */
const char	*svc_request_id(struct http_request *);

/*
 * The handler's per-request state: allocated zeroed on the first call
 * (len bytes), returned as is afterwards.  cleanup (may be NULL) runs
 * before it is freed with the request.  It runs from req->onfree, i.e.
 * BEFORE Kore's own cleanup of req->pgsqls / req->chandles: a state that
 * embeds a struct kore_pgsql or kore_curl must release it there
 * (kore_pgsql_cleanup / kore_curl_cleanup), or Kore would touch freed
 * memory.
 */
void		*svc_app_state(struct http_request *, size_t,
		    void (*)(void *));

#endif
