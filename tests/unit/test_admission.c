/*
 * test_admission.c - a worker's admission (admission.h): the limit, the
 * queue in order, its bound and its wait, the places of requests that
 * leave; and its settings in the Kore configuration file (settings.c).
 */

#include "unit.h"

#include "admission.h"
#include "metrics.h"

#define NSLOTS		8

static struct admission_slot	slot[NSLOTS];

static void
setup(void)
{
	ck_assert(metrics_init());
	memset(slot, 0, sizeof(slot));
	admission_config.limit = 2;
	admission_config.queue = 2;
	admission_config.queue_ms = 100;
}

static void
teardown(void)
{
	int		i;

	for (i = 0; i < NSLOTS; i++)
		admission_leave(&slot[i]);
	ck_assert_uint_eq(admission_running(), 0);
	ck_assert_uint_eq(admission_waiting(), 0);
	metrics_cleanup();
}

static int64_t
shed(const char *reason)
{
	char		labels[64];
	int64_t		v;

	(void)snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	v = metrics_value("admission_shed_total", labels);
	return (v < 0 ? 0 : v);
}

START_TEST(limit_then_queue_then_shed)
{
	ck_assert_int_eq(admission_enter(&slot[0], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[1], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[2], NULL, 1001),
	    ADMISSION_WAITING);
	ck_assert_int_eq(admission_enter(&slot[3], NULL, 1002),
	    ADMISSION_WAITING);
	ck_assert_int_eq(admission_enter(&slot[4], NULL, 1003),
	    ADMISSION_SHED);
	ck_assert_int_eq(shed("queue_full"), 1);
	ck_assert_uint_eq(admission_running(), 2);
	ck_assert_uint_eq(admission_waiting(), 2);
	ck_assert_int_eq(metrics_value("admission_in_flight", NULL), 2);
	ck_assert_int_eq(metrics_value("admission_waiting", NULL), 2);

	/* Asking again changes nothing. */
	ck_assert_int_eq(admission_enter(&slot[2], NULL, 1010),
	    ADMISSION_WAITING);
	ck_assert_uint_eq(admission_waiting(), 2);

	/* A place freed goes to the first one waiting. */
	admission_leave(&slot[1]);
	ck_assert_int_eq(slot[2].state, ADMISSION_IN);
	ck_assert_int_eq(slot[3].state, ADMISSION_WAITING);
	ck_assert_uint_eq(admission_running(), 2);
	ck_assert_uint_eq(admission_waiting(), 1);

	/* A newcomer queues behind it, even as places free up at once. */
	ck_assert_int_eq(admission_enter(&slot[5], NULL, 1020),
	    ADMISSION_WAITING);
	admission_leave(&slot[0]);
	ck_assert_int_eq(slot[3].state, ADMISSION_IN);
	ck_assert_int_eq(slot[5].state, ADMISSION_WAITING);
	admission_leave(&slot[2]);
	ck_assert_int_eq(slot[5].state, ADMISSION_IN);
	ck_assert_uint_eq(admission_waiting(), 0);

	/* The shed one, once answered, leaves nothing behind. */
	admission_leave(&slot[4]);
	ck_assert_int_eq(slot[4].state, ADMISSION_NONE);
	ck_assert_uint_eq(admission_running(), 2);
	ck_assert_int_eq(metrics_value("admission_wait_seconds", NULL),
	    3);
}
END_TEST

START_TEST(waits_run_out)
{
	ck_assert_int_eq(admission_enter(&slot[0], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[1], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[2], NULL, 1000),
	    ADMISSION_WAITING);
	ck_assert_int_eq(admission_enter(&slot[3], NULL, 1040),
	    ADMISSION_WAITING);

	/* Nothing is due yet: the first wait ends in 40 ms. */
	ck_assert_uint_eq(admission_expire(1060), 40);
	ck_assert_int_eq(slot[2].state, ADMISSION_WAITING);

	ck_assert_uint_eq(admission_expire(1100), 40);
	ck_assert_int_eq(slot[2].state, ADMISSION_SHED);
	ck_assert_int_eq(slot[3].state, ADMISSION_WAITING);
	ck_assert_int_eq(shed("queue_timeout"), 1);

	ck_assert_uint_eq(admission_expire(1500), 0);
	ck_assert_int_eq(slot[3].state, ADMISSION_SHED);
	ck_assert_int_eq(shed("queue_timeout"), 2);
	ck_assert_uint_eq(admission_waiting(), 0);
	ck_assert_uint_eq(admission_running(), 2);
}
END_TEST

/* A client gone while it waited takes its spot out of the queue. */
START_TEST(gone_while_waiting)
{
	ck_assert_int_eq(admission_enter(&slot[0], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[1], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[2], NULL, 1000),
	    ADMISSION_WAITING);
	ck_assert_int_eq(admission_enter(&slot[3], NULL, 1000),
	    ADMISSION_WAITING);
	admission_leave(&slot[2]);
	ck_assert_uint_eq(admission_waiting(), 1);
	admission_leave(&slot[0]);
	ck_assert_int_eq(slot[3].state, ADMISSION_IN);
	ck_assert_int_eq(slot[2].state, ADMISSION_NONE);
}
END_TEST

START_TEST(no_queue)
{
	admission_config.queue = 0;
	ck_assert_int_eq(admission_enter(&slot[0], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[1], NULL, 1000), ADMISSION_IN);
	ck_assert_int_eq(admission_enter(&slot[2], NULL, 1000),
	    ADMISSION_SHED);
	admission_leave(&slot[0]);
	ck_assert_int_eq(admission_enter(&slot[3], NULL, 1000), ADMISSION_IN);
}
END_TEST

START_TEST(settings)
{
	ck_assert_int_eq(kore_parent_setting("admission_limit", "7"),
	    KORE_RESULT_OK);
	ck_assert_uint_eq(admission_config.limit, 7);
	ck_assert_int_eq(kore_parent_setting("admission_queue", "0"),
	    KORE_RESULT_OK);
	ck_assert_uint_eq(admission_config.queue, 0);
	ck_assert_int_eq(kore_parent_setting("admission_queue_ms", "1000"),
	    KORE_RESULT_OK);
	ck_assert_uint_eq(admission_config.queue_ms, 1000);

	/* Out of range or not a number: a configuration error. */
	ck_assert_int_eq(kore_parent_setting("admission_limit", "0"),
	    KORE_RESULT_ERROR);
	ck_assert_int_eq(kore_parent_setting("admission_queue_ms", "1001"),
	    KORE_RESULT_ERROR);
	ck_assert_int_eq(kore_parent_setting("admission_queue", "-1"),
	    KORE_RESULT_ERROR);
	ck_assert_int_eq(kore_parent_setting("admission_limit", "8x"),
	    KORE_RESULT_ERROR);
	ck_assert_uint_eq(admission_config.limit, 7);

	/* Not ours: Kore ignores it, as before. */
	ck_assert_int_eq(kore_parent_setting("admission", "1"),
	    KORE_RESULT_RETRY);
}
END_TEST

static Suite *
admission_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("admission");
	tc = tcase_create("admission");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, limit_then_queue_then_shed);
	tcase_add_test(tc, waits_run_out);
	tcase_add_test(tc, gone_while_waiting);
	tcase_add_test(tc, no_queue);
	tcase_add_test(tc, settings);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(admission_suite()));
}
