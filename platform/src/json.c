/*
 * json.c - strict JSON request parsing (yajl callback parser into a
 * bounded tree) and declarative schema validation.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include <kore/kore.h>

#include "json.h"
#include "svc_error.h"
#include "utf8.h"

#define PATH_MAX_LEN		256

struct jparse {
	struct json_value	*root;
	struct json_value	*cur;		/* open container */
	char			*key;		/* pending member name */
	size_t			keylen;
	int			depth;
	size_t			nodes;
	int			aborted;	/* a limit or non-object root */
	struct svc_error	*err;
};

static int	jp_null(void *);
static int	jp_boolean(void *, int);
static int	jp_number(void *, const char *, size_t);
static int	jp_string(void *, const unsigned char *, size_t);
static int	jp_start_map(void *);
static int	jp_map_key(void *, const unsigned char *, size_t);
static int	jp_end_map(void *);
static int	jp_start_array(void *);
static int	jp_end_array(void *);

static struct json_value	*jp_add(struct jparse *, int);
static void	jp_path(const struct jparse *, char *, size_t);
static void	node_path(const struct json_value *, char *, size_t);
static void	path_append(char *, size_t, const char *, int);
static void	path_append_key(char *, size_t, const char *);
static void	path_append_index(char *, size_t, size_t);

static void	validate_object(const struct json_value *,
		    const struct json_schema *, char *, struct svc_error *);
static void	validate_value(const struct json_value *,
		    const struct json_field *, char *, struct svc_error *);
static const char	*type_problem(int);

static int	utf8_valid(const unsigned char *, size_t);
static int	escape_hex4(const u_int8_t *, size_t, u_int32_t *);
static int	escapes_valid(const u_int8_t *, size_t);

static const yajl_callbacks	jp_callbacks = {
	jp_null,
	jp_boolean,
	NULL,			/* integer: jp_number sees the raw text */
	NULL,			/* double: likewise */
	jp_number,
	jp_string,
	jp_start_map,
	jp_map_key,
	jp_end_map,
	jp_start_array,
	jp_end_array
};

struct json_value *
json_parse(const u_int8_t *data, size_t len, const struct json_schema *schema,
    struct svc_error *err)
{
	struct jparse		jp;
	yajl_handle		h;
	yajl_status		st;
	char			path[PATH_MAX_LEN];

	memset(&jp, 0, sizeof(jp));
	jp.err = err;

	if (len == 0) {
		svc_error_set(err, SVC_MALFORMED_JSON,
		    "request body is empty, a JSON object is expected");
		return (NULL);
	}

	if (!escapes_valid(data, len)) {
		svc_error_set(err, SVC_MALFORMED_JSON,
		    "request body has a lone or mismatched surrogate escape "
		    "(\\uD800-\\uDFFF)");
		return (NULL);
	}

	if ((h = yajl_alloc(&jp_callbacks, NULL, &jp)) == NULL) {
		svc_error_set(err, SVC_INTERNAL, "out of memory");
		return (NULL);
	}

	st = yajl_parse(h, data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);

	if (st != yajl_status_ok || jp.aborted) {
		if (!jp.aborted) {
			/* Problems seen before the syntax error are moot. */
			err->ndetails = 0;
			err->ndropped = 0;
			svc_error_set(err, SVC_MALFORMED_JSON,
			    "request body is not valid JSON (near byte %zu)",
			    yajl_get_bytes_consumed(h));
		}
		yajl_free(h);
		kore_free(jp.key);
		json_free(jp.root);
		return (NULL);
	}

	yajl_free(h);
	kore_free(jp.key);

	if (jp.root == NULL || jp.root->type != JSON_OBJECT) {
		err->ndetails = 0;
		err->ndropped = 0;
		svc_error_set(err, SVC_MALFORMED_JSON,
		    "request body must be a JSON object");
		json_free(jp.root);
		return (NULL);
	}

	if (schema != NULL) {
		path[0] = '\0';
		validate_object(jp.root, schema, path, err);
	}

