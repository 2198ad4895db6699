/*
 * env.h - numbers from the environment, read by the parent at start.
 */

#ifndef __H_ENV_H
#define __H_ENV_H

#include <sys/types.h>

/*
 * The decimal number in the environment variable name, within [min, max];
 * def when it is unset or empty.  Anything else is fatal, naming the
 * variable and the range.
 */
u_int32_t	env_u32(const char *, u_int32_t, u_int32_t, u_int32_t);

#endif
