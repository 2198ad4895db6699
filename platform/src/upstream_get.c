/*
 * upstream_get.c - one string read live from another service's answer
 * (upstream_get_string(), upstream.h): e.g. a shipment's status as the
 * service that tracks it reports it now.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "json.h"
#include "svc_error.h"
#include "upstream.h"

/* Bounds a member path ("shipment.status"): a few names, short ones. */
#define MEMBER_MAX		128

static const char	*member_string(const struct json_value *,
			    const char *);

int
upstream_get_string(struct http_request *req, struct upstream_call *c,
    int target, const char *path, u_int32_t budget_ms,
    const char *member, char *out, size_t len)
{
	struct upstream_req	ur;
	struct svc_error	err;
	struct json_value	*doc;
	const char		*s;
	int			r;

	memset(&ur, 0, sizeof(ur));
	ur.target = target;
	ur.method = HTTP_METHOD_GET;
	ur.path = path;
	ur.flags = UPSTREAM_RETRYABLE;		/* a GET changes nothing */
	ur.budget_ms = budget_ms;

	svc_error_init(&err);
	if ((r = upstream_exec(req, c, &ur, &err)) == UPSTREAM_PENDING)
		return (UPSTREAM_PENDING);

	out[0] = '\0';
	if (r != UPSTREAM_DONE || upstream_status(c) != 200 ||
	    (doc = upstream_json(c, &err)) == NULL)
		return (UPSTREAM_FAILED);

	/* Never cut short: a string that does not fit is not the value. */
	if ((s = member_string(doc, member)) != NULL && strlen(s) < len)
		(void)kore_strlcpy(out, s, len);
	json_free(doc);

	return (out[0] != '\0' ? UPSTREAM_DONE : UPSTREAM_FAILED);
}

/* The string at a dotted member path of doc, NULL if there is none. */
static const char *
member_string(const struct json_value *doc, const char *member)
{
	char		name[MEMBER_MAX], *p, *dot;

	if (kore_strlcpy(name, member, sizeof(name)) >= sizeof(name))
		return (NULL);

	for (p = name; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
		*dot = '\0';
		if ((doc = json_get_object(doc, p)) == NULL)
			return (NULL);
	}

	return (json_get_string(doc, p));
}
