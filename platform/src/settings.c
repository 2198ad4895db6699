/*
 * settings.c - the platform's own settings in the service's Kore
 * configuration file: Kore hands each setting it does not know to
 * kore_parent_setting() (config-application-settings.patch), in the
 * parent, while it parses the file; the workers inherit the values.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "admission.h"
#include "svc.h"

struct svc_setting {
	const char	*name;
	u_int32_t	*value;
	u_int32_t	min;
	u_int32_t	max;
};

static const struct svc_setting	settings[] = {
	{ "admission_limit", &admission_config.limit, 1,
	    ADMISSION_LIMIT_MAX },
	{ "admission_queue", &admission_config.queue, 0,
	    ADMISSION_QUEUE_MAX },
	{ "admission_queue_ms", &admission_config.queue_ms, 1,
	    ADMISSION_QUEUE_MS_MAX },
	{ NULL, NULL, 0, 0 }
};

/*
 * KORE_RESULT_OK: taken; KORE_RESULT_ERROR: a bad value (Kore stops
 * with the line number); KORE_RESULT_RETRY: not one of ours.
 */
int
kore_parent_setting(const char *name, const char *value)
{
	const struct svc_setting	*s;
	long long			n;
	int				err;

	for (s = settings; s->name != NULL; s++) {
		if (strcmp(s->name, name) == 0)
			break;
	}
	if (s->name == NULL)
		return (KORE_RESULT_RETRY);

	n = kore_strtonum(value, 10, s->min, s->max, &err);
	if (err != KORE_RESULT_OK) {
		/* As Kore says it of its own settings. */
		printf("bad %s value: '%s' (a number from %u to %u)\n",
		    s->name, value, s->min, s->max);
		return (KORE_RESULT_ERROR);
	}
	*s->value = (u_int32_t)n;

	return (KORE_RESULT_OK);
}
