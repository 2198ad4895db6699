/*
 * path.c - path segments (see path.h).
 */

#include <sys/types.h>

#include <stddef.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "fmt.h"
#include "path.h"
#include "respond.h"
#include "svc_error.h"

int
path_segment(const char *path, int n, char *out, size_t len)
{
	const char	*p, *end;
	size_t		seglen;

	if (path == NULL || *path != '/' || len == 0)
		return (0);

	p = path + 1;
	for (;;) {
		end = strchr(p, '/');
		seglen = (end != NULL) ? (size_t)(end - p) : strlen(p);
		if (n == 0) {
			if (seglen >= len)
				return (0);
			memcpy(out, p, seglen);
			out[seglen] = '\0';
			return (1);
		}
		if (end == NULL)
			return (0);
		p = end + 1;
		n--;
	}
}

int
path_param(struct http_request *req, int n, int (*check)(const char *),
    const char *field, const char *problem, char *out, size_t len)
{
	struct svc_error	err;

	if (path_segment(req->path, n, out, len) && check(out))
		return (1);

	svc_error_init(&err);
	svc_error_set(&err, SVC_VALIDATION_FAILED,
	    "the %s in the path is malformed", field);
	svc_error_detail(&err, field, "%s", problem);
	svc_respond_error(req, &err);
	return (0);
}

int
path_uuid(struct http_request *req, int n, const char *field, char *out,
    size_t len)
{
	return (path_param(req, n, fmt_uuid, field,
	    "must be a lower-case UUID", out, len));
}
