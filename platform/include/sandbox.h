/*
 * sandbox.h - the platform's part of a worker's sandbox.
 *
 * Kore locks every worker into a seccomp filter after dropping privileges
 * (src/seccomp.c): its own allow list, plus the "pgsql" and "curl" lists,
 * plus whatever the application adds from kore_seccomp_hook(), which Kore
 * resolves by name (through the generated symbol table) and calls just
 * before the filter is loaded. Anything not allowed kills the worker
 * (SIGSYS); run with `seccomp_tracing on` to see what a path needs.
 *
 * Without a chroot (started unprivileged: CONTRACT §7's "restricted"
 * profile, or -n) the workers' files are limited by Landlock instead
 * (landlock.h): sandbox_parent_init() checks that the kernel has it and
 * refuses to start otherwise, kore_seccomp_hook() confines each worker.
 */

#ifndef __H_SANDBOX_H
#define __H_SANDBOX_H

/*
 * Parent, after the modules registered the files they read at run time
 * (landlock_allow_read()): the resolver's files, the check, a log line.
 */
void	sandbox_parent_init(void);

/* Called by Kore in each worker before the lock-in (and in the keymgr,
 * which it leaves alone). */
void	kore_seccomp_hook(void);

#endif
