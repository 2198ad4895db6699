/*
 * ratelimit.c - token bucket per client address in one shared table.
 *
 * Buckets hold micro-tokens (1 token = 1,000,000) so the refill of
 * elapsed_us * rate is exact integer math.  The table never grows: an
 * address probes RATELIMIT_PROBE slots from its hash and, if it is in
 * none and none is free, takes over the stalest one (a new address
 * starts with a full bucket, so eviction only ever errs on the side of
 * letting a request through).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/random.h>

#include <netinet/in.h>

#include <string.h>
#include <time.h>

#include "ratelimit.h"
#include "shm.h"

#define MICRO		1000000ULL

struct rl_slot {
	u_int8_t	key[RATELIMIT_KEYLEN];
	u_int32_t	used;
	u_int64_t	tokens;		/* micro-tokens */
	u_int64_t	last_us;	/* last refill */
};

struct rl_table {
	struct shm_lock		lock;
	u_int32_t		nslots;
	u_int64_t		rate;		/* tokens per second */
	u_int64_t		burst;		/* bucket size in tokens */
	u_int64_t		seed;
	u_int64_t		used;
	struct rl_slot		slots[];
};

static struct rl_table	*rl;
static size_t		rl_maplen;

static void		rl_key(int, const void *, u_int8_t *);
static u_int64_t	rl_hash(const u_int8_t *);
static struct rl_slot	*rl_lookup(const u_int8_t *, u_int64_t);
static void		rl_refill(struct rl_slot *, u_int64_t);

int
ratelimit_init(size_t nslots, u_int32_t rate, u_int32_t burst)
{
	ratelimit_cleanup();

	if (nslots < RATELIMIT_PROBE)
		nslots = RATELIMIT_PROBE;

	rl_maplen = sizeof(*rl) + nslots * sizeof(struct rl_slot);
	if ((rl = shm_map(rl_maplen)) == NULL)
		return (0);
	if (!shm_lock_init(&rl->lock)) {
		ratelimit_cleanup();
		return (0);
	}

	rl->nslots = nslots;
	rl->rate = rate;
	rl->burst = burst > 0 ? burst : 1;

	/* A secret seed so clients cannot aim at each other's slots. */
	if (getrandom(&rl->seed, sizeof(rl->seed), 0) != sizeof(rl->seed))
		rl->seed = (u_int64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;

	return (1);
}

void
ratelimit_cleanup(void)
{
	shm_unmap(rl, rl_maplen);
	rl = NULL;
	rl_maplen = 0;
}

u_int64_t
ratelimit_now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((u_int64_t)ts.tv_sec * MICRO + (u_int64_t)ts.tv_nsec / 1000);
}

/* IPv4 is stored as an IPv4-mapped IPv6 address. */
static void
rl_key(int af, const void *addr, u_int8_t *key)
{
	memset(key, 0, RATELIMIT_KEYLEN);

	if (af == AF_INET6) {
		memcpy(key, addr, RATELIMIT_KEYLEN);
	} else if (af == AF_INET) {
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, addr, 4);
	}
}

/* FNV-1a over the seeded key, finished with a 64-bit mix. */
static u_int64_t
rl_hash(const u_int8_t *key)
{
	u_int64_t	h;
	size_t		i;

	h = 0xcbf29ce484222325ULL ^ rl->seed;
	for (i = 0; i < RATELIMIT_KEYLEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;

	return (h);
}

/* Under the lock: the slot for key, claimed (and reset) if new. */
static struct rl_slot *
rl_lookup(const u_int8_t *key, u_int64_t now)
{
	struct rl_slot	*s, *empty, *stalest;
	u_int64_t	idx;
	u_int32_t	i;

	idx = rl_hash(key) % rl->nslots;
	empty = stalest = NULL;

	for (i = 0; i < RATELIMIT_PROBE; i++) {
		s = &rl->slots[(idx + i) % rl->nslots];
		if (!s->used) {
			if (empty == NULL)
				empty = s;
			continue;
		}
		if (memcmp(s->key, key, RATELIMIT_KEYLEN) == 0)
			return (s);
		if (stalest == NULL || s->last_us < stalest->last_us)
			stalest = s;
	}

	if (empty != NULL) {
		s = empty;
		rl->used++;
	} else {
		s = stalest;
	}

	memcpy(s->key, key, RATELIMIT_KEYLEN);
	s->used = 1;
	s->tokens = rl->burst * MICRO;
	s->last_us = now;

	return (s);
}

static void
rl_refill(struct rl_slot *s, u_int64_t now)
{
	u_int64_t	elapsed, cap;

	cap = rl->burst * MICRO;
	if (now <= s->last_us)
		return;

	elapsed = now - s->last_us;
	s->last_us = now;

	/* Past a full refill the product could only overflow. */
	if (elapsed >= cap / (rl->rate > 0 ? rl->rate : 1) + 1) {
		s->tokens = cap;
		return;
	}

	s->tokens += elapsed * rl->rate;
	if (s->tokens > cap)
		s->tokens = cap;
}

int
ratelimit_take(int af, const void *addr, u_int64_t now, u_int32_t *retry)
{
	struct rl_slot	*s;
	u_int8_t	key[RATELIMIT_KEYLEN];
	u_int64_t	need, wait_us;
	int		ok;

	/* Not configured, or rate 0 (= limiting disabled). */
	if (rl == NULL || rl->rate == 0)
		return (1);

	rl_key(af, addr, key);

	shm_lock(&rl->lock);
	s = rl_lookup(key, now);
	rl_refill(s, now);

	if (s->tokens >= MICRO) {
		s->tokens -= MICRO;
		ok = 1;
	} else {
		need = MICRO - s->tokens;
		wait_us = (need + rl->rate - 1) / rl->rate;
		*retry = (u_int32_t)((wait_us + MICRO - 1) / MICRO);
		if (*retry < 1)
			*retry = 1;
		ok = 0;
	}
	shm_unlock(&rl->lock);

	return (ok);
}

size_t
ratelimit_slots_used(void)
{
	size_t		n;

	if (rl == NULL)
		return (0);

	shm_lock(&rl->lock);
	n = rl->used;
	shm_unlock(&rl->lock);

	return (n);
}

int
ratelimit_tokens(int af, const void *addr, u_int64_t now, u_int64_t *out)
{
	struct rl_slot	*s;
	u_int8_t	key[RATELIMIT_KEYLEN];
	u_int64_t	idx;
	u_int32_t	i;
	int		found;

	if (rl == NULL)
		return (0);

	rl_key(af, addr, key);
	idx = rl_hash(key) % rl->nslots;
	found = 0;

	shm_lock(&rl->lock);
	for (i = 0; i < RATELIMIT_PROBE; i++) {
		s = &rl->slots[(idx + i) % rl->nslots];
		if (s->used && memcmp(s->key, key, RATELIMIT_KEYLEN) == 0) {
			rl_refill(s, now);
			*out = s->tokens / MICRO;
			found = 1;
			break;
		}
	}
	shm_unlock(&rl->lock);

	return (found);
}
