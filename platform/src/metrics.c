/*
 * metrics.c - one fixed table of series in shared memory, updated with
 * atomics by every worker and rendered in the Prometheus text format.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "metrics.h"
#include "shm.h"

#define M_EMPTY		0
#define M_BUSY		1
#define M_READY		2

#define M_COUNTER	1
#define M_GAUGE		2
#define M_HISTOGRAM	3

struct m_series {
	volatile u_int32_t	state;
	u_int32_t		type;
	u_int64_t		hash;
	char			name[METRICS_NAME_MAX];
	char			labels[METRICS_LABELS_MAX];
	int64_t			value;
	int64_t			share[METRICS_PROCS_MAX];
	u_int64_t		buckets[METRICS_BUCKETS];
	u_int64_t		count;
	u_int64_t		sum_us;
};

struct m_table {
	struct shm_lock		lock;
	u_int64_t		dropped;
	struct m_series		series[METRICS_SERIES_MAX];
};

const double	metrics_buckets[METRICS_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};

/* The metrics this file and the request pipeline update. */
static const struct metrics_help	m_help[] = {
	{ "http_requests_total", "HTTP requests answered, by route, "
	    "method and status." },
	{ "http_request_duration_seconds", "Time from the start of a "
	    "request to its answer, by route." },
	{ "http_requests_in_flight", "Requests being processed now." },
	{ "rate_limit_rejections_total", "Requests refused with 429 by the "
	    "per-address rate limit." },
	{ "metrics_dropped_series_total", "Series not recorded because the "
	    "metrics table is full." },
	{ NULL, NULL }
};

static const struct metrics_help	*m_helps[METRICS_HELP_TABLES] = {
	m_help
};
static size_t				m_nhelps = 1;

static struct m_table	*mt;
static u_int32_t	m_proc;

/*
 * Per process: the series of the per-request metrics, found once instead
 * of formatting labels and hashing them on every request.  Keyed by the
 * caller's pointers (constant route and method names), confirmed by the
 * strings, so a reused buffer can never hit a wrong entry.  Series never
 * move or go away while the table is mapped; (re)mapping empties this.
 */
#define M_RC_SLOTS	64
#define M_RC_ROUTE	96
#define M_RC_METHOD	16

struct m_reqcache {
	int		status;
	struct m_series	*count;
	struct m_series	*hist;
	char		route[M_RC_ROUTE];
	char		method[M_RC_METHOD];
};

static struct m_reqcache	m_rc[M_RC_SLOTS];
static struct m_series		*m_inflight;

static u_int64_t	m_hash(const char *, const char *);
static struct m_series	*m_find(const char *, const char *, u_int32_t);
static int		m_cmp(const void *, const void *);
static void		m_observe(struct m_series *, double);
static void		m_inflight_add(int64_t);

int
metrics_init(void)
{
	metrics_cleanup();

	if ((mt = shm_map(sizeof(*mt))) == NULL)
		return (0);
	if (!shm_lock_init(&mt->lock)) {
		metrics_cleanup();
		return (0);
	}

	/* The series every service shows from its first scrape. */
	metrics_gauge_add("http_requests_in_flight", NULL, 0);
	metrics_counter_add("rate_limit_rejections_total", NULL, 0);

	return (1);
}

void
metrics_cleanup(void)
{
	shm_unmap(mt, sizeof(*mt));
	mt = NULL;

	memset(m_rc, 0, sizeof(m_rc));
	m_inflight = NULL;
}

void
metrics_set_proc(u_int32_t idx)
{
	m_proc = idx % METRICS_PROCS_MAX;
}

static u_int64_t
m_hash(const char *name, const char *labels)
{
	u_int64_t	h;
	const char	*p;

	h = 0xcbf29ce484222325ULL;
	for (p = name; *p != '\0'; p++) {
		h ^= (u_int8_t)*p;
		h *= 0x100000001b3ULL;
	}
	h ^= '{';
	h *= 0x100000001b3ULL;
	for (p = labels; *p != '\0'; p++) {
		h ^= (u_int8_t)*p;
		h *= 0x100000001b3ULL;
	}

	return (h);
}

