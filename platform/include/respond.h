/*
 * respond.h - the only ways a service answers a request.  Every answer,
 * success or error, goes through svc_respond_*(): they set Content-Type
 * ("application/json; charset=utf-8") and X-Request-Id and write the
 * request's one log line and its metrics.  Errors travel as values
 * (struct svc_error, svc_error.h) to svc_respond_error(); no handler
 * formats an error body itself.
 */

#ifndef __H_RESPOND_H
#define __H_RESPOND_H

#include "svc_error.h"

struct http_request;
struct kore_buf;

void		svc_respond_error(struct http_request *,
		    const struct svc_error *);
void		svc_respond_json(struct http_request *, int, struct kore_buf *);
void		svc_respond_status(struct http_request *, int);

/* Shorthand: svc_error_set() + svc_respond_error() (no details). */
void		svc_fail(struct http_request *, enum svc_code,
		    const char *, ...) __attribute__((format (printf, 3, 4)));

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

#endif
