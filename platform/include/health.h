/*
 * health.h - the platform's own routes and the readiness checks behind
 * /readyz.
 *
 * Readiness (GET /readyz, CONTRACT §2): 200 {"status":"ready"} when every
 * dependency check the service registered passed in its worker's last
 * refresh, else 503 unavailable (Retry-After) naming the first that
 * failed; 503 at once, without a check, once the service drains.  /readyz is answered from that state: a call that finds it older
 * than SVC_READY_TTL_MS starts one refresh (or joins the one running) and
 * waits for it, any other call is answered at once.  So each worker runs
 * at most one refresh per SVC_READY_TTL_MS, and only while someone asks,
 * however many calls come (/readyz is not rate-limited, so probes always
 * get through).  A refresh runs every check at once; each must end within
 * about a second (db_ready_add(), upstream_ready_add() do).  Without a
 * check, /readyz is always 200.
 *
 * A check: svc_ready_add() it from the app's worker_init (at most
 * SVC_READY_CHECKS_MAX); start(check) begins one run, which ends with
 * svc_ready_done(check, ok) exactly once, from the event loop or from
 * inside start() itself.  name names it in the 503 ("database", or the
 * called service's name).
 */

#ifndef __H_HEALTH_H
#define __H_HEALTH_H

struct http_request;

#define SVC_READY_TTL_MS	1000

/*
 * Once the service drains (SIGTERM) /readyz answers 503 at once, with this
 * header: a caller's readiness check takes it for "another instance of
 * that service will answer", not for the service being down.
 */
#define SVC_DRAINING_HEADER	"x-draining"
#define SVC_READY_CHECKS_MAX	4

struct svc_ready_check {
	const char	*name;
	void		(*start)(struct svc_ready_check *);
	int		running;	/* the platform's */
	int		ok;		/* the platform's */
};

void		svc_ready_add(struct svc_ready_check *);
void		svc_ready_done(struct svc_ready_check *, int);

/*
 * Platform page handlers, mapped in conf/<svc>.conf:
 *	/healthz  -> svc_healthz	public, not rate-limited
 *	/readyz   -> svc_readyz		public, not rate-limited
 *	/metrics  -> svc_metrics	public, rate-limited
 *	^/.*$     -> svc_not_found	(last route) 404 not_found
 */
int		svc_healthz(struct http_request *);
int		svc_readyz(struct http_request *);
int		svc_metrics(struct http_request *);
int		svc_not_found(struct http_request *);

#endif
