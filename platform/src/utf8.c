/*
 * utf8.c - UTF-8 decoding, one sequence at a time (utf8.h).
 */

#include <sys/types.h>

#include "utf8.h"

size_t
utf8_seq(const unsigned char *s, size_t len, u_int32_t *cp)
{
	u_int32_t	c;
	size_t		n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return (0);
	}

	if (len < n)
		return (0);

	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (s[i] & 0x3f);
	}

	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return (0);

	*cp = c;
	return (n);
}
