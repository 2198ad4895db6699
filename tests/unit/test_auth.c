/*
 * test_auth.c - secret files, constant-time comparison, bearer check.
 */

#include <sys/stat.h>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "unit.h"
#include "auth.h"
#include "secret.h"

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

START_TEST(secret_file)
{
	char		out[AUTH_SECRET_MAX];
	const char	*errstr, *p;
	char		big[AUTH_SECRET_MAX + 10];

	p = write_secret("s3cr3t\n", 7);
	ck_assert(secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "s3cr3t");
	unlink(p);

	p = write_secret("s3cr3t\r\n", 8);
	ck_assert(secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "s3cr3t");
	unlink(p);

	p = write_secret("nonl", 4);
	ck_assert(secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(out, "nonl");
	unlink(p);

	p = write_secret("\n", 1);
	ck_assert(!secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(errstr, "file is empty");
	unlink(p);

	p = write_secret("two\nlines\n", 10);
	ck_assert(!secret_read(p, out, sizeof(out), &errstr));
	unlink(p);

	memset(big, 'a', sizeof(big));
	p = write_secret(big, sizeof(big));
	ck_assert(!secret_read(p, out, sizeof(out), &errstr));
	ck_assert_str_eq(errstr, "secret too long");
	unlink(p);

	ck_assert(!secret_read("/nonexistent/secret", out, sizeof(out),
	    &errstr));
	ck_assert_str_eq(errstr, "cannot open file");
	ck_assert(!secret_read(NULL, out, sizeof(out), &errstr));
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

/* "<name> <sha256 hex of token>\n", computed here independently. */
static void
cred_line(char *out, size_t len, const char *name, const char *token)
{
	u_int8_t	md[SHA256_DIGEST_LENGTH];
	size_t		i, off;

	(void)SHA256((const u_int8_t *)token, strlen(token), md);
	off = (size_t)snprintf(out, len, "%s ", name);
	for (i = 0; i < sizeof(md); i++)
		off += (size_t)snprintf(out + off, len - off, "%02x", md[i]);
	(void)snprintf(out + off, len - off, "\n");
}

static void
set_token(const char *token)
{
	struct auth_creds	c;
	char			line[256], err[64];

	if (token == NULL) {
		auth_set_creds(NULL);
		return;
	}
	cred_line(line, sizeof(line), "operator", token);
	ck_assert(auth_creds_parse(&c, line, strlen(line), err,
	    sizeof(err)));
	auth_set_creds(&c);
}

START_TEST(bearer)
{
	ck_assert(!auth_check_bearer("Bearer anything"));

	set_token("tok-123");
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

	set_token(NULL);
	ck_assert(!auth_check_bearer("Bearer tok-123"));
	ck_assert(!auth_check_bearer("Bearer "));
}
END_TEST

#define D_A	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define D_B	"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

START_TEST(creds_parse)
{
	struct auth_creds	c;
	char			err[128];
	const char		*ok =
	    "# comment\n"
	    "\n"
	    "  svc-a\t" D_A "  \r\n"
	    "b.2_x "
	    "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752";

	ck_assert(auth_creds_parse(&c, ok, strlen(ok), err, sizeof(err)));
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.cred[0].name, "svc-a");
	ck_assert_str_eq(c.cred[1].name, "b.2_x");
	ck_assert_uint_eq(c.cred[0].digest[0], 0x9f);
	ck_assert_uint_eq(c.cred[0].digest[31], 0x08);
	ck_assert_uint_eq(c.cred[1].digest[0], 0x60);

#define BAD(text, why) do {						\
	ck_assert(!auth_creds_parse(&c, text, sizeof(text) - 1, err,	\
	    sizeof(err)));						\
	ck_assert_str_eq(err, why);					\
	ck_assert_uint_eq(c.n, 0);					\
} while (0)

	BAD("", "no credentials");
	BAD("# only a comment\n\n", "no credentials");
	BAD("a " D_A "\nb\n", "line 2: not \"<name> <sha256 hex>\"");
	BAD("a\n", "line 1: not \"<name> <sha256 hex>\"");
	BAD("a " D_A " x\n", "line 1: not \"<name> <sha256 hex>\"");
	BAD("a " D_A "0\n", "line 1: not \"<name> <sha256 hex>\"");
	BAD("a 9f86d0\n", "line 1: not \"<name> <sha256 hex>\"");
	BAD("a g" D_A "\n", "line 1: not \"<name> <sha256 hex>\"");
	BAD("a/b " D_A "\n", "line 1: a name is 1-64 of A-Z a-z 0-9 . _ -");
	BAD("a " D_A "\na " D_B "\n", "line 2: a name given twice");
	BAD("a " D_A "\nb " D_A "\n", "line 2: a digest given twice");
	BAD("a " D_A "\0\n", "holds a NUL byte");
	BAD("x2345678901234567890123456789012345678901234567890123456789012345 "
	    D_A "\n", "line 1: a name is 1-64 of A-Z a-z 0-9 . _ -");
#undef BAD
}
END_TEST

START_TEST(creds_limits)
{
	struct auth_creds	c;
	char			text[AUTH_CREDS_FILE_MAX], name[16], err[128];
	size_t			off, i;

	/* 64 characters is a name still. */
	off = (size_t)snprintf(text, sizeof(text), "%s %s\n",
	    "x234567890123456789012345678901234567890123456789012345678901234",
	    D_A);
	ck_assert(auth_creds_parse(&c, text, off, err, sizeof(err)));

	/* AUTH_CREDS_MAX credentials, then one too many. */
	off = 0;
	for (i = 0; i <= AUTH_CREDS_MAX; i++) {
		(void)snprintf(name, sizeof(name), "n%zu", i);
		cred_line(text + off, sizeof(text) - off, name, name);
		off += strlen(text + off);
		if (i == AUTH_CREDS_MAX - 1) {
			ck_assert(auth_creds_parse(&c, text, off, err,
			    sizeof(err)));
			ck_assert_uint_eq(c.n, AUTH_CREDS_MAX);
		}
	}
	ck_assert(!auth_creds_parse(&c, text, off, err, sizeof(err)));
	ck_assert_str_eq(err, "line 65: too many credentials");
}
END_TEST

START_TEST(creds_match)
{
	struct auth_creds	c;
	char			text[512], err[64];
	size_t			off;

	cred_line(text, sizeof(text), "alpha", "token-alpha");
	off = strlen(text);
	cred_line(text + off, sizeof(text) - off, "beta", "token-beta");
	ck_assert(auth_creds_parse(&c, text, strlen(text), err, sizeof(err)));

	ck_assert_str_eq(auth_creds_match(&c, "token-alpha", 11), "alpha");
	ck_assert_str_eq(auth_creds_match(&c, "token-beta", 10), "beta");
	ck_assert_ptr_null(auth_creds_match(&c, "token-alph", 10));
	ck_assert_ptr_null(auth_creds_match(&c, "token-alpha ", 12));
	ck_assert_ptr_null(auth_creds_match(&c, "", 0));
	ck_assert_ptr_null(auth_creds_match(NULL, "token-alpha", 11));
	/* The digest itself is no token. */
	ck_assert_ptr_null(auth_creds_match(&c, text + 6, 64));

	auth_set_creds(&c);
	ck_assert_str_eq(auth_check_bearer("Bearer token-beta"), "beta");
	ck_assert_str_eq(auth_check_bearer("bearer   token-alpha"), "alpha");
	ck_assert_ptr_null(auth_check_bearer("Bearer token-gamma"));
	auth_set_creds(NULL);
	ck_assert_ptr_null(auth_check_bearer("Bearer token-beta"));
}
END_TEST

START_TEST(creds_read)
{
	struct auth_creds	c;
	char			line[256], err[128];
	const char		*p;

	cred_line(line, sizeof(line), "operator", "s3cr3t");
	p = write_secret(line, strlen(line));
	ck_assert(auth_creds_read(&c, p, err, sizeof(err)));
	ck_assert_str_eq(auth_creds_match(&c, "s3cr3t", 6), "operator");
	unlink(p);

	ck_assert(!auth_creds_read(&c, "/nonexistent/creds", err,
	    sizeof(err)));
	ck_assert_str_eq(err, "cannot open file");
	ck_assert(!auth_creds_read(&c, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "no file configured");
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("auth");
	tc = tcase_create("auth");
	tcase_add_test(tc, secret_file);
	tcase_add_test(tc, equal);
	tcase_add_test(tc, constant_time);
	tcase_add_test(tc, bearer);
	tcase_add_test(tc, creds_parse);
	tcase_add_test(tc, creds_limits);
	tcase_add_test(tc, creds_match);
	tcase_add_test(tc, creds_read);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(auth_suite()));
}
