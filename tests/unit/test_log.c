/*
 * test_log.c - the JSON log lines.
 */

#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "fmt.h"
#include "svc_log.h"

static char	lines[8192];
static int	unit_log_fd = -1;	/* read end while capturing */

/* Runs fn with the log going to a pipe; returns what was written. */
static const char *
capture(void (*fn)(void))
{
	int		fds[2];
	ssize_t		n;

	ck_assert_int_eq(pipe(fds), 0);
	unit_log_fd = fds[0];
	svc_log_set_fd(fds[1]);
	fn();
	svc_log_set_fd(STDOUT_FILENO);
	close(fds[1]);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, 0), 0);

	n = read(fds[0], lines, sizeof(lines) - 1);
	close(fds[0]);
	ck_assert_int_ge(n, 0);
	lines[n] = '\0';

	return (lines);
}

static yajl_val
parse_line(const char *s)
{
	char		errbuf[128];
	yajl_val	v;

	v = yajl_tree_parse(s, errbuf, sizeof(errbuf));
	if (v == NULL)
		ck_abort_msg("log line not JSON (%s): %s", errbuf, s);

	return (v);
}

static void
emit_request(void)
{
	svc_log_init("inventory-service", SVC_LOG_INFO);
	svc_log_set_worker(3);
	svc_log_request("req-42", "PUT", "/inventory/:id", "order-service",
	    201, 12.3456);
}

START_TEST(request_line)
{
	const char	*out;
	yajl_val	v, n;
	time_t		t;
	const char	*k_time[] = { "time", NULL };
	const char	*k_level[] = { "level", NULL };
	const char	*k_svc[] = { "service", NULL };
	const char	*k_rid[] = { "request_id", NULL };
	const char	*k_method[] = { "method", NULL };
	const char	*k_route[] = { "route", NULL };
	const char	*k_status[] = { "status", NULL };
	const char	*k_worker[] = { "worker", NULL };
	const char	*k_dur[] = { "duration_ms", NULL };
	const char	*k_caller[] = { "caller", NULL };

	out = capture(emit_request);

	/* Exactly one line, newline-terminated. */
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);

	v = parse_line(out);
	ck_assert(fmt_rfc3339_parse(unit_str(v, k_time), &t));
	ck_assert_int_eq(strlen(unit_str(v, k_time)), 24);
	ck_assert_int_eq(unit_str(v, k_time)[23], 'Z');
	ck_assert_int_lt(labs((long)(t - time(NULL))), 5);
	ck_assert_str_eq(unit_str(v, k_level), "info");
	ck_assert_str_eq(unit_str(v, k_svc), "inventory-service");
	ck_assert_str_eq(unit_str(v, k_rid), "req-42");
	ck_assert_str_eq(unit_str(v, k_method), "PUT");
	ck_assert_str_eq(unit_str(v, k_route), "/inventory/:id");
	ck_assert_str_eq(unit_str(v, k_caller), "order-service");
	n = yajl_tree_get(v, k_status, yajl_t_number);
	ck_assert_int_eq(YAJL_GET_INTEGER(n), 201);
	n = yajl_tree_get(v, k_worker, yajl_t_number);
	ck_assert_int_eq(YAJL_GET_INTEGER(n), 3);
	n = yajl_tree_get(v, k_dur, yajl_t_number);
	ck_assert(YAJL_GET_DOUBLE(n) > 12.345 && YAJL_GET_DOUBLE(n) < 12.347);
	yajl_tree_free(v);
}
END_TEST

static void
emit_events(void)
{
	svc_log_init("svc", SVC_LOG_INFO);
	svc_log(SVC_LOG_DEBUG, NULL, "not shown");
	svc_log(SVC_LOG_ERROR, NULL, "quote \" newline \n tab \t %d", 7);
	svc_log(SVC_LOG_WARN, "r1", "bad utf8 \xff here");
	svc_log_request("r2", "GET", "/x", NULL, 503, 1.0);
}

