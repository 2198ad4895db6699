/*
 * secret.c - files that hold secrets (secret.h).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secret.h"

static int	file_read(const char *, char *, size_t, size_t *,
		    const char *, const char **);

int
secret_file_read(const char *path, char *out, size_t outlen, size_t *len,
    const char **errstr)
{
	return (file_read(path, out, outlen, len, "file too long", errstr));
}

/*
 * Reads a whole file into out, at most outlen - 1 bytes; on error out is
 * cleansed and errstr set (toolong: the reason for a file too long).
 */
static int
file_read(const char *path, char *out, size_t outlen, size_t *len,
    const char *toolong, const char **errstr)
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
			*errstr = toolong;
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

	/* Room for the terminating NUL. */
	if (off == outlen) {
		OPENSSL_cleanse(out, outlen);
		*errstr = toolong;
		return (0);
	}
	out[off] = '\0';
	*len = off;

	return (1);
}

int
secret_read(const char *path, char *out, size_t outlen, const char **errstr)
{
	size_t		off;

	if (!file_read(path, out, outlen, &off, "secret too long", errstr))
		return (0);

	if (off > 0 && out[off - 1] == '\n')
		off--;
	if (off > 0 && out[off - 1] == '\r')
		off--;
	out[off] = '\0';

	if (off == 0) {
		*errstr = "file is empty";
		return (0);
	}

	/* A NUL or a line break inside would never match a header. */
	if (strlen(out) != off || strchr(out, '\n') != NULL ||
	    strchr(out, '\r') != NULL) {
		OPENSSL_cleanse(out, outlen);
		*errstr = "secret holds control characters";
		return (0);
	}

	return (1);
}
