/*
 * test_metrics.c - the Prometheus rendering and the sums over processes.
 */

#include <sys/wait.h>

#include <unistd.h>

#include "unit.h"
#include "metrics.h"

static void
render(struct kore_buf *b)
{
	kore_buf_reset(b);
	metrics_render(b);
}

static int
contains(struct kore_buf *b, const char *s)
{
	return (strstr(unit_cstr(b), s) != NULL);
}

#define HAS(b, s)	ck_assert_msg(contains((b), (s)),		\
			    "missing <%s> in:\n%s", (s), unit_cstr(b))

START_TEST(render_format)
{
	struct kore_buf		b;
	const char		*out, *p;

	ck_assert(metrics_init());
	kore_buf_init(&b, 4096);

	metrics_counter_add("upstream_requests_total",
	    "target=\"inventory\",outcome=\"ok\"", 3);
	metrics_counter_add("upstream_requests_total",
	    "target=\"inventory\",outcome=\"ok\"", 2);
	metrics_counter_add("upstream_requests_total",
	    "target=\"inventory\",outcome=\"timeout\"", 1);
	metrics_gauge_add("db_queue_waiting", NULL, 4);
	metrics_gauge_add("db_queue_waiting", NULL, -1);

	render(&b);
	HAS(&b, "# HELP http_requests_in_flight ");
	HAS(&b, "# TYPE http_requests_in_flight gauge\n"
	    "http_requests_in_flight 0\n");
	HAS(&b, "# TYPE rate_limit_rejections_total counter\n"
	    "rate_limit_rejections_total 0\n");
	HAS(&b, "# TYPE upstream_requests_total counter\n"
	    "upstream_requests_total{target=\"inventory\",outcome=\"ok\"} 5\n"
	    "upstream_requests_total{target=\"inventory\","
	    "outcome=\"timeout\"} 1\n");
	HAS(&b, "# TYPE db_queue_waiting gauge\ndb_queue_waiting 3\n");

	/* Each TYPE line once, every line ends in a newline. */
	out = unit_cstr(&b);
	p = strstr(out, "# TYPE upstream_requests_total");
	ck_assert_ptr_null(strstr(p + 1, "# TYPE upstream_requests_total"));
	ck_assert_int_eq(out[strlen(out) - 1], '\n');

	kore_buf_cleanup(&b);
	metrics_cleanup();
}
END_TEST

/*
 * The names of the HELP lines of out whose text is empty or the metric's
 * own name, space-separated into bad; the number of HELP lines.
 */
static size_t
help_lines(const char *out, char *bad, size_t len)
{
	const char	*p, *name, *text, *eol;
	size_t		n, off, namelen, textlen;

	bad[0] = '\0';
	n = off = 0;
	for (p = out; (p = strstr(p, "# HELP ")) != NULL; p = eol) {
		n++;
		name = p + 7;
		eol = strchr(name, '\n');
		ck_assert_ptr_nonnull(eol);
		namelen = strcspn(name, " \n");
		text = name + namelen + (name[namelen] == ' ');
		textlen = (size_t)(eol - text);
		if (textlen == 0 || (textlen == namelen &&
		    strncmp(text, name, namelen) == 0)) {
			off += (size_t)snprintf(bad + off, len - off, "%.*s ",
			    (int)namelen, name);
			ck_assert_uint_lt(off, len);
		}
	}

	return (n);
}

START_TEST(help_texts)
{
	static const struct metrics_help	described[] = {
		{ "unit_things_total", "Things the unit test counted." },
		{ NULL, NULL }
	};
	struct kore_buf		b;
	char			bad[256];

	ck_assert(metrics_init());
	kore_buf_init(&b, 4096);

	/* Every metric of the platform's own, one of a described table. */
	metrics_request_begin();
	metrics_request_end("/x", "GET", 200, 0.001);
	metrics_request_leave();
	metrics_describe(described);
	metrics_describe(described);
	metrics_counter_add("unit_things_total", NULL, 1);

	render(&b);
	ck_assert_uint_eq(help_lines(unit_cstr(&b), bad, sizeof(bad)), 6);
	ck_assert_msg(bad[0] == '\0', "no real HELP for: %s", bad);
	ck_assert_str_eq(metrics_help_text("unit_things_total"),
	    "Things the unit test counted.");

	/* An undescribed metric shows its name, which the check catches. */
	metrics_counter_add("unit_undescribed_total", NULL, 1);
	render(&b);
	ck_assert_uint_eq(help_lines(unit_cstr(&b), bad, sizeof(bad)), 7);
	ck_assert_str_eq(bad, "unit_undescribed_total ");

	kore_buf_cleanup(&b);
	metrics_cleanup();
}
END_TEST

START_TEST(histogram)
{
	struct kore_buf		b;

	ck_assert(metrics_init());
	kore_buf_init(&b, 4096);

	metrics_request_begin();
	metrics_request_end("/inventory/:id", "GET", 200, 0.003);
	metrics_request_end("/inventory/:id", "GET", 200, 0.02);
	metrics_request_end("/inventory/:id", "GET", 404, 0.3);
	metrics_request_end("/inventory/:id", "GET", 200, 7.5);
	metrics_request_leave();

	render(&b);
	HAS(&b, "# TYPE http_request_duration_seconds histogram\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"0.005\"} 1\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"0.01\"} 1\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"0.025\"} 2\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"0.5\"} 3\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"5\"} 3\n");
	HAS(&b, "http_request_duration_seconds_bucket{route=\"/inventory/:id\","
	    "le=\"+Inf\"} 4\n");
	HAS(&b, "http_request_duration_seconds_sum{route=\"/inventory/:id\"} "
	    "7.823000\n");
	HAS(&b, "http_request_duration_seconds_count{route=\"/inventory/:id\"}"
	    " 4\n");
	HAS(&b, "http_requests_total{route=\"/inventory/:id\",method=\"GET\","
	    "status=\"200\"} 3\n");
	HAS(&b, "http_requests_total{route=\"/inventory/:id\",method=\"GET\","
	    "status=\"404\"} 1\n");
	HAS(&b, "http_requests_in_flight 0\n");

	kore_buf_cleanup(&b);
	metrics_cleanup();
}
END_TEST

