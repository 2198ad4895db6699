/*
 * fmt.h - formats shared by the services: ids, e-mail, country codes,
 * RFC 3339 timestamps, request ids.  The fmt_* checks return 1 when the
 * NUL-terminated string is well-formed, 0 otherwise, so they can be used as
 * json_field.check.
 */

#ifndef __H_FMT_H
#define __H_FMT_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#define FMT_UUID_LEN		36	/* without the NUL */
#define FMT_RFC3339_LEN		32	/* buffer size for fmt_rfc3339*() */
#define FMT_POSTAL_MAX		16	/* without the NUL */
#define FMT_POSTAL_RULE		"must be 1-16 letters, digits, spaces or " \
				"dashes, starting with a letter or digit"

/* Canonical lower-case UUID: 8-4-4-4-12 hex. */
int	fmt_uuid(const char *);

/* Product id: ^[A-Z0-9][A-Z0-9-]{1,63}$ */
int	fmt_product_id(const char *);

/* A sane e-mail address: local@domain.tld, no spaces, <= 254 bytes. */
int	fmt_email(const char *);

/* ISO 3166-1 alpha-2, checked against the assigned codes. */
int	fmt_country(const char *);

/*
 * Postal code: ^[A-Za-z0-9][A-Za-z0-9 -]{0,15}$ (FMT_POSTAL_RULE), the
 * same at every service an address passes: an address the first one
 * accepts is never refused further down, after the order was taken.
 */
int	fmt_postal_code(const char *);

/* RFC 3339 timestamp (with 'Z' or a numeric offset). */
int	fmt_rfc3339(const char *);

/* Request id as accepted from X-Request-Id: 1-64 of [A-Za-z0-9._-]. */
int	fmt_request_id(const char *);

/* Idempotency-Key: 1-128 printable ASCII (0x20-0x7e). */
int	fmt_idempotency_key(const char *);

/*
 * Writes a new random (v4) UUID from the kernel CSPRNG into out (at least
 * FMT_UUID_LEN + 1 bytes).  Returns 0 only when no randomness is available.
 */
int	fmt_uuid_generate(char *, size_t);

/*
 * Formats 16 bytes (b[6] and b[8] are set to the version and the RFC 4122
 * variant) as a canonical lower-case UUID into out (FMT_UUID_LEN + 1).
 */
void	fmt_uuid_format(u_int8_t *, int, char *, size_t);

/*
 * Writes the name-based (v5, SHA-1) UUID of name in namespace ns (a UUID)
 * into out: the same inputs always give the same id.  0 on bad input.
 */
int	fmt_uuid_v5(const char *, const char *, char *, size_t);

/* "2026-11-26T04:00:00Z" into buf (FMT_RFC3339_LEN bytes). */
void	fmt_rfc3339_time(char *, size_t, time_t);

/* "2026-11-26T04:00:00.123Z" (milliseconds) into buf. */
void	fmt_rfc3339_ms(char *, size_t, const struct timespec *);

/* Parses an RFC 3339 timestamp into a UTC time_t. 1 on success. */
int	fmt_rfc3339_parse(const char *, time_t *);

#endif