START_TEST(event_lines)
{
	const char	*out, *nl;
	char		line[2048];
	yajl_val	v;
	const char	*k_level[] = { "level", NULL };
	const char	*k_msg[] = { "message", NULL };
	const char	*k_rid[] = { "request_id", NULL };
	int		count;

	out = capture(emit_events);

	count = 0;
	while ((nl = strchr(out, '\n')) != NULL) {
		ck_assert_uint_lt((size_t)(nl - out), sizeof(line));
		memcpy(line, out, nl - out);
		line[nl - out] = '\0';
		v = parse_line(line);
		switch (count) {
		case 0:
			ck_assert_str_eq(unit_str(v, k_level), "error");
			ck_assert_str_eq(unit_str(v, k_msg),
			    "quote \" newline \n tab \t 7");
			ck_assert_ptr_nonnull(yajl_tree_get(v, k_rid,
			    yajl_t_null));
			break;
		case 1:
			ck_assert_str_eq(unit_str(v, k_level), "warn");
			ck_assert_str_eq(unit_str(v, k_rid), "r1");
			ck_assert_str_eq(unit_str(v, k_msg),
			    "bad utf8 \xef\xbf\xbd here");
			break;
		case 2:
			/* 5xx request lines are errors. */
			ck_assert_str_eq(unit_str(v, k_level), "error");
			break;
		}
		yajl_tree_free(v);
		out = nl + 1;
		count++;
	}

	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(*out, '\0');
}
END_TEST

static void
emit_batched(void)
{
	int		fd, n;
	char		buf[64];

	svc_log_init("svc", SVC_LOG_INFO);
	svc_log_batch();

	ck_assert(!svc_log_pending());
	svc_log_request("b1", "GET", "/x", NULL, 200, 1.0);
	svc_log_request("b2", "GET", "/x", NULL, 200, 1.0);

	/* Held back: nothing on the pipe yet. */
	ck_assert(svc_log_pending());
	fd = unit_log_fd;
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	n = (int)read(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, -1);

	/* An event line goes out at once, after the pending lines. */
	svc_log(SVC_LOG_WARN, "e1", "event");
	ck_assert(!svc_log_pending());
	svc_log_request("b3", "GET", "/x", NULL, 200, 1.0);
	ck_assert(svc_log_pending());
	svc_log_flush();
	ck_assert(!svc_log_pending());
}

START_TEST(batched_lines)
{
	const char	*out, *p1, *p2, *pe, *p3;

	out = capture(emit_batched);

	p1 = strstr(out, "\"request_id\":\"b1\"");
	p2 = strstr(out, "\"request_id\":\"b2\"");
	pe = strstr(out, "\"request_id\":\"e1\"");
	p3 = strstr(out, "\"request_id\":\"b3\"");
	ck_assert(p1 != NULL && p2 != NULL && pe != NULL && p3 != NULL);
	ck_assert(p1 < p2 && p2 < pe && pe < p3);
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
}
END_TEST

static void
emit_full(void)
{
	int		i, n;
	char		c;

	svc_log_init("svc", SVC_LOG_INFO);
	svc_log_batch();

	/* ~200 bytes each: more than one batch (PIPE_BUF) holds. */
	for (i = 0; i < 40; i++)
		svc_log_request("full", "GET", "/x", NULL, 200, 1.0);

	/* The full batches went out without a flush; the rest waits. */
	ck_assert(svc_log_pending());
	ck_assert_int_eq(fcntl(unit_log_fd, F_SETFL, O_NONBLOCK), 0);
	n = (int)read(unit_log_fd, &c, 1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(c, '{');
	svc_log_flush();
}

START_TEST(full_batch_written)
{
	const char	*out;
	int		count;

	out = capture(emit_full);

	/* The first byte was read above; every line after it is whole. */
	count = 1;
	for (out = strchr(out, '\n'); out != NULL && out[1] != '\0';
	    out = strchr(out + 1, '\n'))
		count++;
	ck_assert_int_eq(count, 40);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("log");
	tc = tcase_create("log");
	tcase_add_test(tc, request_line);
	tcase_add_test(tc, event_lines);
	tcase_add_test(tc, batched_lines);
	tcase_add_test(tc, full_batch_written);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(log_suite()));
}
