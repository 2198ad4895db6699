/*
 * memtrim.c - gives the allocator's free memory back once a worker has
 * gone quiet (memtrim.h).  mimalloc, the static services' malloc
 * (platform/deps/recipes/mimalloc.sh), decommits the pages a burst left
 * free only when the thread allocates again: a worker that goes idle after
 * thousands of connections kept them (~7 MiB of 39 after 1500 connections;
 * the rest is Kore's pools, which never shrink).  mi_collect(true) returns
 * them (tests/integration/test_memory.py).
 * Builds without mimalloc (the host's unit tests and fuzz targets) have no
 * mi_collect: the weak reference is NULL and nothing is started.
 */

#include <sys/types.h>

#include <stdbool.h>

#include <kore/kore.h>

#include "memtrim.h"
#include "request.h"

/* How often a worker looks whether it answered anything meanwhile. */
#define MEMTRIM_INTERVAL_MS	2000

extern void	mi_collect(bool) __attribute__((weak));

static void	memtrim_tick(void *, u_int64_t);

static u_int64_t	seen;		/* requests answered at the last tick */
static int		trimmed;	/* nothing answered since the trim */

void
memtrim_worker_init(void)
{
	if (mi_collect == NULL)
		return;

	seen = svc_requests_done();
	trimmed = 0;
	(void)kore_timer_add(memtrim_tick, MEMTRIM_INTERVAL_MS, NULL, 0);
}

/* Quiet for a whole interval, and not trimmed since the last request. */
static void
memtrim_tick(void *arg, u_int64_t now)
{
	u_int64_t	done;

	(void)arg;
	(void)now;

	done = svc_requests_done();
	if (done != seen) {
		seen = done;
		trimmed = 0;
		return;
	}
	if (trimmed)
		return;

	trimmed = 1;
	mi_collect(true);
}
