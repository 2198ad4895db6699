/*
 * shm.c - anonymous shared memory mapped by the parent before the workers
 * fork, and the lock for the short critical sections on it.
 *
 * The lock is a process-shared robust pthread mutex.  musl (like glibc)
 * implements it with the futex and set_robust_list system calls: the
 * kernel walks a dead thread's robust list and marks the mutexes it held
 * FUTEX_OWNER_DIED, so the next locker gets EOWNERDEAD instead of waiting
 * for ever.  Both calls are in the workers' seccomp filter
 * (platform/src/sandbox.c).  A contended lock sleeps in the kernel
 * instead of spinning.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <kore/kore.h>

#include "shm.h"

void *
shm_map(size_t len)
{
	void		*p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (NULL);

	return (p);
}

void
shm_unmap(void *p, size_t len)
{
	if (p != NULL)
		(void)munmap(p, len);
}

int
shm_lock_init(struct shm_lock *l)
{
	pthread_mutexattr_t	attr;
	int			ok;

	if (pthread_mutexattr_init(&attr) != 0)
		return (0);

	ok = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
	    pthread_mutex_init(&l->mtx, &attr) == 0;
	(void)pthread_mutexattr_destroy(&attr);

	return (ok);
}

void
shm_lock(struct shm_lock *l)
{
	int		r;

	if ((r = pthread_mutex_lock(&l->mtx)) == 0)
		return;

	if (r == EOWNERDEAD) {
		/*
		 * Its holder died inside a section.  What these locks
		 * protect are counters, gauges and token buckets (and a
		 * metrics series being created, which is made again): at
		 * worst one update is lost or half done, which is no
		 * reason to stop every worker.  Mark it consistent and go
		 * on as the new holder.
		 */
		if ((r = pthread_mutex_consistent(&l->mtx)) == 0)
			return;
	}

	fatal("shm_lock: %s", strerror(r));
}

void
shm_unlock(struct shm_lock *l)
{
	int		r;

	if ((r = pthread_mutex_unlock(&l->mtx)) != 0)
		fatal("shm_unlock: %s", strerror(r));
}
