/*
 * items.c - order lines into PostgreSQL array literals (see items.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "items.h"
#include "respond.h"
#include "svc_error.h"

static void	items_quote(struct kore_buf *, const char *);

int
items_parse(const struct json_value *array, struct items *it,
    struct svc_error *err)
{
	const struct json_value	*line;
	struct kore_buf		pa, qa;
	const char		*pid;
	char			field[48];
	int64_t			qty;
	size_t			i, j, len;

	memset(it, 0, sizeof(*it));
	it->count = json_array_len(array);
	it->ids = kore_calloc(it->count + 1, sizeof(char *));

	kore_buf_init(&pa, 256);
	kore_buf_init(&qa, 128);
	kore_buf_append(&pa, "{", 1);
	kore_buf_append(&qa, "{", 1);

	for (i = 0; i < it->count; i++) {
		line = json_array_at(array, i);
		pid = json_get_string(line, "product_id");
		(void)json_get_int(line, "quantity", &qty);
		it->ids[i] = kore_strdup(pid);
		for (j = 0; j < i; j++) {
			if (strcmp(it->ids[j], pid))
				continue;
			(void)snprintf(field, sizeof(field),
			    "items[%zu].product_id", i);
			svc_error_detail(err, field,
			    "product %s is listed twice (items[%zu])", pid, j);
		}
		if (i > 0)
			kore_buf_append(&pa, ",", 1);
		items_quote(&pa, pid);
		kore_buf_appendf(&qa, "%s%lld", i > 0 ? "," : "",
		    (long long)qty);
	}

	kore_buf_append(&pa, "}", 2);		/* with the NUL */
	kore_buf_append(&qa, "}", 2);
	it->products = (char *)kore_buf_release(&pa, &len);
	it->quantities = (char *)kore_buf_release(&qa, &len);

	return (err->ndetails == 0);
}

/*
 * One element of a text[] literal, always double-quoted: unquoted, the
 * valid product id NULL would be SQL NULL.  The schema admits no quote
 * or backslash; they are escaped all the same.
 */
static void
items_quote(struct kore_buf *buf, const char *s)
{
	size_t		n;

	kore_buf_append(buf, "\"", 1);
	while (*s != '\0') {
		n = strcspn(s, "\"\\");
		kore_buf_append(buf, s, n);
		s += n;
		if (*s == '\0')
			break;
		kore_buf_append(buf, "\\", 1);
		kore_buf_append(buf, s++, 1);
	}
	kore_buf_append(buf, "\"", 1);
}

int
items_take(struct http_request *req, const struct json_value *array,
    struct items *it)
{
	struct svc_error	err;

	svc_error_init(&err);
	if (items_parse(array, it, &err))
		return (1);

	svc_error_set(&err, SVC_VALIDATION_FAILED,
	    "each product may appear once");
	svc_respond_error(req, &err);
	return (0);
}

void
items_free(struct items *it)
{
	size_t		i;

	if (it->ids != NULL) {
		for (i = 0; i < it->count; i++)
			kore_free(it->ids[i]);
		kore_free(it->ids);
	}
	kore_free(it->products);
	kore_free(it->quantities);
	memset(it, 0, sizeof(*it));
}

ssize_t
items_index(const struct items *it, const char *pid)
{
	size_t		i;

	for (i = 0; i < it->count; i++) {
		if (!strcmp(it->ids[i], pid))
			return ((ssize_t)i);
	}
	return (-1);
}
