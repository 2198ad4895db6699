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

/* 1 when segment n exists and fits in out (len bytes, NUL included). */
int	path_segment(const char *, int, char *, size_t);

#endif
