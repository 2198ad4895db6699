/*
 * metrics.h - counters, gauges and histograms in one fixed-size table in
 * shared memory (mapped by the parent before fork), so values are summed
 * over all workers; rendered in the Prometheus text format by svc_metrics.
 *
 * name is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), labels the inside of
 * the braces already formatted, e.g. "target=\"inventory\",outcome=\"ok\""
 * or NULL; use metrics_label_escape() for values from outside.  Updates
 * are lock-free atomics on an existing series; creating a series takes a
 * short lock (a robust mutex: a worker dying inside cannot leave it held,
 * platform/src/shm.c).  When the table is full new series are dropped (and
 * counted in metrics_dropped_series_total).  Never allocates.
 *
 * Every metric has a one-line # HELP text, given by the part of the code
 * that updates it (metrics_describe()).
 *
 * Gauges: metrics_gauge_add() is shared (e.g. +1/-1 for in-use counts);
 * metrics_gauge_set() sets this process's own share, the rendered value
 * being the sum over processes (so "db_pool_connections_in_use" set by
 * each worker adds up).
 */

#ifndef __H_METRICS_H
#define __H_METRICS_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

struct kore_buf;

#define METRICS_SERIES_MAX	1024
#define METRICS_NAME_MAX	64
#define METRICS_LABELS_MAX	192
#define METRICS_PROCS_MAX	64	/* gauge_set shares */
#define METRICS_BUCKETS		10	/* plus +Inf */
#define METRICS_HELP_TABLES	8	/* metrics_describe() calls */

/* Duration histogram bucket bounds in seconds. */
extern const double	metrics_buckets[METRICS_BUCKETS];

int	metrics_init(void);
void	metrics_cleanup(void);

/*
 * The # HELP texts of the metrics a part of the code updates: a table
 * ending with { NULL, NULL }, static (it is not copied).  Per process: the
 * parent's tables are inherited by the workers it forks.  The request
 * metrics and metrics_dropped_series_total are described here already.
 */
struct metrics_help {
	const char	*name;
	const char	*help;
};

void	metrics_describe(const struct metrics_help *);

/* The # HELP text of a metric; its name when none was described. */
const char	*metrics_help_text(const char *);

/* Index of this process for gauge_set shares (worker id). */
void	metrics_set_proc(u_int32_t);

void	metrics_counter_add(const char *, const char *, u_int64_t);
void	metrics_gauge_add(const char *, const char *, int64_t);
void	metrics_gauge_set(const char *, const char *, int64_t);
void	metrics_observe(const char *, const char *, double);

/* The request metrics, called by the platform's request pipeline. */
void	metrics_request_begin(void);	/* in-flight +1 */
void	metrics_request_leave(void);	/* in-flight -1 */
void	metrics_request_end(const char *, const char *, int, double);

/* Escapes a label value (\\, \", \n) into out; truncates safely. */
void	metrics_label_escape(char *, size_t, const char *);

/* Prometheus text exposition format 0.0.4. */
void	metrics_render(struct kore_buf *);

/* Current value of a counter/gauge (sum), for tests; -1 if absent. */
int64_t	metrics_value(const char *, const char *);

#endif
