/*
 * admission.h - how much of the API a worker runs at once (CONTRACT §2,
 * overload): at most admission_limit requests run, at most
 * admission_queue more wait for their turn, first come first served, each
 * no longer than admission_queue_ms.  A request beyond both, or one whose
 * wait ran out, is shed: answered 503 unavailable with Retry-After before
 * any of its work is done (the pipeline, pipeline.h, asks right after the
 * request's own checks: rate limit, credentials, method, content type).
 * An admitted request is never shed; its place is freed when it is
 * answered or its client goes away.  The platform's own routes (probes,
 * /metrics, 404) are never held nor shed.
 *
 * Settings (per worker; the service's Kore configuration file, read by
 * settings.c through Kore's config-application-settings.patch):
 *	admission_limit		requests running at once (default 64)
 *	admission_queue		requests waiting for their turn (default 256;
 *				0: none waits, a request beyond the limit is
 *				shed at once)
 *	admission_queue_ms	the longest wait (default 500)
 *
 * /metrics:
 *	admission_in_flight, admission_waiting		gauges
 *	admission_shed_total{reason}			counter; reason
 *		"queue_full", "queue_timeout", or "request_limit" (Kore's
 *		own http_request_limit, counted by respond.c)
 *	admission_wait_seconds				histogram of the
 *		waits that ended (admitted or shed)
 */

#ifndef __H_ADMISSION_H
#define __H_ADMISSION_H

#include <sys/types.h>
#include <sys/queue.h>

struct http_request;

/* admission_slot.state */
#define ADMISSION_NONE		0	/* not asked, or gone */
#define ADMISSION_IN		1	/* admitted: holds a place */
#define ADMISSION_WAITING	2	/* queued; its request sleeps */
#define ADMISSION_SHED		3	/* refused; to be answered 503 */

/* Defaults and bounds of the settings. */
#define ADMISSION_LIMIT_DEFAULT		64
#define ADMISSION_QUEUE_DEFAULT		256
#define ADMISSION_QUEUE_MS_DEFAULT	500
#define ADMISSION_LIMIT_MAX		100000
#define ADMISSION_QUEUE_MAX		100000
/*
 * A wait counts against the request's deadlines (they run from its
 * arrival): it stays well inside the contract's 2 s.
 */
#define ADMISSION_QUEUE_MS_MAX		1000

/* Seconds the shed answers' Retry-After asks for. */
#define ADMISSION_RETRY_AFTER		1

struct admission_config {
	u_int32_t	limit;
	u_int32_t	queue;
	u_int32_t	queue_ms;
};

/* The settings (settings.c fills them in the parent). */
extern struct admission_config	admission_config;

/* A request's place; lives in its struct svc_req (request.h). */
struct admission_slot {
	TAILQ_ENTRY(admission_slot)	list;
	struct http_request		*req;	/* woken on its turn or shed;
						   NULL: nobody to wake */
	int				state;
	u_int64_t			since;	/* kore_time_ms() of asking */
};

/* Worker: the metrics' help texts and the timer that ends long waits. */
void		admission_worker_init(void);

/*
 * Asks for a place at time now (kore_time_ms()): ADMISSION_IN (go on),
 * ADMISSION_WAITING (the caller puts the request to sleep; it is woken
 * once admitted or shed) or ADMISSION_SHED (answer 503).  Asking again
 * returns the slot's state as it is now.
 */
int		admission_enter(struct admission_slot *, struct http_request *,
		    u_int64_t);

/*
 * The request is answered or gone: its place (or its spot in the queue)
 * is freed, and the first one waiting, if any, is admitted and woken.
 */
void		admission_leave(struct admission_slot *);

/*
 * Sheds (and wakes) those that have waited admission_queue_ms by now;
 * the worker's timer calls it.  Returns the ms until the next one is
 * due, 0 when nobody waits.
 */
u_int64_t	admission_expire(u_int64_t);

/* admission_shed_total{reason} + 1, for a shed decided elsewhere. */
void		admission_shed_count(const char *);

/* The worker's counts now (tests, metrics). */
u_int32_t	admission_running(void);
u_int32_t	admission_waiting(void);

#endif
