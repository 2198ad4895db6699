/*
 * json_writer.h - a small streaming JSON writer over a kore_buf: the
 * answers' bodies and the log lines.
 */

#ifndef __H_JSON_WRITER_H
#define __H_JSON_WRITER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct kore_buf;

/*
 * key is NULL inside arrays and at the root.  Strings are escaped; invalid
 * UTF-8 is replaced by U+FFFD so the output is always valid JSON.
 */
#define JW_MAX_DEPTH		32

struct json_writer {
	struct kore_buf		*buf;
	int			depth;
	u_int8_t		nelem[JW_MAX_DEPTH];	/* 0: first element */
};

void	jw_init(struct json_writer *, struct kore_buf *);
void	jw_object_open(struct json_writer *, const char *);
void	jw_object_close(struct json_writer *);
void	jw_array_open(struct json_writer *, const char *);
void	jw_array_close(struct json_writer *);
void	jw_string(struct json_writer *, const char *, const char *);
void	jw_stringn(struct json_writer *, const char *, const char *, size_t);
void	jw_int(struct json_writer *, const char *, int64_t);
void	jw_double(struct json_writer *, const char *, double);
void	jw_bool(struct json_writer *, const char *, int);
void	jw_null(struct json_writer *, const char *);

/* Appends s as a quoted, escaped JSON string. */
void	jw_escape(struct kore_buf *, const char *, size_t);

#endif