	/* Duplicate keys and NULs were recorded while parsing, too. */
	if (err->ndetails > 0 || err->ndropped > 0) {
		svc_error_set(err, SVC_VALIDATION_FAILED,
		    "request body failed validation");
		json_free(jp.root);
		return (NULL);
	}

	return (jp.root);
}

void
json_free(struct json_value *v)
{
	struct json_value	*c, *next;

	if (v == NULL)
		return;

	for (c = v->first; c != NULL; c = next) {
		next = c->next;
		json_free(c);
	}

	if (v->type == JSON_STRING)
		kore_free(v->u.str.s);
	kore_free(v->key);
	kore_free(v);
}

/*
 * Parser callbacks.  Returning 0 cancels the parse; jp->aborted tells that
 * the error is already in jp->err.
 */

static void
jp_abort(struct jparse *jp, const char *problem)
{
	char		path[PATH_MAX_LEN];

	jp_path(jp, path, sizeof(path));
	svc_error_detail(jp->err, path[0] ? path : "(body)", "%s", problem);
	svc_error_set(jp->err, SVC_VALIDATION_FAILED,
	    "request body exceeds a parser limit");
	jp->aborted = 1;
}

/*
 * yajl's own UTF-8 check lets overlong forms and surrogates through;
 * ours is strict (RFC 3629).
 */
static void
jp_malformed(struct jparse *jp, const char *msg)
{
	jp->err->ndetails = 0;
	jp->err->ndropped = 0;
	svc_error_set(jp->err, SVC_MALFORMED_JSON, "%s", msg);
	jp->aborted = 1;
}

static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t		i, n;
	u_int32_t	cp;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq(s + i, len - i, &cp)) == 0)
			return (0);
	}

	return (1);
}

/* Four hex digits at s (len bytes left) into *cp; 0 if they are not. */
static int
escape_hex4(const u_int8_t *s, size_t len, u_int32_t *cp)
{
	size_t		i;
	u_int8_t	c;

	if (len < 4)
		return (0);

	*cp = 0;
	for (i = 0; i < 4; i++) {
		c = s[i];
		if (c >= '0' && c <= '9')
			*cp = (*cp << 4) | (u_int32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*cp = (*cp << 4) | (u_int32_t)((c | 0x20) - 'a' + 10);
		else
			return (0);
	}

	return (1);
}

/*
 * yajl decodes \u escapes before utf8_valid() sees a string, and it
 * decodes a lone high surrogate as '?' and takes whatever escape follows
 * one for its low half ("\ud800\u0041" became U+10041).  So the raw text
 * is checked first: every \uD800-\uDBFF escape must be followed at once by
 * a \uDC00-\uDFFF escape, and a \uDC00-\uDFFF escape must be such a
 * follower.  A backslash is an escape only inside a string (yajl refuses
 * one anywhere else), and it escapes the one character after it; broken
 * escapes are left to yajl's own syntax error.
 */
static int
escapes_valid(const u_int8_t *s, size_t len)
{
	size_t		i;
	u_int32_t	cp, lo;
	int		in_string;

	if (memchr(s, '\\', len) == NULL)
		return (1);

	in_string = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			in_string = !in_string;
			continue;
		}
		if (!in_string || s[i] != '\\')
			continue;

		/* s[i] is a backslash in a string: an escape. */
		if (i + 1 >= len || s[i + 1] != 'u' ||
		    !escape_hex4(s + i + 2, len - i - 2, &cp)) {
			i++;
			continue;
		}
		i += 5;			/* the last hex digit */

		if (cp >= 0xdc00 && cp <= 0xdfff)
			return (0);
		if (cp < 0xd800 || cp > 0xdbff)
			continue;

		if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' ||
		    !escape_hex4(s + i + 3, len - i - 3, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return (0);
		i += 6;
	}

	return (1);
}

