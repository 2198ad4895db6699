/*
 * svc.h - the service's declaration and descriptor, and the start of a
 * service: the platform defines Kore's hooks kore_parent_configure() and
 * kore_worker_configure() and calls the app's inits from them.
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
 * Its requests: route.h (what a handler declares), pipeline.h (the start
 * of every handler), request.h (a request's state), respond.h (the
 * answers), health.h (/healthz, /readyz, /metrics).
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
 * Settings of the platform's own in the service's Kore configuration file
 * (Kore's config-application-settings.patch calls kore_parent_setting()
 * for a setting it does not know; settings.c): admission_limit,
 * admission_queue, admission_queue_ms (admission.h).
 */

#ifndef __H_SVC_H
#define __H_SVC_H

#include <sys/types.h>

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

/* The identity token for downstream calls, NULL if not configured. */
const char	*svc_identity_token(void);

/* Kore hooks (defined by the platform). */
void		kore_parent_configure(int, char **);
void		kore_worker_configure(void);
int		kore_parent_setting(const char *, const char *);

#endif
