/*
 * shm.h - private helpers for the shared-memory tables (ratelimit.c,
 * metrics.c): anonymous shared mappings and a tiny spin lock.
 */

#ifndef __H_SHM_H
#define __H_SHM_H

#include <sys/types.h>
#include <stddef.h>

void	*shm_map(size_t);
void	shm_unmap(void *, size_t);
void	shm_lock(volatile u_int32_t *);
void	shm_unlock(volatile u_int32_t *);

#endif
