/*
 * tlsmem.c - OpenSSL's allocations, with a few TLS record buffers kept.
 *
 * The servers' and the upstream clients' TLS contexts run with
 * SSL_MODE_RELEASE_BUFFERS (Kore's tls-release-idle-buffers.patch,
 * upstream.c): a connection gives its ~17 KB read and write buffers back
 * whenever they are empty, so hundreds of idle keep-alive connections cost
 * no buffer memory.  But then every request frees and allocates them
 * again, and musl's malloc answers each free of a slot that spans whole
 * pages with madvise(2) (and unmaps emptied groups): about three system
 * calls and a TLB flush per request (docs/performance.md, "System calls
 * per request").
 *
 * This keeps up to TLSMEM_KEEP freed buffers of record size per process
 * and hands them out again, LIFO (the most recently used, still cached,
 * first); every other allocation goes straight to malloc.  What it holds
 * is bounded and was resident already (MADV_FREE pages stay counted until
 * the kernel reclaims them).  Kore's processes are single threaded, so the
 * list needs no lock.
 *
 * Installed before main() (a constructor): OpenSSL takes new allocation
 * functions only before its first allocation.
 */

#include <sys/types.h>

#include <malloc.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "tlsmem.h"

/* A record buffer: 16 KB of plaintext plus header, MAC and padding room. */
#define TLSMEM_MIN	(16 * 1024)
#define TLSMEM_MAX	(20 * 1024)
#define TLSMEM_KEEP	16

static void	*tlsmem_malloc(size_t, const char *, int);
static void	*tlsmem_realloc(void *, size_t, const char *, int);
static void	tlsmem_free(void *, const char *, int);
static void	tlsmem_install(void) __attribute__((constructor));

static void	*tlsmem_kept[TLSMEM_KEEP];
static size_t	tlsmem_kept_len[TLSMEM_KEEP];
static int	tlsmem_nkept;

static void
tlsmem_install(void)
{
	(void)CRYPTO_set_mem_functions(tlsmem_malloc, tlsmem_realloc,
	    tlsmem_free);
}

int
tlsmem_installed(void)
{
	CRYPTO_malloc_fn	m;
	CRYPTO_realloc_fn	r;
	CRYPTO_free_fn		f;

	CRYPTO_get_mem_functions(&m, &r, &f);

	return (m == tlsmem_malloc && r == tlsmem_realloc && f == tlsmem_free);
}

size_t
tlsmem_kept_count(void)
{
	return ((size_t)tlsmem_nkept);
}

static void *
tlsmem_malloc(size_t len, const char *file, int line)
{
	void		*p;
	int		i;

	(void)file;
	(void)line;

	if (len >= TLSMEM_MIN && len <= TLSMEM_MAX) {
		for (i = tlsmem_nkept - 1; i >= 0; i--) {
			if (tlsmem_kept_len[i] < len)
				continue;
			p = tlsmem_kept[i];
			tlsmem_nkept--;
			tlsmem_kept[i] = tlsmem_kept[tlsmem_nkept];
			tlsmem_kept_len[i] = tlsmem_kept_len[tlsmem_nkept];
			return (p);
		}
	}

	return (malloc(len));
}

static void *
tlsmem_realloc(void *p, size_t len, const char *file, int line)
{
	(void)file;
	(void)line;

	return (realloc(p, len));
}

static void
tlsmem_free(void *p, const char *file, int line)
{
	size_t		len;

	(void)file;
	(void)line;

	if (p == NULL)
		return;

	len = malloc_usable_size(p);
	if (len >= TLSMEM_MIN && len <= TLSMEM_MAX &&
	    tlsmem_nkept < TLSMEM_KEEP) {
		tlsmem_kept[tlsmem_nkept] = p;
		tlsmem_kept_len[tlsmem_nkept] = len;
		tlsmem_nkept++;
		return;
	}

	free(p);
}
