/*
 * test_upstream.c - the pure parts of platform/upstream: backoff with full
 * jitter, Retry-After, URL joining.  The calls themselves are tested
 * against real processes (tests/integration/test_upstream.py).
 */

#include <stddef.h>

/* The services this test program "calls", as a declaration names them. */
static const char *const	unit_calls[] = {
	"order-service", "inventory-service", "logistics-service", NULL
};
#define UNIT_APP_CALLS	unit_calls

#include "unit.h"
#include "upstream.h"

START_TEST(backoff_bounds)
{
	u_int32_t	r, d, retry, ceil;

	/* The ceiling doubles per retry from base, up to cap. */
	for (retry = 1; retry <= 12; retry++) {
		ceil = 50u << (retry - 1);
		if (ceil > 400 || retry > 8)
			ceil = 400;
		/* The largest rnd of each residue class reaches the ceiling. */
		ck_assert_uint_eq(upstream_backoff_ms(retry, 50, 400, ceil),
		    ceil);
		ck_assert_uint_eq(upstream_backoff_ms(retry, 50, 400, 0), 0);
		for (r = 0; r < 5000; r += 37) {
			d = upstream_backoff_ms(retry, 50, 400, r * 7919u);
			ck_assert_uint_le(d, ceil);
		}
	}
	/* Full jitter spreads over the whole range, not just its top. */
	ck_assert_uint_eq(upstream_backoff_ms(3, 50, 400, 17), 17);
	ck_assert_uint_eq(upstream_backoff_ms(3, 50, 400, 201), 0);
	/* retry 0 is treated as the first retry; no overflow at the top. */
	ck_assert_uint_le(upstream_backoff_ms(0, 50, 400, 0xffffffffu), 50);
	ck_assert_uint_le(upstream_backoff_ms(40, 1000, 0xffffffffu,
	    0xffffffffu), 0xffffffffu);
	ck_assert_uint_eq(upstream_backoff_ms(5, 0, 400, 12345), 0);
}
END_TEST

START_TEST(retry_after)
{
	ck_assert_uint_eq(upstream_parse_retry_after("1"), 1);
	ck_assert_uint_eq(upstream_parse_retry_after(" 30 "), 30);
	ck_assert_uint_eq(upstream_parse_retry_after("0"), 0);
	ck_assert_uint_eq(upstream_parse_retry_after("99999"), 3600);
	ck_assert_uint_eq(upstream_parse_retry_after(
	    "Wed, 21 Oct 2015 07:28:00 GMT"), 0);
	ck_assert_uint_eq(upstream_parse_retry_after("-1"), 0);
	ck_assert_uint_eq(upstream_parse_retry_after("5s"), 0);
	ck_assert_uint_eq(upstream_parse_retry_after(""), 0);
	ck_assert_uint_eq(upstream_parse_retry_after(NULL), 0);
}
END_TEST

START_TEST(join_url)
{
	char		out[64];

	ck_assert(upstream_join_url(out, sizeof(out),
	    "https://127.0.0.1:8444", "/supply-orders/x"));
	ck_assert_str_eq(out, "https://127.0.0.1:8444/supply-orders/x");
	ck_assert(!upstream_join_url(out, sizeof(out),
	    "https://127.0.0.1:8444", "supply-orders"));
	ck_assert(!upstream_join_url(out, sizeof(out), NULL, "/x"));
	ck_assert(!upstream_join_url(out, sizeof(out),
	    "https://127.0.0.1:8444", NULL));
	/* Exactly fitting, and one byte too long. */
	ck_assert(upstream_join_url(out, 12, "https://a", "/b"));
	ck_assert_str_eq(out, "https://a/b");
	ck_assert(!upstream_join_url(out, 11, "https://a", "/b"));
}
END_TEST

START_TEST(target_names)
{
	ck_assert_str_eq(upstream_target_name(0), "order-service");
	ck_assert_str_eq(upstream_target_name(1), "inventory-service");
	ck_assert_str_eq(upstream_target_name(2), "logistics-service");
	ck_assert_str_eq(upstream_target_name(3), "unknown");
	ck_assert_str_eq(upstream_target_name(-1), "unknown");
	ck_assert_str_eq(upstream_target_name(UPSTREAM_TARGETS_MAX),
	    "unknown");
}
END_TEST

START_TEST(env_names)
{
	char	out[UPSTREAM_ENV_MAX];

	ck_assert(upstream_env_name(out, sizeof(out), "order-service"));
	ck_assert_str_eq(out, "ORDER_SERVICE_URL");
	ck_assert(upstream_env_name(out, sizeof(out), "stock2"));
	ck_assert_str_eq(out, "STOCK2_URL");
	ck_assert(!upstream_env_name(out, sizeof(out), ""));
	/* Exactly fitting ("ab" + "_URL" + NUL), and one byte short. */
	ck_assert(upstream_env_name(out, 7, "ab"));
	ck_assert_str_eq(out, "AB_URL");
	ck_assert(!upstream_env_name(out, 6, "ab"));
}
END_TEST

static Suite *
upstream_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("upstream");
	tc = tcase_create("pure");
	tcase_add_test(tc, backoff_bounds);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, join_url);
	tcase_add_test(tc, target_names);
	tcase_add_test(tc, env_names);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(upstream_suite()));
}
