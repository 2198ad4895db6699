/*
 * test_env.c - numbers from the environment: the value within its range,
 * the default when unset or empty, and an exit for anything else.
 */

#include <stdint.h>

#include "unit.h"
#include "env.h"

#define VAR	"UNIT_ENV_NUMBER"

START_TEST(value_or_default)
{
	ck_assert_int_eq(unsetenv(VAR), 0);
	ck_assert_uint_eq(env_u32(VAR, 7, 1, 10), 7);
	ck_assert_int_eq(setenv(VAR, "", 1), 0);
	ck_assert_uint_eq(env_u32(VAR, 7, 1, 10), 7);

	ck_assert_int_eq(setenv(VAR, "1", 1), 0);
	ck_assert_uint_eq(env_u32(VAR, 7, 1, 10), 1);
	ck_assert_int_eq(setenv(VAR, "10", 1), 0);
	ck_assert_uint_eq(env_u32(VAR, 7, 1, 10), 10);
	ck_assert_int_eq(setenv(VAR, "4294967295", 1), 0);
	ck_assert_uint_eq(env_u32(VAR, 7, 0, UINT32_MAX), UINT32_MAX);
}
END_TEST

/* Each one ends the process (exit 1): Check runs it in a child. */
static const char	*bad[] = {
	"0", "11", "-1", "5x", "x", "1.5", "0x5", "99999999999999999999"
};

START_TEST(refused)
{
	ck_assert_int_eq(setenv(VAR, bad[_i], 1), 0);
	(void)env_u32(VAR, 7, 1, 10);
	ck_abort_msg("'%s' was accepted", bad[_i]);
}
END_TEST

static Suite *
env_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("env");
	tc = tcase_create("env");
	tcase_add_test(tc, value_or_default);
	tcase_add_loop_exit_test(tc, refused, 1, 0,
	    sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(env_suite()));
}