static struct json_value *
jp_add(struct jparse *jp, int type)
{
	struct json_value	*v;

	if (jp->cur == NULL && jp->root != NULL) {
		/* yajl refuses a second top-level value; belt and braces. */
		jp->aborted = 1;
		svc_error_set(jp->err, SVC_MALFORMED_JSON,
		    "request body has trailing data");
		return (NULL);
	}

	if (jp->cur == NULL && type != JSON_OBJECT) {
		jp->aborted = 1;
		svc_error_set(jp->err, SVC_MALFORMED_JSON,
		    "request body must be a JSON object");
		return (NULL);
	}

	if (jp->nodes >= JSON_MAX_NODES) {
		jp_abort(jp, "too many values in the body");
		return (NULL);
	}
	jp->nodes++;

	v = kore_calloc(1, sizeof(*v));
	v->type = type;
	v->parent = jp->cur;

	if (jp->cur == NULL) {
		jp->root = v;
		return (v);
	}

	if (jp->cur->type == JSON_OBJECT) {
		v->key = jp->key;
		v->keylen = jp->keylen;
		jp->key = NULL;
		jp->keylen = 0;
	}

	if (jp->cur->last == NULL)
		jp->cur->first = v;
	else
		jp->cur->last->next = v;
	jp->cur->last = v;
	jp->cur->count++;

	return (v);
}

static int
jp_null(void *ctx)
{
	return (jp_add(ctx, JSON_NULL) != NULL);
}

static int
jp_boolean(void *ctx, int b)
{
	struct json_value	*v;

	if ((v = jp_add(ctx, JSON_BOOL)) == NULL)
		return (0);
	v->u.b = b ? 1 : 0;

	return (1);
}

static int
jp_number(void *ctx, const char *s, size_t len)
{
	struct json_value	*v;
	char			buf[64];
	char			*ep;
	long long		ll;

	if ((v = jp_add(ctx, JSON_INTEGER)) == NULL)
		return (0);

	/* Longer than any int64 or sane double: keep as overflowed. */
	if (len >= sizeof(buf)) {
		v->type = JSON_NUMBER;
		v->overflow = memchr(s, '.', len) == NULL &&
		    memchr(s, 'e', len) == NULL && memchr(s, 'E', len) == NULL;
		v->u.d = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
		return (1);
	}

	memcpy(buf, s, len);
	buf[len] = '\0';

	if (strpbrk(buf, ".eE") == NULL) {
		errno = 0;
		ll = strtoll(buf, &ep, 10);
		if (errno == 0 && *ep == '\0') {
			v->u.i = ll;
			return (1);
		}
		v->overflow = 1;
	}

	v->type = JSON_NUMBER;
	v->u.d = strtod(buf, NULL);

	return (1);
}

static int
jp_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jparse		*jp = ctx;
	struct json_value	*v;
	char			path[PATH_MAX_LEN];

	if (len > JSON_MAX_STRING) {
		jp_abort(jp, "string is too long for this service");
		return (0);
	}

	if (!utf8_valid(s, len)) {
		jp_malformed(jp, "request body is not valid UTF-8");
		return (0);
	}

	if ((v = jp_add(jp, JSON_STRING)) == NULL)
		return (0);

	v->u.str.s = kore_malloc(len + 1);
	memcpy(v->u.str.s, s, len);
	v->u.str.s[len] = '\0';
	v->u.str.len = len;

	if (memchr(s, '\0', len) != NULL) {
		node_path(v, path, sizeof(path));
		svc_error_detail(jp->err, path,
		    "must not contain NUL characters");
	}

	return (1);
}

static int
jp_start_container(struct jparse *jp, int type)
{
	struct json_value	*v;

	if (jp->depth >= JSON_MAX_DEPTH) {
		jp_abort(jp, "nested too deeply");
		return (0);
	}

	if ((v = jp_add(jp, type)) == NULL)
		return (0);

	jp->cur = v;
	jp->depth++;

	return (1);
}

static int
jp_end_container(struct jparse *jp)
{
	jp->depth--;
	jp->cur = jp->cur->parent;

	return (1);
}

static int
jp_start_map(void *ctx)
{
	return (jp_start_container(ctx, JSON_OBJECT));
}

