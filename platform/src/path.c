/*
 * path.c - path segments (see path.h).
 */

#include <stddef.h>
#include <string.h>

#include "path.h"

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
