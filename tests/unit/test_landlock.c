/*
 * test_landlock.c - a process confined by landlock_confine() reads the
 * files registered with landlock_allow_read() (a file, or a directory's
 * tree) and nothing else: no other file, nothing under /proc, no write, no
 * new file. The test runs in a child of its own (Check's fork mode): the
 * confinement cannot be undone; the files are made and removed by the
 * parent.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "landlock.h"

static void	write_file(const char *);
static void	setup(void);
static void	teardown(void);
static int	open_errno(const char *, int);

static char	dir[] = "/tmp/unit-landlock-XXXXXX";
static char	allowed[256], secret[256], tree[256], inside[256];

static void
write_file(const char *path)
{
	int		fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "x\n", 2), 2);
	ck_assert_int_eq(close(fd), 0);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(allowed, sizeof(allowed), "%s/ca.pem", dir);
	(void)snprintf(secret, sizeof(secret), "%s/key.pem", dir);
	(void)snprintf(tree, sizeof(tree), "%s/data", dir);
	(void)snprintf(inside, sizeof(inside), "%s/data/table", dir);
	write_file(allowed);
	write_file(secret);
	ck_assert_int_eq(mkdir(tree, 0700), 0);
	write_file(inside);
}

/* errno of open(path, flags), 0 when it opened. */
static int
open_errno(const char *path, int flags)
{
	int		fd;

	if ((fd = open(path, flags | O_CLOEXEC, 0600)) == -1)
		return (errno);
	(void)close(fd);
	return (0);
}

static void
teardown(void)
{
	(void)unlink(inside);
	(void)rmdir(tree);
	(void)unlink(allowed);
	(void)unlink(secret);
	(void)rmdir(dir);
}

START_TEST(reads_only_what_was_registered)
{
	char	buf[1024], want[1024];

	if (landlock_abi() == 0)
		ck_abort_msg("no Landlock in this kernel: %s", strerror(errno));

	landlock_allow_read(allowed);
	landlock_allow_read(tree);
	landlock_allow_read(allowed);		/* once is enough */
	landlock_allow_read("/nonexistent/file");	/* left out */
	(void)snprintf(want, sizeof(want), "%s, %s, /nonexistent/file",
	    allowed, tree);
	ck_assert_str_eq(landlock_paths(buf, sizeof(buf)), want);

	/* Before: everything is readable and writable. */
	ck_assert_int_eq(open_errno(secret, O_RDONLY), 0);

	landlock_confine();

	ck_assert_int_eq(open_errno(allowed, O_RDONLY), 0);
	ck_assert_int_eq(open_errno(inside, O_RDONLY), 0);
	ck_assert_int_eq(open_errno(tree, O_RDONLY | O_DIRECTORY), 0);
	ck_assert_int_eq(open_errno(secret, O_RDONLY), EACCES);
	ck_assert_int_eq(open_errno(allowed, O_WRONLY), EACCES);
	ck_assert_int_eq(open_errno(inside, O_RDWR), EACCES);
	ck_assert_int_eq(open_errno("/proc/self/status", O_RDONLY), EACCES);
	ck_assert_int_eq(open_errno("/proc/1/mem", O_RDONLY), EACCES);
	(void)snprintf(buf, sizeof(buf), "%s/new", tree);
	ck_assert_int_eq(open_errno(buf, O_WRONLY | O_CREAT), EACCES);
}
END_TEST

static Suite *
landlock_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("landlock");
	tc = tcase_create("landlock");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reads_only_what_was_registered);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(landlock_suite()));
}
