/*
 * auth.h - bearer credentials.  A service holds no secret it accepts: its
 * credentials file names each accepted token by its SHA-256 digest, a
 * presented token is hashed and its digest compared in constant time.
 * The service's own identity token (at most AUTH_SECRET_MAX - 1 bytes) is
 * read once by the parent (secret.h) and never logged.
 *
 * Credentials file: one credential a line, "<name> <sha256 hex>", the
 * fields separated by blanks; empty lines and lines starting with '#' are
 * ignored.  A name is 1-64 of [A-Za-z0-9._-] and appears once, a digest is
 * 64 hex digits and appears once.  At least one, at most AUTH_CREDS_MAX.
 */

#ifndef __H_AUTH_H
#define __H_AUTH_H

#include <sys/types.h>
#include <stddef.h>

#define AUTH_SECRET_MAX		512
#define AUTH_NAME_MAX		64
#define AUTH_CREDS_MAX		64
#define AUTH_DIGEST_LEN		32	/* SHA-256 */
#define AUTH_CREDS_FILE_MAX	16384

struct auth_cred {
	char		name[AUTH_NAME_MAX + 1];
	u_int8_t	digest[AUTH_DIGEST_LEN];
};

struct auth_creds {
	struct auth_cred	cred[AUTH_CREDS_MAX];
	size_t			n;
};

/*
 * Parses a credentials file's text (len bytes) into creds.  Returns 1 on
 * success; 0 with a reason in err ("line 3: ...", never the line's
 * content) otherwise.
 */
int	auth_creds_parse(struct auth_creds *, const char *, size_t, char *,
	    size_t);

/* Reads and parses a credentials file; as auth_creds_parse(). */
int	auth_creds_read(struct auth_creds *, const char *, char *, size_t);

/*
 * The name of the credential whose digest is that of token (len bytes),
 * NULL when none is.  Every digest is compared, in constant time.
 */
const char	*auth_creds_match(const struct auth_creds *, const void *,
		    size_t);

/* Sets the credentials requests are checked against (copied; NULL: none). */
void	auth_set_creds(const struct auth_creds *);

/* Constant-time comparison of two byte strings; 1 when equal. */
int	auth_equal(const void *, size_t, const void *, size_t);

/*
 * Checks an Authorization header value ("Bearer <token>", the scheme
 * case-insensitive) against the credentials set: the matching
 * credential's name, NULL when there is none (or value is NULL).
 */
const char	*auth_check_bearer(const char *);

#endif
