/*
 * svc.h - the service descriptor and the per-request pipeline shared by
 * every service.
 *
 * A service's facts are declared once, in apps/NAME/service.decl (the one
 * list of services, platform/tools/service-decl), from which the build
 * generates its svc_decl: name, auth, default rate limit, the services it
 * calls (upstream.h) and the callers each route allows.  Its code defines
 * exactly one descriptor of what it runs at start:
 *
 *	const struct svc_app svc_app = {
 *		.parent_init = stock_parent_init,	(may be NULL)
 *		.worker_init = stock_worker_init,	(may be NULL)
 *	};
 *
 * The platform defines Kore's hooks kore_parent_configure() and
 * kore_worker_configure() and calls the app's inits from them.
 *
 * Configuration, read once from the environment by the parent before the
 * workers fork (and before any chroot):
 *	CREDENTIALS_FILE	the credentials the service accepts, one
 *				"<name> <sha256 hex of the token>" a line
 *				(auth.h); required unless auth ==
 *				SVC_AUTH_NONE.  SVC_AUTH_API_KEY: the named
 *				client keys; SVC_AUTH_SERVICE: SVC_OPERATOR
 *				(the operators' SERVICE_TOKEN) and the
 *				identities of the services that call it.
 *	IDENTITY_TOKEN_FILE	the service's own token, presented on its
 *				calls to other services (upstream.h;
 *				required when it makes any)
 *				A missing, unreadable or empty file is fatal
 *				at start; one trailing newline (and CR) of the
 *				token is stripped.
 *	RATE_LIMIT_RATE		requests per second per client address
 *				(default svc_decl.default_rate)
 *	RATE_LIMIT_BURST	bucket size (default svc_decl.default_burst)
 *	RATE_LIMIT_SLOTS	client addresses tracked (default 8192)
 *
 * A handler:
 *
 *	static const struct svc_route r_item = {
 *		"/items/:id", HTTP_METHOD_GET | HTTP_METHOD_PUT,
 *		SVC_ROUTE_JSON_BODY
 *	};
 *
 *	int
 *	stock_item(struct http_request *req)
 *	{
 *		if (!svc_begin(req, &r_item))
 *			return (KORE_RESULT_OK);	(already answered)
 *		...
 *		svc_respond_json(req, 200, &buf);
 *		return (KORE_RESULT_OK);
 *	}
 *
 * svc_begin() is idempotent per request, so handlers driven by
 * http_state_run() may call it on every entry.  The platform owns
 * req->hdlr_extra (it holds struct svc_req): handlers must NOT call
 * http_state_create(); they keep their own state in svc_app_state().
 */

#ifndef __H_SVC_H
#define __H_SVC_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#include "svc_error.h"

struct http_request;
struct kore_buf;
struct json_schema;
struct json_value;

#define SVC_AUTH_NONE		0	/* no credentials (tests only) */
#define SVC_AUTH_API_KEY	1	/* client API keys: every route */
#define SVC_AUTH_SERVICE	2	/* identities: the routes naming them */

/* The credential (SERVICE_TOKEN) that opens every route of a service. */
#define SVC_OPERATOR		"operator"

/* An `allow` line: a route (svc_route.name) and its callers. */
struct svc_grant {
	const char	*route;
	const char	*callers;	/* space-separated identities */
};

/* Generated from apps/NAME/service.decl (decl.c). */
struct svc_decl {
	const char		*name;
	int			auth;
	u_int32_t		default_rate;
	u_int32_t		default_burst;
	/* The services it calls, NULL-terminated: upstream_req.target. */
	const char *const	*calls;
	/*
	 * SVC_AUTH_SERVICE: the caller identities each route allows besides
	 * the operator; a route not listed is the operator's only.  Ends
	 * with a NULL route.  Not used with SVC_AUTH_API_KEY, where every
	 * client key opens every route.
	 */
	const struct svc_grant	*grants;
};

struct svc_app {
	void		(*parent_init)(void);
	void		(*worker_init)(void);
};

extern const struct svc_decl	svc_decl;
extern const struct svc_app	svc_app;

/* svc_route.flags */
#define SVC_ROUTE_PUBLIC	0x01	/* no Authorization needed */
#define SVC_ROUTE_JSON_BODY	0x02	/* bodies (POST/PUT/PATCH) are JSON */
#define SVC_ROUTE_NO_RATELIMIT	0x04	/* probes: /healthz, /readyz */

struct svc_route {
	const char	*name;		/* metrics/log label "/items/:id" */
	int		methods;	/* HTTP_METHOD_* flags allowed */
	int		flags;
};

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

	/* The handler's own state (svc_app_state()). */
	void			*app;
	void			(*app_cleanup)(void *);
};

/* 1: go on; 0: the request was answered (error), return KORE_RESULT_OK. */
int		svc_begin(struct http_request *, const struct svc_route *);

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

/*
 * The start of every re-entrant handler: svc_begin(), the handler's state
 * (as svc_app_state()) and, on the first entry only, prepare(req, state),
 * which checks the request and fills the state - or answers the request
 * itself and returns 0.  Returns the state; NULL when the request has been
 * answered (the handler then returns KORE_RESULT_OK).
 *
 *	if ((st = svc_enter(req, &r_item, sizeof(*st), item_cleanup,
 *	    item_prepare)) == NULL)
 *		return (KORE_RESULT_OK);
 */
void		*svc_enter(struct http_request *, const struct svc_route *,
		    size_t, void (*)(void *),
		    int (*)(struct http_request *, void *));

/*
 * Reads and parses the request body as JSON against schema.  On error it
 * answers (400/413/...) and returns NULL.  Free with json_free().
 */
struct json_value	*svc_body_json(struct http_request *,
			    const struct json_schema *);

/* The identity token for downstream calls, NULL if not configured. */
const char	*svc_identity_token(void);

/*
 * Readiness (GET /readyz, CONTRACT §2): 200 {"status":"ready"} when every
 * dependency check the service registered passed in its worker's last
 * refresh, else 503 unavailable (Retry-After) naming the first that
 * failed.  /readyz is answered from that state: a call that finds it older
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
#define SVC_READY_TTL_MS	1000
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

/* Kore hooks (defined by the platform). */
void		kore_parent_configure(int, char **);
void		kore_worker_configure(void);

/*
 * Installed as Kore's http_error_hook (platform/kore/patches/
 * http-error-hook.patch) by kore_parent_configure() and
 * kore_worker_configure(): renders the errors Kore's HTTP layer raises
 * itself (400/404/405/408/413/414/431/500/503...) with the same renderer
 * as every other error (Kore has none of its own), logs their line and
 * counts them (route label "-").  Appends header lines to hdrs, the body
 * to body.
 */
struct connection;
struct http_error;
void		svc_kore_error(struct connection *, const struct http_error *,
		    struct kore_buf *, struct kore_buf *);

/* Test/implementation helpers. */
const char	*svc_method_name(int);
void		svc_allow_header(int, char *, size_t);
int		svc_content_type_ok(const char *);
int		svc_caller_allowed(const struct svc_route *, const char *);

#endif