static int
jp_end_map(void *ctx)
{
	return (jp_end_container(ctx));
}

static int
jp_start_array(void *ctx)
{
	return (jp_start_container(ctx, JSON_ARRAY));
}

static int
jp_end_array(void *ctx)
{
	return (jp_end_container(ctx));
}

static int
jp_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jparse		*jp = ctx;
	struct json_value	*c;
	char			path[PATH_MAX_LEN];

	if (len > JSON_MAX_STRING) {
		jp_abort(jp, "member name is too long");
		return (0);
	}

	if (!utf8_valid(s, len)) {
		jp_malformed(jp, "request body is not valid UTF-8");
		return (0);
	}

	kore_free(jp->key);
	jp->key = kore_malloc(len + 1);
	memcpy(jp->key, s, len);
	jp->key[len] = '\0';
	jp->keylen = len;

	if (memchr(s, '\0', len) != NULL) {
		jp_path(jp, path, sizeof(path));
		svc_error_detail(jp->err, path,
		    "member name must not contain NUL characters");
		return (1);
	}

	/* yajl_tree would silently keep the last one; we refuse both. */
	for (c = jp->cur->first; c != NULL; c = c->next) {
		if (c->keylen == len && memcmp(c->key, s, len) == 0) {
			jp_path(jp, path, sizeof(path));
			svc_error_detail(jp->err, path, "duplicate key");
			break;
		}
	}

	return (1);
}

/* Path of the value being parsed now (the open container + pending key). */
static void
jp_path(const struct jparse *jp, char *buf, size_t len)
{
	if (jp->cur == NULL) {
		buf[0] = '\0';
		return;
	}

	node_path(jp->cur, buf, len);

	if (jp->cur->type == JSON_OBJECT && jp->key != NULL)
		path_append_key(buf, len, jp->key);
	else if (jp->cur->type == JSON_ARRAY)
		path_append_index(buf, len, jp->cur->count);
}

static void
node_path(const struct json_value *v, char *buf, size_t len)
{
	const struct json_value	*c;
	size_t			idx;

	if (v->parent == NULL) {
		buf[0] = '\0';
		return;
	}

	node_path(v->parent, buf, len);

	if (v->parent->type == JSON_OBJECT) {
		path_append_key(buf, len, v->key);
	} else {
		idx = 0;
		for (c = v->parent->first; c != NULL && c != v; c = c->next)
			idx++;
		path_append_index(buf, len, idx);
	}
}

static void
path_append_key(char *buf, size_t len, const char *key)
{
	path_append(buf, len, key, 1);
}

static void
path_append_index(char *buf, size_t len, size_t idx)
{
	char		d[24];
	size_t		n;

	n = sizeof(d);
	d[--n] = '\0';
	d[--n] = ']';
	do {
		d[--n] = (char)('0' + idx % 10);
		idx /= 10;
	} while (idx > 0);
	d[--n] = '[';

	path_append(buf, len, d + n, 0);
}

/*
 * Appends (".")s to the path, truncated like snprintf would.  Runs for
 * every member of every valid body: no printf here (issue 5).
 */
static void
path_append(char *buf, size_t len, const char *s, int dot)
{
	size_t		off, room, n;

	off = strlen(buf);
	if (off >= len - 1)
		return;

	room = len - off - 1;
	if (dot && off > 0) {
		buf[off++] = '.';
		room--;
	}

	n = strlen(s);
	if (n > room)
		n = room;
	memcpy(buf + off, s, n);
	buf[off + n] = '\0';
}

/*
 * Validation: walks the schema and the tree, recording every problem.
 * path is a PATH_MAX_LEN buffer holding the current object's path; it is
 * extended and restored around each member.
 */

