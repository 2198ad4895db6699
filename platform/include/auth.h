/*
 * auth.h - bearer token check.  The secret is read once by the parent,
 * compared in constant time and never logged.
 */

#ifndef __H_AUTH_H
#define __H_AUTH_H

#include <sys/types.h>
#include <stddef.h>

#define AUTH_SECRET_MAX		512

/*
 * Reads a secret file into out (outlen bytes), strips one trailing "\n"
 * or "\r\n".  Returns 1 on success, 0 on error (missing, unreadable,
 * empty, too long) with errstr set to a static reason.
 */
int	auth_secret_read(const char *, char *, size_t, const char **);

/* Sets the token requests must present (copied). */
void	auth_set_token(const char *);

/* Constant-time comparison of two byte strings; 1 when equal. */
int	auth_equal(const void *, size_t, const void *, size_t);

/*
 * Checks an Authorization header value ("Bearer <token>", the scheme
 * case-insensitive) against the configured token.  NULL -> 0.
 */
int	auth_check_bearer(const char *);

#endif
