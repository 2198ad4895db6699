/*
 * route.c - the names of HTTP methods (route.h).
 */

#include <sys/types.h>

#include <stdio.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "route.h"

const char *
svc_method_name(int m)
{
	switch (m) {
	case HTTP_METHOD_GET:
		return ("GET");
	case HTTP_METHOD_POST:
		return ("POST");
	case HTTP_METHOD_PUT:
		return ("PUT");
	case HTTP_METHOD_DELETE:
		return ("DELETE");
	case HTTP_METHOD_HEAD:
		return ("HEAD");
	case HTTP_METHOD_OPTIONS:
		return ("OPTIONS");
	case HTTP_METHOD_PATCH:
		return ("PATCH");
	default:
		return ("OTHER");
	}
}

void
svc_allow_header(int methods, char *buf, size_t len)
{
	static const int	order[] = {
		HTTP_METHOD_GET, HTTP_METHOD_HEAD, HTTP_METHOD_POST,
		HTTP_METHOD_PUT, HTTP_METHOD_PATCH, HTTP_METHOD_DELETE,
		HTTP_METHOD_OPTIONS
	};
	size_t			i, off;

	if (len == 0)
		return;
	buf[0] = '\0';
	off = 0;

	/* A GET route answers HEAD too. */
	if (methods & HTTP_METHOD_GET)
		methods |= HTTP_METHOD_HEAD;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(methods & order[i]))
			continue;
		if (off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off > 0 ? ", " : "", svc_method_name(order[i]));
	}
}
