/*
 * memtrim.h - a worker gives the allocator's free memory back to the
 * system once it has gone quiet.
 */

#ifndef __H_MEMTRIM_H
#define __H_MEMTRIM_H

/*
 * Starts the worker's trim timer: after an interval without a request
 * answered, the allocator returns what it holds free, once until the next
 * request.  Does nothing where the allocator has no such call.
 */
void	memtrim_worker_init(void);

#endif