/*
 * The per-process cache of request series: a reused route buffer with new
 * content never lands on the old series, and a new table starts empty.
 */
START_TEST(request_cache)
{
	struct kore_buf		b;
	char			route[32];

	ck_assert(metrics_init());
	kore_buf_init(&b, 4096);

	(void)snprintf(route, sizeof(route), "/a");
	metrics_request_end(route, "GET", 200, 0.001);
	metrics_request_end(route, "GET", 200, 0.001);
	(void)snprintf(route, sizeof(route), "/b");
	metrics_request_end(route, "GET", 200, 0.001);
	metrics_request_end("/b", "POST", 200, 0.001);
	metrics_request_end("/b", "GET", 500, 0.001);

	render(&b);
	HAS(&b, "http_requests_total{route=\"/a\",method=\"GET\","
	    "status=\"200\"} 2\n");
	HAS(&b, "http_requests_total{route=\"/b\",method=\"GET\","
	    "status=\"200\"} 1\n");
	HAS(&b, "http_requests_total{route=\"/b\",method=\"POST\","
	    "status=\"200\"} 1\n");
	HAS(&b, "http_requests_total{route=\"/b\",method=\"GET\","
	    "status=\"500\"} 1\n");
	HAS(&b, "http_request_duration_seconds_count{route=\"/b\"} 3\n");

	/* A fresh table: cached series of the old one must not be used. */
	ck_assert(metrics_init());
	metrics_request_end(route, "GET", 200, 0.001);
	render(&b);
	HAS(&b, "http_requests_total{route=\"/b\",method=\"GET\","
	    "status=\"200\"} 1\n");
	ck_assert(!contains(&b, "route=\"/a\""));

	kore_buf_cleanup(&b);
	metrics_cleanup();
}
END_TEST

START_TEST(summed_over_processes)
{
	pid_t		pids[4];
	int		i, j, status;

	ck_assert(metrics_init());

	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			metrics_set_proc(i + 1);
			for (j = 0; j < 5000; j++) {
				metrics_counter_add("db_errors_total",
				    "kind=\"timeout\"", 1);
				metrics_request_end("/x", "POST", 201, 0.001);
			}
			metrics_gauge_set("db_pool_connections_in_use", NULL,
			    i + 1);
			metrics_gauge_add("http_requests_in_flight", NULL, 2);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	ck_assert_int_eq(metrics_value("db_errors_total", "kind=\"timeout\""),
	    20000);
	ck_assert_int_eq(metrics_value("http_requests_total",
	    "route=\"/x\",method=\"POST\",status=\"201\""), 20000);
	ck_assert_int_eq(metrics_value("http_request_duration_seconds",
	    "route=\"/x\""), 20000);
	/* gauge_set: one share per process, rendered as their sum. */
	ck_assert_int_eq(metrics_value("db_pool_connections_in_use", NULL),
	    1 + 2 + 3 + 4);
	ck_assert_int_eq(metrics_value("http_requests_in_flight", NULL), 8);

	/* A process setting its share again replaces, not adds. */
	metrics_set_proc(1);
	metrics_gauge_set("db_pool_connections_in_use", NULL, 0);
	ck_assert_int_eq(metrics_value("db_pool_connections_in_use", NULL),
	    2 + 3 + 4);

	metrics_cleanup();
}
END_TEST

START_TEST(bounded_table)
{
	struct kore_buf		b;
	char			labels[64];
	int			i;

	ck_assert(metrics_init());

	for (i = 0; i < METRICS_SERIES_MAX + 100; i++) {
		(void)snprintf(labels, sizeof(labels), "n=\"%d\"", i);
		metrics_counter_add("flood_total", labels, 1);
	}

	/* 2 series exist from init: the rest of the table, then drops. */
	ck_assert_int_eq(metrics_value("flood_total", "n=\"0\""), 1);
	ck_assert_int_eq(metrics_value("flood_total", "n=\"1121\""), -1);

	kore_buf_init(&b, 65536);
	render(&b);
	HAS(&b, "metrics_dropped_series_total 102\n");
	kore_buf_cleanup(&b);

	/* Names or labels too long are dropped, never truncated. */
	metrics_counter_add("x_total", "l=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", 1);
	ck_assert_int_eq(metrics_value("x_total", NULL), -1);

	metrics_cleanup();
}
END_TEST

START_TEST(label_escape)
{
	char		out[16];

	metrics_label_escape(out, sizeof(out), "a\"b\\c\nd");
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");

	metrics_label_escape(out, 6, "abc\"def");
	ck_assert_str_eq(out, "abc\\\"");

	metrics_label_escape(out, 5, "abc\"def");
	ck_assert_str_eq(out, "abc");

	metrics_label_escape(out, sizeof(out), NULL);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("metrics");
	tc = tcase_create("metrics");
	tcase_add_test(tc, render_format);
	tcase_add_test(tc, help_texts);
	tcase_add_test(tc, histogram);
	tcase_add_test(tc, request_cache);
	tcase_add_test(tc, summed_over_processes);
	tcase_add_test(tc, bounded_table);
	tcase_add_test(tc, label_escape);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(metrics_suite()));
}
