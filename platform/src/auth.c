/*
 * auth.c - bearer token check.  The token is read once by the parent
 * (before fork and chroot), kept in this process's memory only, compared
 * in constant time and never logged.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth.h"

static char	auth_token[AUTH_SECRET_MAX];
static size_t	auth_token_len;

int
auth_secret_read(const char *path, char *out, size_t outlen,
    const char **errstr)
{
	int		fd;
	ssize_t		r;
	size_t		off;

	if (path == NULL || *path == '\0') {
		*errstr = "no file configured";
		return (0);
	}

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*errstr = "cannot open file";
		return (0);
	}

	off = 0;
	for (;;) {
		if (off == outlen) {
			(void)close(fd);
			OPENSSL_cleanse(out, outlen);
			*errstr = "secret too long";
			return (0);
		}
		r = read(fd, out + off, outlen - off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			(void)close(fd);
			OPENSSL_cleanse(out, outlen);
			*errstr = "cannot read file";
			return (0);
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	(void)close(fd);

	if (off > 0 && out[off - 1] == '\n')
		off--;
	if (off > 0 && out[off - 1] == '\r')
		off--;

	if (off == 0) {
		*errstr = "file is empty";
		return (0);
	}

	if (off == outlen) {
		OPENSSL_cleanse(out, outlen);
		*errstr = "secret too long";
		return (0);
	}
	out[off] = '\0';

	/* A NUL or a line break inside would never match a header. */
	if (strlen(out) != off || strchr(out, '\n') != NULL ||
	    strchr(out, '\r') != NULL) {
		OPENSSL_cleanse(out, outlen);
		*errstr = "secret holds control characters";
		return (0);
	}

	return (1);
}

void
auth_set_token(const char *token)
{
	size_t		len;

	OPENSSL_cleanse(auth_token, sizeof(auth_token));
	auth_token_len = 0;

	if (token == NULL)
		return;

	len = strlen(token);
	if (len >= sizeof(auth_token))
		return;

	memcpy(auth_token, token, len);
	auth_token_len = len;
}

/*
 * Compares a and b in time that depends only on the length of b (the
 * presented credential), never on where they differ, so it leaks neither
 * the secret's content nor its length through an early exit.
 */
int
auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const u_int8_t	*pa = a, *pb = b;
	size_t		i;
	u_int8_t	diff;

	diff = (alen != blen);

	for (i = 0; i < blen; i++)
		diff |= pb[i] ^ (alen > 0 ? pa[i % alen] : 0);

	return (diff == 0 && alen > 0);
}

int
auth_check_bearer(const char *value)
{
	const char	*tok;

	if (value == NULL || auth_token_len == 0)
		return (0);

	if (strncasecmp(value, "bearer ", 7) != 0)
		return (0);

	tok = value + 7;
	while (*tok == ' ')
		tok++;

	return (auth_equal(auth_token, auth_token_len, tok, strlen(tok)));
}
