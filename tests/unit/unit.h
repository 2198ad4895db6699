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

/*
 * The declaration the platform reads (apps/NAME/service.decl in a
 * service): a test program may #define UNIT_APP_AUTH, UNIT_APP_CALLS (a
 * NULL-terminated array of names) and UNIT_APP_GRANTS (svc_grant lines,
 * ending with a NULL route) before including this file.
 */
#if !defined(UNIT_APP_AUTH)
#define UNIT_APP_AUTH	SVC_AUTH_NONE
#endif
#if !defined(UNIT_APP_CALLS)
static const char *const	unit_no_calls[] = { NULL };
#define UNIT_APP_CALLS	unit_no_calls
#endif
#if !defined(UNIT_APP_GRANTS)
static const struct svc_grant	unit_no_grants[] = { { NULL, NULL } };
#define UNIT_APP_GRANTS	unit_no_grants
#endif

const struct svc_decl	svc_decl = {
	"unit-test", UNIT_APP_AUTH, 100, 200, UNIT_APP_CALLS, UNIT_APP_GRANTS
};

const struct svc_app	svc_app = { NULL, NULL };

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
