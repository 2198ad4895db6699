/*
 * fuzz_fmt.c - the path and id validators (fmt.c, path.c) and the
 * upstream answer parsers (Retry-After, URL joining) on any string.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "fmt.h"
#include "fuzz.h"
#include "path.h"
#include "upstream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, seg[80], url[128];
	time_t		t;
	int		n;

	/* The validators take C strings: the input up to its first NUL. */
	if ((s = malloc(size + 1)) == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';

	(void)fmt_uuid(s);
	(void)fmt_product_id(s);
	(void)fmt_email(s);
	(void)fmt_country(s);
	(void)fmt_rfc3339(s);
	(void)fmt_rfc3339_parse(s, &t);
	(void)fmt_request_id(s);
	(void)fmt_idempotency_key(s);
	for (n = 0; n < 6; n++)
		(void)path_segment(s, n, seg, sizeof(seg));

	(void)upstream_parse_retry_after(s);
	(void)upstream_join_url(url, sizeof(url), "https://127.0.0.1:1", s);
	(void)upstream_join_url(url, sizeof(url), s, "/x");

	free(s);
	return (0);
}