static int
m_match(const struct m_series *s, u_int64_t h, const char *name,
    const char *labels)
{
	return (s->hash == h && strcmp(s->name, name) == 0 &&
	    strcmp(s->labels, labels) == 0);
}

/*
 * Finds (or creates) a series.  Lookups are lock-free on READY slots; a
 * creation, or meeting a slot being created, goes under the lock.
 */
static struct m_series *
m_find(const char *name, const char *labels, u_int32_t type)
{
	struct m_series	*s;
	u_int64_t	h;
	u_int32_t	i, idx, st;

	if (mt == NULL)
		return (NULL);

	if (labels == NULL)
		labels = "";

	if (strlen(name) >= METRICS_NAME_MAX ||
	    strlen(labels) >= METRICS_LABELS_MAX) {
		__atomic_add_fetch(&mt->dropped, 1, __ATOMIC_RELAXED);
		return (NULL);
	}

	h = m_hash(name, labels);
	idx = h % METRICS_SERIES_MAX;

	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		s = &mt->series[(idx + i) % METRICS_SERIES_MAX];
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (st == M_READY) {
			if (m_match(s, h, name, labels))
				return (s);
			continue;
		}
		break;
	}

	shm_lock(&mt->lock);
	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		s = &mt->series[(idx + i) % METRICS_SERIES_MAX];
		if (s->state == M_READY) {
			if (m_match(s, h, name, labels)) {
				shm_unlock(&mt->lock);
				return (s);
			}
			continue;
		}

		/* Empty: create the series here. */
		s->state = M_BUSY;
		s->type = type;
		s->hash = h;
		(void)snprintf(s->name, sizeof(s->name), "%s", name);
		(void)snprintf(s->labels, sizeof(s->labels), "%s", labels);
		__atomic_store_n(&s->state, M_READY, __ATOMIC_RELEASE);
		shm_unlock(&mt->lock);
		return (s);
	}
	shm_unlock(&mt->lock);

	__atomic_add_fetch(&mt->dropped, 1, __ATOMIC_RELAXED);
	return (NULL);
}

void
metrics_counter_add(const char *name, const char *labels, u_int64_t n)
{
	struct m_series	*s;

	if ((s = m_find(name, labels, M_COUNTER)) == NULL)
		return;

	__atomic_add_fetch(&s->value, (int64_t)n, __ATOMIC_RELAXED);
}

void
metrics_gauge_add(const char *name, const char *labels, int64_t v)
{
	struct m_series	*s;

	if ((s = m_find(name, labels, M_GAUGE)) == NULL)
		return;

	__atomic_add_fetch(&s->value, v, __ATOMIC_RELAXED);
}

void
metrics_gauge_set(const char *name, const char *labels, int64_t v)
{
	struct m_series	*s;

	if ((s = m_find(name, labels, M_GAUGE)) == NULL)
		return;

	__atomic_store_n(&s->share[m_proc], v, __ATOMIC_RELAXED);
}

