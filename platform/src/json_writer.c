/*
 * json_writer.c - the streaming JSON writer (json_writer.h).
 */

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "json_writer.h"
#include "utf8.h"

static void	jw_sep(struct json_writer *, const char *);

void
jw_init(struct json_writer *jw, struct kore_buf *buf)
{
	memset(jw, 0, sizeof(*jw));
	jw->buf = buf;
}

static void
jw_sep(struct json_writer *jw, const char *key)
{
	if (jw->nelem[jw->depth])
		kore_buf_append(jw->buf, ",", 1);
	jw->nelem[jw->depth] = 1;

	if (key != NULL && jw->depth > 0) {
		jw_escape(jw->buf, key, strlen(key));
		kore_buf_append(jw->buf, ":", 1);
	}
}

static void
jw_open(struct json_writer *jw, const char *key, const char *c)
{
	jw_sep(jw, key);
	kore_buf_append(jw->buf, c, 1);

	if (jw->depth + 1 >= JW_MAX_DEPTH)
		fatal("jw_open: nested too deeply");
	jw->depth++;
	jw->nelem[jw->depth] = 0;
}

static void
jw_close(struct json_writer *jw, const char *c)
{
	if (jw->depth == 0)
		fatal("jw_close: nothing open");

	kore_buf_append(jw->buf, c, 1);
	jw->depth--;
}

void
jw_object_open(struct json_writer *jw, const char *key)
{
	jw_open(jw, key, "{");
}

void
jw_object_close(struct json_writer *jw)
{
	jw_close(jw, "}");
}

void
jw_array_open(struct json_writer *jw, const char *key)
{
	jw_open(jw, key, "[");
}

void
jw_array_close(struct json_writer *jw)
{
	jw_close(jw, "]");
}

void
jw_string(struct json_writer *jw, const char *key, const char *val)
{
	if (val == NULL) {
		jw_null(jw, key);
		return;
	}

	jw_stringn(jw, key, val, strlen(val));
}

void
jw_stringn(struct json_writer *jw, const char *key, const char *val,
    size_t len)
{
	jw_sep(jw, key);
	jw_escape(jw->buf, val, len);
}

void
jw_int(struct json_writer *jw, const char *key, int64_t v)
{
	char		d[21];
	size_t		n;
	u_int64_t	u;

	jw_sep(jw, key);

	/* Decimal without printf: writers run on every request. */
	u = v < 0 ? (u_int64_t)0 - (u_int64_t)v : (u_int64_t)v;
	n = sizeof(d);
	do {
		d[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--n] = '-';

	kore_buf_append(jw->buf, d + n, sizeof(d) - n);
}

void
jw_double(struct json_writer *jw, const char *key, double v)
{
	if (!isfinite(v)) {
		jw_null(jw, key);
		return;
	}

	jw_sep(jw, key);
	kore_buf_appendf(jw->buf, "%.17g", v);
}

void
jw_bool(struct json_writer *jw, const char *key, int v)
{
	jw_sep(jw, key);
	if (v)
		kore_buf_append(jw->buf, "true", 4);
	else
		kore_buf_append(jw->buf, "false", 5);
}

void
jw_null(struct json_writer *jw, const char *key)
{
	jw_sep(jw, key);
	kore_buf_append(jw->buf, "null", 4);
}

void
jw_escape(struct kore_buf *buf, const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			i, run, n;
	u_int32_t		cp;
	char			esc[8];

	kore_buf_append(buf, "\"", 1);

	run = 0;
	for (i = 0; i < len; i += n) {
		/* Printable ASCII, the usual case, needs no decoding. */
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' &&
		    s[i] != '\\') {
			n = 1;
			run++;
			continue;
		}

		n = utf8_seq(s + i, len - i, &cp);
		if (n != 0 && cp >= 0x20 && cp != '"' && cp != '\\' &&
		    cp != 0x7f && cp != 0x2028 && cp != 0x2029) {
			run += n;
			continue;
		}

		/* Flush the plain run before this byte. */
		if (run > 0) {
			kore_buf_append(buf, s + i - run, run);
			run = 0;
		}

		if (n == 0) {
			kore_buf_append(buf, "\\ufffd", 6);
			n = 1;
			continue;
		}

		switch (cp) {
		case '"':
			kore_buf_append(buf, "\\\"", 2);
			break;
		case '\\':
			kore_buf_append(buf, "\\\\", 2);
			break;
		case '\n':
			kore_buf_append(buf, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(buf, "\\r", 2);
			break;
		case '\t':
			kore_buf_append(buf, "\\t", 2);
			break;
		case '\b':
			kore_buf_append(buf, "\\b", 2);
			break;
		case '\f':
			kore_buf_append(buf, "\\f", 2);
			break;
		default:
			(void)snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned int)cp);
			kore_buf_append(buf, esc, 6);
			break;
		}
	}

	if (run > 0)
		kore_buf_append(buf, s + len - run, run);

	kore_buf_append(buf, "\"", 1);
}
