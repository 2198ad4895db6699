/*
 * items.h - the order lines the services receive and pass on,
 * receive, [{"product_id", "quantity"}] with each product at most once,
 * turned into the two PostgreSQL array literals their SQL functions take.
 *
 * The body schema checks each line (ITEM_FIELDS); items_parse() checks
 * what a per-field schema cannot (a product listed twice) and builds
 *	products	{"A-1","NULL"}	(each element double-quoted, so
 *					the valid id NULL is not SQL NULL)
 *	quantities	{1,5}
 */

#ifndef __H_ITEMS_H
#define __H_ITEMS_H

#include <stddef.h>

#include "fmt.h"
#include "json.h"

#define ITEM_PRODUCT_MAX	64

/* The fields of one order line; quantities 1..qmax. */
#define ITEM_FIELDS(qmax)						\
	{ "product_id", JSON_STRING, JSON_REQUIRED, 2, ITEM_PRODUCT_MAX,\
	    fmt_product_id, "must match ^[A-Z0-9][A-Z0-9-]{1,63}$", NULL },\
	{ "quantity", JSON_INTEGER, JSON_REQUIRED, 1, (qmax),		\
	    NULL, NULL, NULL }

struct http_request;
struct svc_error;

struct items {
	size_t		count;
	char		*products;	/* array literal, kore_malloc'd */
	char		*quantities;	/* array literal, kore_malloc'd */
	char		**ids;		/* the product ids, in request order */
};

/*
 * From a validated "items" array: 1 when every product is listed once,
 * else 0 with one validation_failed detail per repeat in err (field
 * "items[i].product_id").  items_free() in both cases.
 */
int		items_parse(const struct json_value *, struct items *,
		    struct svc_error *);
void		items_free(struct items *);

/*
 * items_parse() for a handler: on a repeated product the request is
 * answered 400 validation_failed (one detail per repeat) and 0 returned.
 */
int		items_take(struct http_request *, const struct json_value *,
		    struct items *);

/* The place of a product in the request, -1 when absent. */
ssize_t		items_index(const struct items *, const char *);

#endif
