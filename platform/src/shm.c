/*
 * shm.c - anonymous shared memory mapped by the parent before the workers
 * fork, and a spin lock for the short critical sections on it.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <time.h>

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

/*
 * The sections under this lock are a few hundred instructions; after a
 * while of spinning we sleep a little so a preempted holder gets the CPU
 * (nanosleep is in Kore's seccomp allow list, sched_yield is not).
 */
void
shm_lock(volatile u_int32_t *lock)
{
	struct timespec	ts = { 0, 50000 };
	u_int32_t	spins;

	spins = 0;
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) != 0) {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0) {
			if (++spins > 1000) {
				(void)nanosleep(&ts, NULL);
				spins = 0;
			}
		}
	}
}

void
shm_unlock(volatile u_int32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
