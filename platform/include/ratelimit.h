/*
 * ratelimit.h - token bucket per client address, one table in shared
 * memory (created by the parent before the workers fork) for all workers.
 *
 * The table has a fixed number of slots; an address hashes to a window of
 * RATELIMIT_PROBE slots; when none is free the stalest entry of the window
 * is evicted, so an address flood never grows memory.  Buckets hold
 * micro-tokens; all arithmetic is integer.
 */

#ifndef __H_RATELIMIT_H
#define __H_RATELIMIT_H

#include <sys/types.h>
#include <stddef.h>

#define RATELIMIT_SLOTS_DEFAULT	8192
#define RATELIMIT_PROBE		16
#define RATELIMIT_KEYLEN	16	/* IPv6, IPv4 as ::ffff:a.b.c.d */

/* Maps the table (shared, anonymous).  0 on failure. */
int		ratelimit_init(size_t, u_int32_t, u_int32_t);
void		ratelimit_cleanup(void);

/*
 * Takes one token for the address (af = AF_INET / AF_INET6, addr points
 * to struct in_addr / in6_addr) at time now_us (CLOCK_MONOTONIC in
 * microseconds).  Returns 1 when allowed; 0 when limited and then
 * *retry_after holds the seconds (>= 1) until a token is available.
 * If the table is not initialised every request is allowed.
 */
int		ratelimit_take(int, const void *, u_int64_t, u_int32_t *);

/* Introspection for tests and metrics. */
size_t		ratelimit_slots_used(void);
int		ratelimit_tokens(int, const void *, u_int64_t, u_int64_t *);

u_int64_t	ratelimit_now_us(void);

#endif
