/*
 * unit.h - shared glue of the platform's Check unit tests: Kore's memory
 * set up once, an application descriptor for the library to link against,
 * and yajl_tree helpers to assert on the JSON the library writes.
 */

#ifndef __H_UNIT_H
#define __H_UNIT_H

#include <sys/types.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include <kore/kore.h>

#include "svc.h"

/* A test program may #define UNIT_APP_AUTH before including this file. */
#if !defined(UNIT_APP_AUTH)
#define UNIT_APP_AUTH	SVC_AUTH_NONE
#endif

const struct svc_app	svc_app = {
	"unit-test", 100, 200, UNIT_APP_AUTH, NULL, NULL
};

/* Parses buf as JSON (must succeed) and returns the tree. */
static __attribute__((unused)) yajl_val
unit_json(const struct kore_buf *b)
{
	char		*s, errbuf[256];
	yajl_val	v;

	s = calloc(1, b->offset + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, b->data, b->offset);
	v = yajl_tree_parse(s, errbuf, sizeof(errbuf));
	if (v == NULL)
		ck_abort_msg("not JSON (%s): %s", errbuf, s);
	free(s);

	return (v);
}

/* The string at a path like "error", "code" (NULL-terminated list). */
static __attribute__((unused)) const char *
unit_str(yajl_val v, const char **path)
{
	yajl_val	s;

	s = yajl_tree_get(v, path, yajl_t_string);
	return (s != NULL ? YAJL_GET_STRING(s) : NULL);
}

/* The buffer as a NUL-terminated string (static storage, tests only). */
static __attribute__((unused)) const char *
unit_cstr(struct kore_buf *b)
{
	static char	out[65536];
	size_t		n;

	n = b->offset < sizeof(out) - 1 ? b->offset : sizeof(out) - 1;
	memcpy(out, b->data, n);
	out[n] = '\0';

	return (out);
}

static __attribute__((unused)) int
unit_run(Suite *s)
{
	SRunner		*sr;
	int		failed;

	kore_mem_init();

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

#endif