static void
validate_object(const struct json_value *obj, const struct json_schema *s,
    char *path, struct svc_error *err)
{
	const struct json_value	*m;
	const struct json_field	*f;
	size_t			i, off;

	off = strlen(path);

	for (i = 0; i < s->nfields; i++) {
		f = &s->fields[i];
		path_append_key(path, PATH_MAX_LEN, f->name);

		for (m = obj->first; m != NULL; m = m->next) {
			if (strcmp(m->key, f->name) == 0)
				break;
		}

		if (m == NULL) {
			if (f->flags & JSON_REQUIRED)
				svc_error_detail(err, path, "is required");
		} else if (m->type == JSON_NULL && (f->flags & JSON_NULLABLE)) {
			/* Accepted as absent. */
		} else if (m->type == JSON_NULL && (f->flags & JSON_REQUIRED)) {
			svc_error_detail(err, path, "is required (not null)");
		} else {
			validate_value(m, f, path, err);
		}

		path[off] = '\0';
	}

	for (m = obj->first; m != NULL; m = m->next) {
		for (i = 0; i < s->nfields; i++) {
			if (strcmp(m->key, s->fields[i].name) == 0)
				break;
		}
		if (i == s->nfields) {
			path_append_key(path, PATH_MAX_LEN, m->key);
			svc_error_detail(err, path, "unknown field");
			path[off] = '\0';
		}
	}
}

static const char *
type_problem(int type)
{
	switch (type) {
	case JSON_BOOL:
		return ("must be a boolean");
	case JSON_INTEGER:
		return ("must be an integer");
	case JSON_NUMBER:
		return ("must be a number");
	case JSON_STRING:
		return ("must be a string");
	case JSON_ARRAY:
		return ("must be an array");
	case JSON_OBJECT:
		return ("must be an object");
	default:
		return ("has the wrong type");
	}
}

static int
has_bounds(const struct json_field *f)
{
	return (f->min != 0 || f->max != 0);
}

static void
validate_value(const struct json_value *v, const struct json_field *f,
    char *path, struct svc_error *err)
{
	const struct json_value	*c;
	const struct json_field	*item;
	size_t			off, idx, n;

	switch (f->type) {
	case JSON_INTEGER:
		if (v->type == JSON_NUMBER && v->overflow) {
			if (has_bounds(f)) {
				svc_error_detail(err, path,
				    "must be between %" PRId64 " and %" PRId64,
				    f->min, f->max);
			} else {
				svc_error_detail(err, path,
				    "is out of range");
			}
			return;
		}
		if (v->type != JSON_INTEGER) {
			svc_error_detail(err, path, "%s", type_problem(f->type));
			return;
		}
		if (has_bounds(f) && (v->u.i < f->min || v->u.i > f->max)) {
			svc_error_detail(err, path,
			    "must be between %" PRId64 " and %" PRId64,
			    f->min, f->max);
		}
		return;
	case JSON_NUMBER:
		if (v->type != JSON_NUMBER && v->type != JSON_INTEGER) {
			svc_error_detail(err, path, "%s", type_problem(f->type));
			return;
		}
		if (v->type == JSON_NUMBER && !isfinite(v->u.d))
			svc_error_detail(err, path, "is out of range");
		return;
	case JSON_STRING:
		if (v->type != JSON_STRING) {
			svc_error_detail(err, path, "%s", type_problem(f->type));
			return;
		}
		n = json_utf8_len(v->u.str.s, v->u.str.len);
		if (has_bounds(f) && n < (u_int64_t)f->min) {
			if (f->min == 1) {
				svc_error_detail(err, path,
				    "must not be empty");
			} else {
				svc_error_detail(err, path,
				    "must be at least %" PRId64 " characters",
				    f->min);
			}
			return;
		}
		if (has_bounds(f) && n > (u_int64_t)f->max) {
			svc_error_detail(err, path,
			    "must be at most %" PRId64 " characters", f->max);
			return;
		}
		if (f->check != NULL && !f->check(v->u.str.s)) {
			svc_error_detail(err, path, "%s",
			    f->check_problem != NULL ? f->check_problem :
			    "has an invalid format");
		}
		return;
	case JSON_BOOL:
		if (v->type != JSON_BOOL)
			svc_error_detail(err, path, "%s", type_problem(f->type));
		return;
	case JSON_OBJECT:
		if (v->type != JSON_OBJECT) {
			svc_error_detail(err, path, "%s", type_problem(f->type));
			return;
		}
		if (f->sub != NULL)
			validate_object(v, f->sub, path, err);
		return;
	case JSON_ARRAY:
		if (v->type != JSON_ARRAY) {
			svc_error_detail(err, path, "%s", type_problem(f->type));
			return;
		}
		if (has_bounds(f) && v->count < (u_int64_t)f->min) {
			svc_error_detail(err, path,
			    "must have at least %" PRId64 " item%s", f->min,
			    f->min == 1 ? "" : "s");
		} else if (has_bounds(f) && v->count > (u_int64_t)f->max) {
			svc_error_detail(err, path,
			    "must have at most %" PRId64 " items", f->max);
			/* Don't flood details for items we refuse anyway. */
			return;
		}
		if (f->sub == NULL)
			return;
		off = strlen(path);
		idx = 0;
		item = f->sub->item;
		for (c = v->first; c != NULL; c = c->next, idx++) {
			path_append_index(path, PATH_MAX_LEN, idx);
			if (item != NULL) {
				if (c->type == JSON_NULL &&
				    (item->flags & JSON_NULLABLE)) {
					/* accepted */
				} else {
					validate_value(c, item, path, err);
				}
			} else if (c->type != JSON_OBJECT) {
				svc_error_detail(err, path, "must be an object");
			} else {
				validate_object(c, f->sub, path, err);
			}
			path[off] = '\0';
		}
		return;
	default:
		svc_error_detail(err, path, "has the wrong type");
		return;
	}
}

