/*
 * test_auth.c - secret files, constant-time comparison, bearer check.
 */

#include <sys/stat.h>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "auth.h"

static char	tmpl[64];

static const char *
write_secret(const void *data, size_t len)
{
	int		fd;

	(void)snprintf(tmpl, sizeof(tmpl), "/tmp/unit-secret-XXXXXX");
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);

	return (tmpl);
}

START_TEST(secret_read)
{
	char		out[AUTH_SECRET_MAX];
	const char	*errstr, *p;
	char		big[AUTH_SECRET_MAX + 10];

	p = write_secret("s3cr3t\n", 7);
	ck_assert(auth_secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "s3cr3t");
	unlink(p);

	p = write_secret("s3cr3t\r\n", 8);
	ck_assert(auth_secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "s3cr3t");
	unlink(p);

	p = write_secret("nonl", 4);
	ck_assert(auth_secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "nonl");
	unlink(p);

	p = write_secret("\n", 1);
	ck_assert(!auth_secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(errstr, "file is empty");
	unlink(p);

	p = write_secret("two\nlines\n", 10);
	ck_assert(!auth_secret_read(p, out, sizeof(out), &errstr));
	unlink(p);

	memset(big, 'a', sizeof(big));
	p = write_secret(big, sizeof(big));
	ck_assert(!auth_secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(errstr, "secret too long");
	unlink(p);

	ck_assert(!auth_secret_read("/nonexistent/secret", out, sizeof(out),
	    &errstr));
	ck_assert_str_eq(errstr, "cannot open file");
	ck_assert(!auth_secret_read(NULL, out, sizeof(out), &errstr));
}
END_TEST

START_TEST(equal)
{
	ck_assert(auth_equal("abc", 3, "abc", 3));
	ck_assert(!auth_equal("abc", 3, "abd", 3));
	ck_assert(!auth_equal("abc", 3, "ab", 2));
	ck_assert(!auth_equal("abc", 3, "abcd", 4));
	ck_assert(!auth_equal("abc", 3, "", 0));
	ck_assert(!auth_equal("", 0, "", 0));
	ck_assert(!auth_equal("abc", 3, "abcabc", 6));
	ck_assert(!auth_equal("a\0c", 3, "a\0d", 3));
	ck_assert(auth_equal("a\0c", 3, "a\0c", 3));
}
END_TEST

static double
time_compare(const char *a, const char *b, size_t len, int rounds)
{
	struct timespec	s, e;
	volatile int	sink;
	int		i;

	sink = 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &s);
	for (i = 0; i < rounds; i++)
		sink += auth_equal(a, len, b, len);
	(void)clock_gettime(CLOCK_MONOTONIC, &e);
	(void)sink;

	return ((e.tv_sec - s.tv_sec) * 1e9 + (e.tv_nsec - s.tv_nsec));
}

/*
 * A first-byte mismatch must not be faster than a last-byte one.  Timing
 * under sanitizers is noisy, so: best of several runs, a wide margin.
 */
START_TEST(constant_time)
{
	char		secret[4096], first[4096], last[4096];
	double		tf, tl, bf, bl;
	int		i;

	memset(secret, 'k', sizeof(secret));
	memcpy(first, secret, sizeof(first));
	memcpy(last, secret, sizeof(last));
	first[0] = 'x';
	last[sizeof(last) - 1] = 'x';

	bf = bl = 1e30;
	for (i = 0; i < 7; i++) {
		tf = time_compare(secret, first, sizeof(secret), 2000);
		tl = time_compare(secret, last, sizeof(secret), 2000);
		if (tf < bf)
			bf = tf;
		if (tl < bl)
			bl = tl;
	}

	ck_assert_msg(bf > bl * 0.5 && bf < bl * 2.0,
	    "first-byte %.0fns vs last-byte %.0fns", bf, bl);
}
END_TEST

START_TEST(bearer)
{
	ck_assert(!auth_check_bearer("Bearer anything"));

	auth_set_token("tok-123");
	ck_assert(auth_check_bearer("Bearer tok-123"));
	ck_assert(auth_check_bearer("bearer tok-123"));
	ck_assert(auth_check_bearer("BEARER  tok-123"));
	ck_assert(!auth_check_bearer("Bearer tok-1234"));
	ck_assert(!auth_check_bearer("Bearer tok-12"));
	ck_assert(!auth_check_bearer("Bearer "));
	ck_assert(!auth_check_bearer("Basic tok-123"));
	ck_assert(!auth_check_bearer("tok-123"));
	ck_assert(!auth_check_bearer(""));
	ck_assert(!auth_check_bearer(NULL));

	auth_set_token(NULL);
	ck_assert(!auth_check_bearer("Bearer tok-123"));
	ck_assert(!auth_check_bearer("Bearer "));
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("auth");
	tc = tcase_create("auth");
	tcase_add_test(tc, secret_read);
	tcase_add_test(tc, equal);
	tcase_add_test(tc, constant_time);
	tcase_add_test(tc, bearer);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(auth_suite()));
}
