/*
 * tlsmem.h - OpenSSL's allocation functions with a few TLS record buffers
 * kept for reuse (platform/src/tlsmem.c).  Installed before main(); these
 * only report on it.
 */

#ifndef __H_TLSMEM_H
#define __H_TLSMEM_H

#include <stddef.h>

/* 1 when OpenSSL allocates through tlsmem (it took the functions). */
int	tlsmem_installed(void);

/* Freed record buffers this process holds for reuse now. */
size_t	tlsmem_kept_count(void);

#endif
