/*
 * auth.c - bearer credentials.  Files are read once by the parent (before
 * fork and chroot; secret.h).  Accepted tokens are known by their SHA-256
 * digest only, so that no service process holds a secret that opens
 * another service; the tokens are 256-bit random values, which makes an
 * unsalted SHA-256 enough (nothing to guess, no dictionary to precompute).
 * Digests are compared in constant time; nothing here is ever logged.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "auth.h"
#include "secret.h"

static struct auth_creds	auth_creds;

static int	cred_line(struct auth_creds *, const char *, size_t,
		    const char **);
static int	name_ok(const char *, size_t);
static int	hex_digest(const char *, size_t, u_int8_t *);

int
auth_creds_parse(struct auth_creds *creds, const char *text, size_t len,
    char *err, size_t errlen)
{
	const char	*p, *end, *nl, *why;
	size_t		line;

	memset(creds, 0, sizeof(*creds));

	if (memchr(text, '\0', len) != NULL) {
		(void)snprintf(err, errlen, "holds a NUL byte");
		return (0);
	}

	p = text;
	end = text + len;
	for (line = 1; p < end; line++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!cred_line(creds, p, (size_t)(nl - p), &why)) {
			(void)snprintf(err, errlen, "line %zu: %s", line, why);
			memset(creds, 0, sizeof(*creds));
			return (0);
		}
		p = nl + 1;
	}

	/* A service that accepts nothing is a configuration error. */
	if (creds->n == 0) {
		(void)snprintf(err, errlen, "no credentials");
		return (0);
	}

	return (1);
}

/* One line: blank, a comment, or "<name> <digest>". */
static int
cred_line(struct auth_creds *creds, const char *s, size_t len,
    const char **why)
{
	struct auth_cred	*c;
	const char		*name, *hex;
	size_t			nlen, hlen, i;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || *s == '#')
		return (1);

	name = s;
	for (nlen = 0; nlen < len && s[nlen] != ' ' && s[nlen] != '\t'; nlen++)
		;
	for (hex = s + nlen; hex < s + len && (*hex == ' ' || *hex == '\t');
	    hex++)
		;
	hlen = (size_t)(s + len - hex);

	if (!name_ok(name, nlen)) {
		*why = "a name is 1-64 of A-Z a-z 0-9 . _ -";
		return (0);
	}
	if (creds->n == AUTH_CREDS_MAX) {
		*why = "too many credentials";
		return (0);
	}

	c = &creds->cred[creds->n];
	if (!hex_digest(hex, hlen, c->digest)) {
		*why = "not \"<name> <sha256 hex>\"";
		return (0);
	}
	memcpy(c->name, name, nlen);
	c->name[nlen] = '\0';

	for (i = 0; i < creds->n; i++) {
		if (strcmp(creds->cred[i].name, c->name) == 0) {
			*why = "a name given twice";
			return (0);
		}
		if (memcmp(creds->cred[i].digest, c->digest,
		    AUTH_DIGEST_LEN) == 0) {
			*why = "a digest given twice";
			return (0);
		}
	}
	creds->n++;

	return (1);
}

static int
name_ok(const char *s, size_t len)
{
	size_t		i;

	if (len == 0 || len > AUTH_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return (0);
	}

	return (1);
}

static int
hex_digest(const char *s, size_t len, u_int8_t *out)
{
	size_t		i;
	int		v, nib;
	char		ch;

	v = 0;
	if (len != AUTH_DIGEST_LEN * 2)
		return (0);

	for (i = 0; i < len; i++) {
		ch = s[i];
		if (ch >= '0' && ch <= '9')
			nib = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			nib = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			nib = ch - 'A' + 10;
		else
			return (0);
		if (i % 2 == 0)
			v = nib << 4;
		else
			out[i / 2] = (u_int8_t)(v | nib);
	}

	return (1);
}

int
auth_creds_read(struct auth_creds *creds, const char *path, char *err,
    size_t errlen)
{
	char		buf[AUTH_CREDS_FILE_MAX];
	const char	*errstr;
	size_t		len;
	int		ok;

	if (!secret_file_read(path, buf, sizeof(buf), &len, &errstr)) {
		(void)snprintf(err, errlen, "%s", errstr);
		return (0);
	}

	ok = auth_creds_parse(creds, buf, len, err, errlen);
	OPENSSL_cleanse(buf, sizeof(buf));

	return (ok);
}

const char *
auth_creds_match(const struct auth_creds *creds, const void *token,
    size_t len)
{
	u_int8_t	md[AUTH_DIGEST_LEN];
	const char	*name;
	size_t		i;

	if (creds == NULL || creds->n == 0 || len == 0)
		return (NULL);

	(void)SHA256(token, len, md);

	/* No early exit: the time says nothing about which one matched. */
	name = NULL;
	for (i = 0; i < creds->n; i++) {
		if (auth_equal(creds->cred[i].digest, AUTH_DIGEST_LEN, md,
		    sizeof(md)))
			name = creds->cred[i].name;
	}
	OPENSSL_cleanse(md, sizeof(md));

	return (name);
}

void
auth_set_creds(const struct auth_creds *creds)
{
	if (creds == NULL)
		memset(&auth_creds, 0, sizeof(auth_creds));
	else
		memcpy(&auth_creds, creds, sizeof(auth_creds));
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

const char *
auth_check_bearer(const char *value)
{
	const char	*tok;

	if (value == NULL)
		return (NULL);

	if (strncasecmp(value, "bearer ", 7) != 0)
		return (NULL);

	tok = value + 7;
	while (*tok == ' ')
		tok++;

	return (auth_creds_match(&auth_creds, tok, strlen(tok)));
}
