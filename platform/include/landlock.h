/*
 * landlock.h - a worker without a chroot reads the files it needs at run
 * time, and no others (Landlock, Linux 5.13 and later).
 *
 * Started unprivileged (CONTRACT §7, the "restricted" profile) Kore can
 * neither chroot its workers nor give them a uid of their own: without more,
 * a worker could open the private key file the key manager reads, or
 * another process's /proc/<pid>/mem. Landlock lets an unprivileged process
 * give up file access for good: after landlock_confine() a worker may read
 * the files registered here (a directory: what lies beneath it) and do
 * nothing else with any file: no other read (nothing under /proc either),
 * no write, no exec; nor may it ptrace a process outside its domain.
 *
 * The modules that open files at run time register them in the parent,
 * before the workers fork: landlock_allow_read(path), at most
 * LANDLOCK_PATHS_MAX. A path missing when a worker confines itself is left
 * out (it could not be read anyway).
 */

#ifndef __H_LANDLOCK_H
#define __H_LANDLOCK_H

#include <stddef.h>

#define LANDLOCK_PATHS_MAX	16

/*
 * The kernel's Landlock ABI version, >= 1; 0 when it has none (errno:
 * ENOSYS no such syscall, or a seccomp profile refused it; EOPNOTSUPP
 * compiled in but not enabled at boot).
 */
int		landlock_abi(void);

/* Parent: a file (or a directory's tree) the workers read at run time. */
void		landlock_allow_read(const char *);

/* The registered paths, ", "-separated, for the log. */
const char	*landlock_paths(char *, size_t);

/*
 * Worker: only the registered paths stay readable, for good (also sets
 * no_new_privs, which Landlock needs). Fatal when it cannot.
 */
void		landlock_confine(void);

#endif
