/*
 * landlock.c - a worker's file access reduced to the files it reads at run
 * time (landlock.h), through the kernel's Landlock syscalls (no libc
 * wrappers: musl has the numbers, the kernel headers the structures).
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "landlock.h"

/* Rights of later ABIs, for kernel headers older than them. */
#if !defined(LANDLOCK_ACCESS_FS_REFER)
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)	/* ABI 2 */
#endif
#if !defined(LANDLOCK_ACCESS_FS_TRUNCATE)
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#if !defined(LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif

static u_int64_t	handled_rights(int);

static char	*paths[LANDLOCK_PATHS_MAX];
static size_t	npaths;

int
landlock_abi(void)
{
	long	v;

	v = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (v < 1)
		return (0);

	return ((int)v);
}

void
landlock_allow_read(const char *path)
{
	size_t		i;

	for (i = 0; i < npaths; i++) {
		if (!strcmp(paths[i], path))
			return;
	}

	if (npaths == LANDLOCK_PATHS_MAX)
		fatalx("landlock: more than %d paths", LANDLOCK_PATHS_MAX);

	paths[npaths++] = kore_strdup(path);
}

const char *
landlock_paths(char *buf, size_t len)
{
	size_t		i, off;
	int		n;

	buf[0] = '\0';
	off = 0;
	for (i = 0; i < npaths && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "",
		    paths[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}

	return (buf);
}

void
landlock_confine(void)
{
	struct landlock_ruleset_attr		attr;
	struct landlock_path_beneath_attr	rule;
	struct stat				st;
	size_t					i;
	int					abi, rfd, fd;

	if ((abi = landlock_abi()) == 0)
		fatalx("landlock: not available: %s", errno_s);

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled_rights(abi);

	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd == -1)
		fatalx("landlock_create_ruleset: %s", errno_s);

	for (i = 0; i < npaths; i++) {
		if ((fd = open(paths[i], O_PATH | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				continue;
			fatalx("landlock: %s: %s", paths[i], errno_s);
		}
		if (fstat(fd, &st) == -1)
			fatalx("landlock: fstat %s: %s", paths[i], errno_s);

		memset(&rule, 0, sizeof(rule));
		rule.parent_fd = fd;
		rule.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
		if (S_ISDIR(st.st_mode))
			rule.allowed_access |= LANDLOCK_ACCESS_FS_READ_DIR;

		if (syscall(SYS_landlock_add_rule, rfd,
		    LANDLOCK_RULE_PATH_BENEATH, &rule, 0) == -1)
			fatalx("landlock_add_rule %s: %s", paths[i], errno_s);
		(void)close(fd);
	}

	/* Landlock, like seccomp, needs no_new_privs without CAP_SYS_ADMIN. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatalx("prctl(PR_SET_NO_NEW_PRIVS): %s", errno_s);

	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1)
		fatalx("landlock_restrict_self: %s", errno_s);

	(void)close(rfd);
}

/* Every file access right the kernel's ABI knows: all are denied first. */
static u_int64_t
handled_rights(int abi)
{
	u_int64_t	r;

	/* ABI 1: execute ... make_sym, bits 0 to 12. */
	r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;

	return (r);
}
