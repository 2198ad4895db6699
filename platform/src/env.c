/*
 * env.c - numbers from the environment (env.h).
 */

#include <sys/types.h>

#include <stdlib.h>

#include <kore/kore.h>

#include "env.h"

u_int32_t
env_u32(const char *name, u_int32_t def, u_int32_t min, u_int32_t max)
{
	const char	*v;
	long long	n;
	int		err;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);

	n = kore_strtonum(v, 10, min, max, &err);
	if (err != KORE_RESULT_OK)
		fatalx("%s: '%s' is not a number from %u to %u", name, v,
		    min, max);

	return ((u_int32_t)n);
}
