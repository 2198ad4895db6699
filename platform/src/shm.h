/*
 * shm.h - private helpers for the shared-memory tables (ratelimit.c,
 * metrics.c): anonymous shared mappings and the lock of their short
 * critical sections.
 */

#ifndef __H_SHM_H
#define __H_SHM_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>

/*
 * A process-shared robust mutex: a holder that dies inside (a worker
 * killed there) cannot leave it held; the next shm_lock() takes it over.
 * It lives in the shared mapping, set up by shm_lock_init() before the
 * workers fork.
 */
struct shm_lock {
	pthread_mutex_t		mtx;
};

void	*shm_map(size_t);
void	shm_unmap(void *, size_t);
int	shm_lock_init(struct shm_lock *);
void	shm_lock(struct shm_lock *);
void	shm_unlock(struct shm_lock *);

#endif
