/*
 * sandbox.c - the platform's part of a worker's sandbox (sandbox.h):
 * additions to Kore's seccomp filter and, for a worker without a chroot,
 * the files it may read (landlock.h).
 *
 * Kore's own lists already hold what the services do in a worker: its
 * "worker" list, and the "pgsql" and "curl" lists (socket for AF_INET,
 * AF_INET6 and AF_UNIX, connect, bind, getsockopt, getsockname, clone...).
 * Verified with `seccomp_tracing yes` on the static musl build through
 * tests/kore-smoke's /probe route: musl's stub resolver, a libpq connect,
 * a request through Kore's asynchronous curl layer with libcurl resolving
 * a name, and malloc growth past musl's mmap threshold - no violation.
 *
 * What is listed here is needed by the services themselves, whatever Kore
 * lists happen to be compiled in; each entry names its caller. When a
 * worker dies of SIGSYS ("sandbox violation" in the log), run with
 * `seccomp_tracing yes` and add the reported call here.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

#include "landlock.h"
#include "sandbox.h"
#include "svc_log.h"

static struct sock_filter	filter_platform[] = {
	/*
	 * Reaching into another process: Kore's lists allow none of these
	 * (a worker calling one would die of SIGSYS); refused here with
	 * EPERM to say so whatever a list allows, and so that a worker can
	 * report the refusal (tests/kore-smoke's /attack). Opening
	 * /proc/<pid>/mem is refused by the kernel: every process is
	 * non-dumpable (unprivileged-start.patch), and a worker without a
	 * chroot reads nothing under /proc (Landlock).
	 */
	KORE_SYSCALL_DENY(ptrace, EPERM),
	KORE_SYSCALL_DENY(process_vm_readv, EPERM),
	KORE_SYSCALL_DENY(process_vm_writev, EPERM),

	/* musl's resolver (res_msend) binds its UDP socket before sendto. */
	KORE_SYSCALL_ALLOW(bind),
	/*
	 * The robust process-shared mutex of the shared tables (shm.c):
	 * musl registers the worker's robust list on its first lock, and a
	 * contended lock waits on a (shared) futex.
	 */
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(futex),
};

void
sandbox_parent_init(void)
{
	char		buf[1024];
	int		abi;

	/* Chrooted workers see the files of their root and no others. */
	if (!skip_chroot)
		return;

	/* What musl's resolver reads, for libpq's and libcurl's names. */
	landlock_allow_read("/etc/hosts");
	landlock_allow_read("/etc/resolv.conf");

	/*
	 * Without Landlock a worker could read the private key file (the
	 * key manager's uid is its own): CONTRACT §7 promises the key out
	 * of the workers' reach, so no start without it.
	 */
	if ((abi = landlock_abi()) == 0) {
		fatalx("no chroot and no Landlock (%s): a worker could read "
		    "the private key file; run on Linux 5.13 or later with "
		    "landlock enabled and allowed by the seccomp profile, or "
		    "start as root (the baseline profile)", errno_s);
	}

	svc_log(SVC_LOG_INFO, NULL, "sandbox: no chroot; Landlock (ABI %d) "
	    "leaves each worker reading only %s", abi,
	    landlock_paths(buf, sizeof(buf)));
}

void
kore_seccomp_hook(void)
{
	/* The keymgr only signs: it keeps Kore's own, tighter filter. */
	if (worker != NULL && worker->id == KORE_WORKER_KEYMGR)
		return;

	if (skip_chroot)
		landlock_confine();

	if (!kore_seccomp_filter("platform", filter_platform,
	    KORE_FILTER_LEN(filter_platform)))
		fatal("seccomp: cannot add the platform filter");
}
