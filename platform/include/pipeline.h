/*
 * pipeline.h - the start of every request: request id -> rate limit ->
 * auth -> method -> content type, then the handler.
 *
 * A handler:
 *
 *	int
 *	stock_item(struct http_request *req)
 *	{
 *		if (!svc_begin(req, &r_item))		(route.h)
 *			return (KORE_RESULT_OK);	(already answered)
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

/* 1: go on; 0: the request was answered (error), return KORE_RESULT_OK. */
int		svc_begin(struct http_request *, const struct svc_route *);

/*
 * The start of every re-entrant handler: svc_begin(), the handler's state
 * (as svc_app_state(), request.h) and, on the first entry only,
 * prepare(req, state), which checks the request and fills the state - or
 * answers the request itself and returns 0.  Returns the state; NULL when
 * the request has been answered (the handler then returns
 * KORE_RESULT_OK).
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

/* The pipeline's checks on their own (unit-tested). */
int		svc_content_type_ok(const char *);
int		svc_caller_allowed(const struct svc_route *, const char *);

#endif
