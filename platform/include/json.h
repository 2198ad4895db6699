/*
 * json.h - strict JSON request parsing against a declarative schema (the
 * writer is json_writer.h).
 *
 * Parsing runs yajl's callback parser (not yajl_tree) so duplicate keys are
 * seen, into a bounded tree (JSON_MAX_DEPTH, JSON_MAX_NODES,
 * JSON_MAX_STRING bytes per string), then checks the tree against a schema
 * made of static arrays of struct json_field:
 *
 *	static const struct json_field item_fields[] = {
 *		{ "product_id", JSON_STRING, JSON_REQUIRED, 2, 64,
 *		    fmt_product_id, "must match ^[A-Z0-9][A-Z0-9-]{1,63}$", NULL },
 *		{ "quantity", JSON_INTEGER, JSON_REQUIRED, 1, 1000,
 *		    NULL, NULL, NULL },
 *	};
 *	static const struct json_schema item_schema =
 *	    JSON_SCHEMA(item_fields);
 *	static const struct json_field body_fields[] = {
 *		{ "items", JSON_ARRAY, JSON_REQUIRED, 1, 100, NULL, NULL,
 *		    &item_schema },
 *	};
 *	static const struct json_schema body_schema =
 *	    JSON_SCHEMA(body_fields);
 *
 * min/max bound an integer's value, a string's length in characters
 * (UTF-8 code points) or an array's item count.  min == max == 0 means
 * "no bound".  For JSON_ARRAY, sub describes the items: sub->item when set
 * (any type, e.g. an array of strings), otherwise the items are objects
 * with sub->fields.  For JSON_OBJECT, sub->fields are its members.
 *
 * The body must be one JSON object.  Errors (svc_error):
 *	malformed_json		not JSON, not UTF-8, trailing data, not an object,
 *				a lone or mismatched surrogate escape (a
 *				\uD800-\uDBFF escape not followed by a
 *				\uDC00-\uDFFF one, or the latter alone)
 *	validation_failed	EVERY problem as a {field, problem} detail, field
 *				being a path like "items[0].quantity":
 *				missing, wrong type, out of range, unknown
 *				field, duplicate key, too long/short, format,
 *				nesting/size limits.
 */

#ifndef __H_JSON_H
#define __H_JSON_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct svc_error;

#define JSON_MAX_DEPTH		16
#define JSON_MAX_NODES		4096
#define JSON_MAX_STRING		8192

/* Value types (also used in schemas). */
#define JSON_NULL		1
#define JSON_BOOL		2
#define JSON_INTEGER		3	/* fits int64, no fraction/exponent */
#define JSON_NUMBER		4	/* any other number (parsed as double) */
#define JSON_STRING		5
#define JSON_ARRAY		6
#define JSON_OBJECT		7

/* json_field.flags */
#define JSON_OPTIONAL		0x00
#define JSON_REQUIRED		0x01
#define JSON_NULLABLE		0x02	/* null accepted, as if absent */

struct json_schema;

struct json_field {
	const char			*name;
	int				type;
	int				flags;
	int64_t				min;
	int64_t				max;
	int				(*check)(const char *);
	const char			*check_problem;
	const struct json_schema	*sub;
};

struct json_schema {
	const struct json_field		*fields;
	size_t				nfields;
	const struct json_field		*item;	/* array items if not objects */
};

#define JSON_SCHEMA(f)	{ (f), sizeof(f) / sizeof((f)[0]), NULL }

struct json_value {
	int			type;
	int			overflow;	/* integer literal beyond int64 */
	char			*key;		/* member name inside objects */
	size_t			keylen;
	union {
		int		b;
		int64_t		i;
		double		d;
		struct {
			char	*s;		/* NUL-terminated, no inner NUL */
			size_t	len;		/* bytes */
		} str;
	} u;
	size_t			count;		/* children of array / object */
	struct json_value	*first;
	struct json_value	*last;
	struct json_value	*next;
	struct json_value	*parent;
};

/*
 * Parses data and validates it against schema (schema may be NULL: no
 * validation, any object accepted).  Returns the root object or NULL with
 * err filled.  The tree is owned by the caller: json_free().
 */
struct json_value	*json_parse(const u_int8_t *, size_t,
			    const struct json_schema *, struct svc_error *);
void			json_free(struct json_value *);

/* Accessors: NULL / 0 when absent, null or of another type. */
const struct json_value	*json_get(const struct json_value *, const char *);
const char		*json_get_string(const struct json_value *,
			    const char *);
int			json_get_int(const struct json_value *, const char *,
			    int64_t *);
int			json_get_number(const struct json_value *,
			    const char *, double *);
int			json_get_bool(const struct json_value *, const char *,
			    int *);
const struct json_value	*json_get_object(const struct json_value *,
			    const char *);
const struct json_value	*json_get_array(const struct json_value *,
			    const char *);
size_t			json_array_len(const struct json_value *);
const struct json_value	*json_array_at(const struct json_value *, size_t);

/* Number of UTF-8 code points in a valid UTF-8 string. */
size_t			json_utf8_len(const char *, size_t);

#endif
