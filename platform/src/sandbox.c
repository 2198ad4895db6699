/*
 * sandbox.c - the platform's additions to Kore's seccomp filter.
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

#include <stddef.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

#include "sandbox.h"

static struct sock_filter	filter_platform[] = {
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
kore_seccomp_hook(void)
{
	/* The keymgr only signs: it keeps Kore's own, tighter filter. */
	if (worker != NULL && worker->id == KORE_WORKER_KEYMGR)
		return;

	if (!kore_seccomp_filter("platform", filter_platform,
	    KORE_FILTER_LEN(filter_platform)))
		fatalx("seccomp: cannot add the platform filter");
}
