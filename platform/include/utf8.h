/*
 * utf8.h - UTF-8 decoding shared by the JSON parser (which refuses what
 * is not UTF-8) and the JSON writer (which replaces it).
 */

#ifndef __H_UTF8_H
#define __H_UTF8_H

#include <sys/types.h>
#include <stddef.h>

/*
 * The length (1-4) of the valid UTF-8 sequence at s (len bytes left, at
 * least 1), its code point in *cp; 0 when it is not one: overlong forms,
 * surrogates and code points beyond U+10FFFF are not.
 */
size_t	utf8_seq(const unsigned char *, size_t, u_int32_t *);

#endif
