/*
 * path.h - path parameters of a request, by segment.
 *
 * Routes are Kore regexes in conf/<svc>.conf; a handler reads the n-th
 * segment ("/inventory/ABC-1" -> 0 "inventory", 1 "ABC-1") and checks it
 * with a fmt_* function, answering 400 when it is malformed.
 */

#ifndef __H_PATH_H
#define __H_PATH_H

#include <stddef.h>

struct http_request;

/* 1 when segment n exists and fits in out (len bytes, NUL included). */
int	path_segment(const char *, int, char *, size_t);

/*
 * Segment n of the request's path, checked with check (a fmt_* function):
 * 1 with the value in out; else the request is answered 400
 * validation_failed with the detail {field, problem} and 0 returned.
 */
int	path_param(struct http_request *, int, int (*)(const char *),
	    const char *, const char *, char *, size_t);

/* path_param() for ids: a canonical lower-case UUID. */
int	path_uuid(struct http_request *, int, const char *, char *, size_t);

#endif