static void
m_observe(struct m_series *s, double seconds)
{
	size_t		i;
	u_int64_t	us;

	for (i = 0; i < METRICS_BUCKETS; i++) {
		if (seconds <= metrics_buckets[i]) {
			__atomic_add_fetch(&s->buckets[i], 1,
			    __ATOMIC_RELAXED);
			break;
		}
	}

	us = seconds > 0 ? (u_int64_t)(seconds * 1e6 + 0.5) : 0;
	__atomic_add_fetch(&s->sum_us, us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
}

void
metrics_observe(const char *name, const char *labels, double seconds)
{
	struct m_series	*s;

	if ((s = m_find(name, labels, M_HISTOGRAM)) == NULL)
		return;

	m_observe(s, seconds);
}

static void
m_inflight_add(int64_t v)
{
	if (m_inflight == NULL &&
	    (m_inflight = m_find("http_requests_in_flight", NULL,
	    M_GAUGE)) == NULL)
		return;

	__atomic_add_fetch(&m_inflight->value, v, __ATOMIC_RELAXED);
}

void
metrics_request_begin(void)
{
	m_inflight_add(1);
}

void
metrics_request_leave(void)
{
	m_inflight_add(-1);
}

void
metrics_request_end(const char *route, const char *method, int status,
    double seconds)
{
	struct m_reqcache	*rc;
	struct m_series		*count, *hist;
	char			labels[METRICS_LABELS_MAX];
	char			r[96];
	uintptr_t		h;

	if (mt == NULL)
		return;
	if (route == NULL)
		route = "-";
	if (method == NULL)
		method = "OTHER";

	h = ((uintptr_t)route >> 3) ^ ((uintptr_t)method >> 1) ^
	    (uintptr_t)status * 31;
	rc = &m_rc[(h ^ (h >> 7)) % M_RC_SLOTS];

	if (rc->count != NULL && rc->status == status &&
	    strcmp(rc->route, route) == 0 &&
	    strcmp(rc->method, method) == 0) {
		__atomic_add_fetch(&rc->count->value, 1, __ATOMIC_RELAXED);
		m_observe(rc->hist, seconds);
		return;
	}

	metrics_label_escape(r, sizeof(r), route);

	(void)snprintf(labels, sizeof(labels),
	    "route=\"%s\",method=\"%s\",status=\"%d\"", r, method, status);
	count = m_find("http_requests_total", labels, M_COUNTER);
	if (count != NULL)
		__atomic_add_fetch(&count->value, 1, __ATOMIC_RELAXED);

	(void)snprintf(labels, sizeof(labels), "route=\"%s\"", r);
	hist = m_find("http_request_duration_seconds", labels, M_HISTOGRAM);
	if (hist != NULL)
		m_observe(hist, seconds);

	/* Remember both series for the next request of this kind. */
	if (count == NULL || hist == NULL ||
	    strlen(route) >= sizeof(rc->route) ||
	    strlen(method) >= sizeof(rc->method))
		return;

	rc->count = count;
	rc->hist = hist;
	rc->status = status;
	(void)kore_strlcpy(rc->route, route, sizeof(rc->route));
	(void)kore_strlcpy(rc->method, method, sizeof(rc->method));
}

void
metrics_label_escape(char *out, size_t len, const char *in)
{
	size_t		o;

	if (len == 0)
		return;

	for (o = 0; in != NULL && *in != '\0'; in++) {
		if (*in == '\\' || *in == '"' || *in == '\n') {
			if (o + 2 >= len)
				break;
			out[o++] = '\\';
			out[o++] = (*in == '\n') ? 'n' : *in;
		} else {
			if (o + 1 >= len)
				break;
			out[o++] = *in;
		}
	}

	out[o] = '\0';
}

static int64_t
m_gauge_value(const struct m_series *s)
{
	int64_t		v;
	size_t		i;

	v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	for (i = 0; i < METRICS_PROCS_MAX; i++)
		v += __atomic_load_n(&s->share[i], __ATOMIC_RELAXED);

	return (v);
}

int64_t
metrics_value(const char *name, const char *labels)
{
	struct m_series	*s;
	u_int64_t	h;
	size_t		i;

	if (mt == NULL)
		return (-1);

	if (labels == NULL)
		labels = "";

	h = m_hash(name, labels);
	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		s = &mt->series[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != M_READY ||
		    !m_match(s, h, name, labels))
			continue;
		if (s->type == M_HISTOGRAM)
			return ((int64_t)__atomic_load_n(&s->count,
			    __ATOMIC_RELAXED));
		return (m_gauge_value(s));
	}

	return (-1);
}

static int
m_cmp(const void *a, const void *b)
{
	const struct m_series	*sa, *sb;
	int			r;

	sa = &mt->series[*(const u_int16_t *)a];
	sb = &mt->series[*(const u_int16_t *)b];

	if ((r = strcmp(sa->name, sb->name)) != 0)
		return (r);

	return (strcmp(sa->labels, sb->labels));
}

