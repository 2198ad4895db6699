/*
 * secret.h - files that hold secrets (tokens, passwords, credentials),
 * read once by the parent before the workers fork and chroot: read to
 * their end (EINTR retried), bounded by the caller's buffer, and wiped
 * from it on every error.  Their content is never logged: the errors are
 * static reasons.
 */

#ifndef __H_SECRET_H
#define __H_SECRET_H

#include <stddef.h>

/*
 * A whole file into out, NUL-terminated: at most outlen - 1 bytes, *len
 * of them.  Returns 1 on success, 0 with errstr set otherwise (missing,
 * unreadable, too long).
 */
int	secret_file_read(const char *, char *, size_t, size_t *,
	    const char **);

/*
 * A secret file: one line, its trailing "\n" or "\r\n" stripped, neither
 * empty nor holding a NUL or another line break.  As secret_file_read().
 */
int	secret_read(const char *, char *, size_t, const char **);

#endif
