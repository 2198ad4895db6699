/*
 * pipeline.h - the start of every request: request id -> rate limit ->
 * auth -> method -> content type -> admission (admission.h), then the
 * handler.
 *
 * A handler:
 *
 *	int
 *	stock_item(struct http_request *req)
 *	{
 *		if (!svc_begin(req, &r_item))		(route.h)
 *			return (svc_stopped(req));	(answered, or waiting
 *							 for its turn)
 *		...
 *		svc_respond_json(req, 200, &buf);	(respond.h)
 *		return (KORE_RESULT_OK);
 *	}
 *
 * svc_begin() is idempotent per request, so handlers driven by
 * http_state_run() may call it on every entry.
 */

#ifndef __H_PIPELINE_H
#define __H_PIPELINE_H

#include <stddef.h>

struct http_request;
struct json_schema;
struct json_value;
struct svc_route;

/*
 * 1: go on; 0: stop, the handler returns svc_stopped(req): the request
 * was answered (an error, or shed because the service is at capacity), or
 * it waits asleep for its turn and Kore runs the handler again when it
 * is admitted or shed.
 */
int		svc_begin(struct http_request *, const struct svc_route *);

/*
 * What a handler returns when svc_begin() or svc_enter() said stop:
 * KORE_RESULT_RETRY while the request waits for admission, else
 * KORE_RESULT_OK (it has been answered).
 */
int		svc_stopped(struct http_request *);

/*
 * The start of every re-entrant handler: svc_begin(), the handler's state
 * (as svc_app_state(), request.h) and, on the first entry only,
 * prepare(req, state), which checks the request and fills the state - or
 * answers the request itself and returns 0.  It runs once the request is
 * admitted.  Returns the state; NULL when svc_begin() said stop or the
 * request has been answered (the handler then returns svc_stopped()).
 *
 *	if ((st = svc_enter(req, &r_item, sizeof(*st), item_cleanup,
 *	    item_prepare)) == NULL)
 *		return (svc_stopped(req));
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

/* The pipeline's checks on their own (unit-tested). */
int		svc_content_type_ok(const char *);
int		svc_caller_allowed(const struct svc_route *, const char *);

#endif
