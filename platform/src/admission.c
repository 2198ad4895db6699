/*
 * admission.c - a worker's admission of requests (admission.h): a count
 * of those running, a FIFO of those waiting, and one timer that sheds the
 * waits that ran out.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admission.h"
#include "metrics.h"

struct admission_config	admission_config = {
	ADMISSION_LIMIT_DEFAULT, ADMISSION_QUEUE_DEFAULT,
	ADMISSION_QUEUE_MS_DEFAULT
};

static TAILQ_HEAD(, admission_slot)	waiting =
    TAILQ_HEAD_INITIALIZER(waiting);
static u_int32_t		nrunning;
static u_int32_t		nwaiting;

/* The timer of the first wait to run out; only in a worker. */
static int			use_timer;
static struct kore_timer	*timer;

static void	admission_arm(u_int64_t);
static void	admission_due(void *, u_int64_t);
static void	admission_ends_wait(struct admission_slot *, int, u_int64_t);
static u_int64_t	admission_waited(const struct admission_slot *,
			    u_int64_t);
static void	admission_gauges(void);

static const struct metrics_help	admission_metrics[] = {
	{ "admission_in_flight", "Requests of the API admitted and running "
	    "now (at most admission_limit per worker)." },
	{ "admission_waiting", "Requests of the API waiting for their turn "
	    "(at most admission_queue per worker)." },
	{ "admission_shed_total", "Requests answered 503 unavailable before "
	    "any work because the service was at capacity, by reason." },
	{ "admission_wait_seconds", "Time requests waited for their turn, "
	    "whether admitted or shed in the end." },
	{ NULL, NULL }
};

void
admission_worker_init(void)
{
	metrics_describe(admission_metrics);
	use_timer = 1;
	admission_gauges();
}

int
admission_enter(struct admission_slot *s, struct http_request *req,
    u_int64_t now)
{
	if (s->state != ADMISSION_NONE)
		return (s->state);

	s->req = req;
	s->since = now;

	/* Nobody waits ahead of it (FIFO): a free place is its. */
	if (nrunning < admission_config.limit && nwaiting == 0) {
		s->state = ADMISSION_IN;
		nrunning++;
		admission_gauges();
		return (s->state);
	}

	if (nwaiting >= admission_config.queue) {
		s->state = ADMISSION_SHED;
		admission_shed_count("queue_full");
		return (s->state);
	}

	s->state = ADMISSION_WAITING;
	TAILQ_INSERT_TAIL(&waiting, s, list);
	nwaiting++;
	admission_gauges();
	admission_arm(now);

	return (s->state);
}

void
admission_leave(struct admission_slot *s)
{
	struct admission_slot	*next;

	switch (s->state) {
	case ADMISSION_WAITING:
		TAILQ_REMOVE(&waiting, s, list);
		nwaiting--;
		break;
	case ADMISSION_IN:
		nrunning--;
		break;
	default:
		break;
	}
	s->state = ADMISSION_NONE;
	s->req = NULL;

	/* Places freed go to those waiting, in order. */
	while (nrunning < admission_config.limit &&
	    (next = TAILQ_FIRST(&waiting)) != NULL) {
		nrunning++;
		admission_ends_wait(next, ADMISSION_IN, kore_time_ms());
	}
	admission_gauges();
}

u_int64_t
admission_expire(u_int64_t now)
{
	struct admission_slot	*s;

	while ((s = TAILQ_FIRST(&waiting)) != NULL) {
		if (admission_waited(s, now) < admission_config.queue_ms) {
			admission_gauges();
			return (admission_config.queue_ms -
			    admission_waited(s, now));
		}
		admission_shed_count("queue_timeout");
		admission_ends_wait(s, ADMISSION_SHED, now);
	}
	admission_gauges();

	return (0);
}

u_int32_t
admission_running(void)
{
	return (nrunning);
}

u_int32_t
admission_waiting(void)
{
	return (nwaiting);
}

/* Out of the queue, admitted or shed: its request runs again. */
static void
admission_ends_wait(struct admission_slot *s, int state, u_int64_t now)
{
	TAILQ_REMOVE(&waiting, s, list);
	nwaiting--;
	s->state = state;
	metrics_observe("admission_wait_seconds", NULL,
	    (double)admission_waited(s, now) / 1000.0);
	if (s->req != NULL)
		http_request_wakeup(s->req);
}

/* The timer runs while someone waits, due when the first wait ends. */
static void
admission_arm(u_int64_t now)
{
	struct admission_slot	*s;
	u_int64_t		ms;

	if (!use_timer || timer != NULL ||
	    (s = TAILQ_FIRST(&waiting)) == NULL)
		return;

	ms = admission_waited(s, now) < admission_config.queue_ms ?
	    admission_config.queue_ms - admission_waited(s, now) : 0;
	timer = kore_timer_add(admission_due, ms > 0 ? ms : 1, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
admission_due(void *arg, u_int64_t now)
{
	(void)arg;

	timer = NULL;		/* Kore frees a oneshot timer */
	(void)admission_expire(now);
	admission_arm(now);
}

void
admission_shed_count(const char *reason)
{
	char		labels[METRICS_LABELS_MAX];

	(void)snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metrics_counter_add("admission_shed_total", labels, 1);
}

static u_int64_t
admission_waited(const struct admission_slot *s, u_int64_t now)
{
	return (now > s->since ? now - s->since : 0);
}

/* This worker's share of the two gauges. */
static void
admission_gauges(void)
{
	metrics_gauge_set("admission_in_flight", NULL, nrunning);
	metrics_gauge_set("admission_waiting", NULL, nwaiting);
}
