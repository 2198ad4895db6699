/*
 * test_shm.c - the shared-memory lock of the rate limiter and the metrics
 * table: mutual exclusion between processes, and no process left
 * spinning for ever when the holder dies inside it (issue 12 L7).
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "shm.h"

#define ACQUIRE_WITHIN_MS	5000

struct shared {
	struct shm_lock		lock;
	u_int64_t		counter;
};

static struct shared *
shared_new(void)
{
	struct shared	*sh;

	sh = shm_map(sizeof(*sh));
	ck_assert_ptr_nonnull(sh);
	ck_assert(shm_lock_init(&sh->lock));
	return (sh);
}

/*
 * 1 when another process takes (and gives back) the lock within
 * ACQUIRE_WITHIN_MS; a child tries, so that a lock never given back
 * fails the test instead of hanging it.
 */
static int
acquired_in_time(struct shared *sh)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	pid_t		pid;
	int		i, status;

	if ((pid = fork()) == 0) {
		shm_lock(&sh->lock);
		sh->counter++;
		shm_unlock(&sh->lock);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);

	for (i = 0; i < ACQUIRE_WITHIN_MS / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return (WIFEXITED(status) && WEXITSTATUS(status) == 0);
		(void)nanosleep(&ts, NULL);
	}

	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return (0);
}

START_TEST(excludes_between_processes)
{
	struct shared	*sh;
	pid_t		pids[2];
	int		i, n, status;

	sh = shared_new();
	for (i = 0; i < 2; i++) {
		if ((pids[i] = fork()) == 0) {
			for (n = 0; n < 200000; n++) {
				shm_lock(&sh->lock);
				sh->counter++;
				shm_unlock(&sh->lock);
			}
			_exit(0);
		}
		ck_assert_int_gt(pids[i], 0);
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_uint_eq(sh->counter, 400000);
	shm_unmap(sh, sizeof(*sh));
}
END_TEST

/*
 * A child takes the lock and dies holding it: it _exit()s (_i == 0) or is
 * killed with SIGKILL while it waits inside (_i == 1).
 */
START_TEST(holder_dies_inside)
{
	struct shared	*sh;
	pid_t		pid;
	int		fds[2], status;
	char		c;

	sh = shared_new();
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		shm_lock(&sh->lock);
		if (_i == 0)
			_exit(0);
		(void)write(fds[1], "x", 1);
		for (;;)
			(void)pause();
	}
	ck_assert_int_gt(pid, 0);
	if (_i == 1) {
		ck_assert_int_eq(read(fds[0], &c, 1), 1);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(_i == 0 ? WIFEXITED(status) : WIFSIGNALED(status));
	(void)close(fds[0]);
	(void)close(fds[1]);

	ck_assert_msg(acquired_in_time(sh),
	    "lock of a dead holder not taken within %d ms",
	    ACQUIRE_WITHIN_MS);
	ck_assert_uint_eq(sh->counter, 1);

	/* Recovered for good: another process and this one take it. */
	ck_assert(acquired_in_time(sh));
	shm_lock(&sh->lock);
	sh->counter++;
	shm_unlock(&sh->lock);
	ck_assert_uint_eq(sh->counter, 3);
	shm_unmap(sh, sizeof(*sh));
}
END_TEST

static Suite *
shm_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("shm");
	tc = tcase_create("lock");
	tcase_add_test(tc, excludes_between_processes);
	tcase_add_loop_test(tc, holder_dies_inside, 0, 2);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(shm_suite()));
}
