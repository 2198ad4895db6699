/*
 * test_ratelimit.c - token bucket math, Retry-After, the bounded table
 * under an address flood, and one table shared by several processes.
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "unit.h"
#include "ratelimit.h"

#define SEC	1000000ULL

static struct in_addr
v4(const char *s)
{
	struct in_addr	a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return (a);
}

static int
take4(const char *s, u_int64_t now, u_int32_t *retry)
{
	struct in_addr	a = v4(s);

	return (ratelimit_take(AF_INET, &a, now, retry));
}

START_TEST(burst_then_refill)
{
	u_int32_t	retry;
	u_int64_t	t0, tokens;
	int		i;

	ck_assert(ratelimit_init(64, 10, 20));
	t0 = 1000 * SEC;

	for (i = 0; i < 20; i++)
		ck_assert_msg(take4("10.0.0.1", t0, &retry), "take %d", i);
	retry = 0;
	ck_assert(!take4("10.0.0.1", t0, &retry));
	ck_assert_uint_eq(retry, 1);

	/* 10/s: 99 ms is not a token yet, 100 ms is exactly one. */
	ck_assert(!take4("10.0.0.1", t0 + 99999, &retry));
	ck_assert(take4("10.0.0.1", t0 + 100000, &retry));
	ck_assert(!take4("10.0.0.1", t0 + 100000, &retry));

	/* A long pause refills to the burst, not beyond. */
	for (i = 0; i < 20; i++)
		ck_assert(take4("10.0.0.1", t0 + 3600 * SEC, &retry));
	ck_assert(!take4("10.0.0.1", t0 + 3600 * SEC, &retry));

	/* Other clients have their own bucket. */
	ck_assert(take4("10.0.0.2", t0, &retry));
	{
		struct in_addr	a = v4("10.0.0.2");

		ck_assert(ratelimit_tokens(AF_INET, &a, t0, &tokens));
		ck_assert_uint_eq(tokens, 19);
	}

	/* Time going backwards (another worker's clock read) is harmless. */
	ck_assert(!take4("10.0.0.1", t0, &retry));

	ratelimit_cleanup();
}
END_TEST

START_TEST(retry_after)
{
	u_int32_t	retry;
	u_int64_t	t0;

	ck_assert(ratelimit_init(64, 1, 1));
	t0 = 50 * SEC;

	ck_assert(take4("192.0.2.1", t0, &retry));
	retry = 0;
	ck_assert(!take4("192.0.2.1", t0, &retry));
	ck_assert_uint_eq(retry, 1);
	retry = 0;
	ck_assert(!take4("192.0.2.1", t0 + 999999, &retry));
	ck_assert_uint_eq(retry, 1);
	ck_assert(take4("192.0.2.1", t0 + 2 * SEC, &retry));

	ratelimit_cleanup();

	/* Rate 0 disables limiting; no table allows everything. */
	ck_assert(ratelimit_init(64, 0, 1));
	ck_assert(take4("192.0.2.1", t0, &retry));
	ck_assert(take4("192.0.2.1", t0, &retry));
	ratelimit_cleanup();
	ck_assert(take4("192.0.2.1", t0, &retry));
}
END_TEST

START_TEST(ipv6_and_mapped)
{
	struct in6_addr	a6, b6;
	u_int32_t	retry;
	u_int64_t	t0;

	ck_assert(ratelimit_init(64, 1, 2));
	t0 = 5 * SEC;

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &a6), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::2", &b6), 1);
	ck_assert(ratelimit_take(AF_INET6, &a6, t0, &retry));
	ck_assert(ratelimit_take(AF_INET6, &a6, t0, &retry));
	ck_assert(!ratelimit_take(AF_INET6, &a6, t0, &retry));
	ck_assert(ratelimit_take(AF_INET6, &b6, t0, &retry));

	/* An IPv4 client seen through a dual-stack socket is the same. */
	ck_assert(take4("198.51.100.7", t0, &retry));
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:198.51.100.7", &a6), 1);
	ck_assert(ratelimit_take(AF_INET6, &a6, t0, &retry));
	ck_assert(!take4("198.51.100.7", t0, &retry));

	ratelimit_cleanup();
}
END_TEST

START_TEST(flood_is_bounded)
{
	struct in_addr	hot, a;
	u_int32_t	retry, i;
	u_int64_t	t;

	ck_assert(ratelimit_init(1024, 1, 5));
	hot = v4("203.0.113.9");
	t = 10 * SEC;

	for (i = 0; i < 5; i++)
		ck_assert(ratelimit_take(AF_INET, &hot, t, &retry));
	ck_assert(!ratelimit_take(AF_INET, &hot, t, &retry));

	/*
	 * 200,000 distinct addresses, 1 us apart (0.2 s: 0.2 tokens for
	 * the hot client).  The hot client keeps coming back; it stays
	 * tracked (still limited) because only the stalest entries of a
	 * probe window are evicted.
	 */
	for (i = 0; i < 200000; i++) {
		a.s_addr = htonl(0x0a000000 + i);
		(void)ratelimit_take(AF_INET, &a, ++t, &retry);
		if (i % 64 == 0) {
			ck_assert_msg(!ratelimit_take(AF_INET, &hot, t,
			    &retry), "hot client reset at %u", i);
		}
	}

	ck_assert_uint_eq(ratelimit_slots_used(), 1024);

	/* Flooders get a full bucket each: the first one is allowed. */
	a.s_addr = htonl(0x0b000000);
	ck_assert(ratelimit_take(AF_INET, &a, t, &retry));

	ratelimit_cleanup();
}
END_TEST

START_TEST(shared_across_processes)
{
	struct in_addr	a;
	u_int32_t	retry;
	pid_t		pids[4];
	int		i, j, status, allowed, fds[2];
	char		c;

	ck_assert(ratelimit_init(64, 1, 250));
	a = v4("10.9.9.9");
	ck_assert_int_eq(pipe(fds), 0);

	/* 4 workers x 100 requests at one instant: exactly 250 pass. */
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			close(fds[0]);
			for (j = 0; j < 100; j++) {
				c = ratelimit_take(AF_INET, &a, 7 * SEC,
				    &retry) ? 'y' : 'n';
				if (write(fds[1], &c, 1) != 1)
					_exit(2);
			}
			_exit(0);
		}
	}
	close(fds[1]);

	allowed = 0;
	for (i = 0; i < 400; i++) {
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
		if (c == 'y')
			allowed++;
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fds[0]);

	ck_assert_int_eq(allowed, 250);
	ck_assert(!ratelimit_take(AF_INET, &a, 7 * SEC, &retry));

	ratelimit_cleanup();
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("ratelimit");
	tc = tcase_create("bucket");
	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, ipv6_and_mapped);
	tcase_add_test(tc, flood_is_bounded);
	tcase_add_test(tc, shared_across_processes);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(ratelimit_suite()));
}