size_t
json_utf8_len(const char *s, size_t len)
{
	size_t		i, n;

	n = 0;
	for (i = 0; i < len; i++) {
		/* Count every byte that is not a continuation byte. */
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}

	return (n);
}

/* Accessors. */

const struct json_value *
json_get(const struct json_value *obj, const char *name)
{
	const struct json_value	*m;

	if (obj == NULL || obj->type != JSON_OBJECT)
		return (NULL);

	for (m = obj->first; m != NULL; m = m->next) {
		if (strcmp(m->key, name) == 0)
			return (m);
	}

	return (NULL);
}

const char *
json_get_string(const struct json_value *obj, const char *name)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL || v->type != JSON_STRING)
		return (NULL);

	return (v->u.str.s);
}

int
json_get_int(const struct json_value *obj, const char *name, int64_t *out)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL || v->type != JSON_INTEGER)
		return (0);

	*out = v->u.i;
	return (1);
}

int
json_get_number(const struct json_value *obj, const char *name, double *out)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL)
		return (0);

	if (v->type == JSON_INTEGER)
		*out = (double)v->u.i;
	else if (v->type == JSON_NUMBER)
		*out = v->u.d;
	else
		return (0);

	return (1);
}

int
json_get_bool(const struct json_value *obj, const char *name, int *out)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL || v->type != JSON_BOOL)
		return (0);

	*out = v->u.b;
	return (1);
}

const struct json_value *
json_get_object(const struct json_value *obj, const char *name)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL || v->type != JSON_OBJECT)
		return (NULL);

	return (v);
}

const struct json_value *
json_get_array(const struct json_value *obj, const char *name)
{
	const struct json_value	*v;

	if ((v = json_get(obj, name)) == NULL || v->type != JSON_ARRAY)
		return (NULL);

	return (v);
}

size_t
json_array_len(const struct json_value *arr)
{
	if (arr == NULL || arr->type != JSON_ARRAY)
		return (0);

	return (arr->count);
}

const struct json_value *
json_array_at(const struct json_value *arr, size_t idx)
{
	const struct json_value	*c;

	if (arr == NULL || arr->type != JSON_ARRAY || idx >= arr->count)
		return (NULL);

	for (c = arr->first; c != NULL && idx > 0; c = c->next)
		idx--;

	return (c);
}