void
metrics_describe(const struct metrics_help *table)
{
	size_t		i;

	for (i = 0; i < m_nhelps; i++) {
		if (m_helps[i] == table)
			return;
	}
	if (m_nhelps == METRICS_HELP_TABLES)
		fatal("metrics_describe: more than %d tables",
		    METRICS_HELP_TABLES);
	m_helps[m_nhelps++] = table;
}

const char *
metrics_help_text(const char *name)
{
	const struct metrics_help	*h;
	size_t				i;

	for (i = 0; i < m_nhelps; i++) {
		for (h = m_helps[i]; h->name != NULL; h++) {
			if (strcmp(h->name, name) == 0)
				return (h->help);
		}
	}

	return (name);
}
static void
m_render_histogram(struct kore_buf *buf, const struct m_series *s)
{
	u_int64_t	cum, count, sum;
	const char	*sep;
	size_t		i;

	sep = s->labels[0] != '\0' ? "," : "";
	cum = 0;

	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
		kore_buf_appendf(buf, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n",
		    s->name, s->labels, sep, metrics_buckets[i], cum);
	}

	count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
	sum = __atomic_load_n(&s->sum_us, __ATOMIC_RELAXED);

	/* A concurrent observe may sit between bucket and count. */
	if (count < cum)
		count = cum;

	kore_buf_appendf(buf, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n",
	    s->name, s->labels, sep, count);

	if (s->labels[0] != '\0') {
		kore_buf_appendf(buf, "%s_sum{%s} %" PRIu64 ".%06" PRIu64 "\n",
		    s->name, s->labels, sum / 1000000, sum % 1000000);
		kore_buf_appendf(buf, "%s_count{%s} %" PRIu64 "\n",
		    s->name, s->labels, count);
	} else {
		kore_buf_appendf(buf, "%s_sum %" PRIu64 ".%06" PRIu64 "\n",
		    s->name, sum / 1000000, sum % 1000000);
		kore_buf_appendf(buf, "%s_count %" PRIu64 "\n",
		    s->name, count);
	}
}

void
metrics_render(struct kore_buf *buf)
{
	u_int16_t		idx[METRICS_SERIES_MAX];
	const struct m_series	*s;
	const char		*prev, *type;
	size_t			i, n;
	u_int64_t		dropped;

	if (mt == NULL)
		return;

	n = 0;
	for (i = 0; i < METRICS_SERIES_MAX; i++) {
		if (__atomic_load_n(&mt->series[i].state,
		    __ATOMIC_ACQUIRE) == M_READY)
			idx[n++] = (u_int16_t)i;
	}

	qsort(idx, n, sizeof(idx[0]), m_cmp);

	prev = NULL;
	for (i = 0; i < n; i++) {
		s = &mt->series[idx[i]];

		if (prev == NULL || strcmp(prev, s->name) != 0) {
			switch (s->type) {
			case M_COUNTER:
				type = "counter";
				break;
			case M_HISTOGRAM:
				type = "histogram";
				break;
			default:
				type = "gauge";
				break;
			}
			kore_buf_appendf(buf, "# HELP %s %s\n# TYPE %s %s\n",
			    s->name, metrics_help_text(s->name), s->name, type);
			prev = s->name;
		}

		if (s->type == M_HISTOGRAM) {
			m_render_histogram(buf, s);
		} else if (s->labels[0] != '\0') {
			kore_buf_appendf(buf, "%s{%s} %" PRId64 "\n",
			    s->name, s->labels, m_gauge_value(s));
		} else {
			kore_buf_appendf(buf, "%s %" PRId64 "\n",
			    s->name, m_gauge_value(s));
		}
	}

	dropped = __atomic_load_n(&mt->dropped, __ATOMIC_RELAXED);
	kore_buf_appendf(buf, "# HELP metrics_dropped_series_total %s\n"
	    "# TYPE metrics_dropped_series_total counter\n"
	    "metrics_dropped_series_total %" PRIu64 "\n",
	    metrics_help_text("metrics_dropped_series_total"), dropped);
}
