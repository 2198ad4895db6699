/*
 * sandbox.c - system calls the static musl services need on top of
 * Kore's worker, pgsql and curl seccomp filters.
 *
 * Each entry is here because a worker died of SIGSYS without it (found
 * with `seccomp_tracing on`); the comment says who makes the call.
 * Nothing is allowed for the keymgr, which keeps Kore's own tight filter.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include <kore/kore.h>
#include <kore/seccomp.h>

#include "sandbox.h"

static struct sock_filter	filter_platform[] = {
	KORE_SYSCALL_ALLOW(getpid),
};

void
kore_seccomp_hook(void)
{
	/* The keymgr only signs: it keeps Kore's filter unchanged. */
	if (worker != NULL && worker->id == KORE_WORKER_KEYMGR)
		return;

	if (!kore_seccomp_filter("platform", filter_platform,
	    KORE_FILTER_LEN(filter_platform)))
		fatalx("seccomp: cannot add the platform filter");
}
