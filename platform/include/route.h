/*
 * route.h - what a handler declares about its route: its name, the
 * methods it answers and how the pipeline treats it (pipeline.h; the
 * callers a route admits are the declaration's, svc.h); and the names of
 * the HTTP methods, as logs, metrics and the Allow header spell them.
 *
 *	static const struct svc_route r_item = {
 *		"/items/:id", HTTP_METHOD_GET | HTTP_METHOD_PUT,
 *		SVC_ROUTE_JSON_BODY
 *	};
 */

#ifndef __H_ROUTE_H
#define __H_ROUTE_H

#include <stddef.h>

/* svc_route.flags */
#define SVC_ROUTE_PUBLIC	0x01	/* no Authorization needed */
#define SVC_ROUTE_JSON_BODY	0x02	/* bodies (POST/PUT/PATCH) are JSON */
#define SVC_ROUTE_NO_RATELIMIT	0x04	/* probes: /healthz, /readyz */
#define SVC_ROUTE_NO_ADMISSION	0x08	/* the platform's routes: never
					   held nor shed (admission.h) */

struct svc_route {
	const char	*name;		/* metrics/log label "/items/:id" */
	int		methods;	/* HTTP_METHOD_* flags allowed */
	int		flags;
};

/* "GET", "POST", ...; "OTHER" for any other method flag. */
const char	*svc_method_name(int);

/*
 * The Allow header for a set of HTTP_METHOD_* flags ("GET, HEAD, PUT"):
 * a GET route answers HEAD too.
 */
void		svc_allow_header(int, char *, size_t);

#endif
