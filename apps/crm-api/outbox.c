/*
 * outbox.c - the outbox dispatcher: every order stored by POST /orders is
 * forwarded to the supply-order hub (POST /supply-orders, crm_order_id
 * being its idempotency key) until the hub gives a final answer, across
 * restarts of either service and outages of the hub (CONTRACT §3).
 *
 * Each worker runs a Kore timer (OUTBOX_INTERVAL_MS).  A tick claims due
 * entries with crm.outbox_claim(): FOR UPDATE SKIP LOCKED plus a lease
 * (next_attempt_at pushed OUTBOX_LEASE_MS ahead), so no two workers - or
 * two instances - send the same entry at once, and the entries of a
 * crashed worker come back when their lease runs out.  Each entry is sent
 * with the X-Request-Id of the POST /orders that created it; a final
 * answer is stored with crm.order_settle() (which deletes the entry),
 * anything else reschedules it with crm.outbox_retry() (exponential
 * backoff with jitter, in SQL).
 *
 * A second timer forgets Idempotency-Keys older than IDEMPOTENCY_TTL_S.
 */

#include <sys/param.h>
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "db.h"
#include "fmt.h"
#include "metrics.h"
#include "queries.h"
#include "request.h"
#include "svc_error.h"
#include "svc_log.h"
#include "upstream.h"
#include "service_decl.h"

#define OUTBOX_BATCH		16	/* entries in flight per worker */
#define OUTBOX_LEASE_MS		15000	/* > attempt budget + the DB */
#define OUTBOX_ATTEMPT_MS	2500	/* one POST /supply-orders */
#define OUTBOX_BUDGET_MS	5000	/* all attempts of one send */
#define PURGE_INTERVAL_MS	60000	/* at most; see outbox_worker_init */

#define JOB_SEND		0
#define JOB_SETTLE		1
#define JOB_RETRY		2

struct outbox_job {
	TAILQ_ENTRY(outbox_job)	list;
	struct db_call		call;
	struct upstream_call	up;
	int			phase;
	char			order_id[FMT_UUID_LEN + 1];
	char			request_id[SVC_REQID_MAX + 1];
	char			*body;
	char			*result;
	char			error[128];
	const char		*params[3];
};

static void	outbox_tick(void *, u_int64_t);
static void	outbox_claim_step(void);
static void	outbox_claim_wake(struct db_call *, void *);
static void	outbox_send(struct outbox_job *);
static void	outbox_sent(struct upstream_call *, void *);
static void	outbox_store(struct outbox_job *);
static void	outbox_store_wake(struct db_call *, void *);
static void	outbox_finish(struct outbox_job *);
static void	purge_tick(void *, u_int64_t);
static void	purge_step(void);
static void	purge_wake(struct db_call *, void *);

static TAILQ_HEAD(, outbox_job)	jobs = TAILQ_HEAD_INITIALIZER(jobs);
static u_int32_t		njobs;

static struct db_call		claim;
static int			claiming;
static char			claim_limit[16];
static char			claim_lease[16];
static const char		*claim_params[2];

static struct db_call		purge;
static int			purging;
static char			purge_ttl[16];
static const char		*purge_params[1];

static const struct metrics_help	outbox_metrics[] = {
	{ "outbox_sends_total", "Orders sent to the supply-order hub by the "
	    "outbox dispatcher (entries claimed)." },
	{ "outbox_settled_total", "Orders the outbox dispatcher stored a "
	    "final answer for." },
	{ "outbox_retries_total", "Outbox sends without a final answer, "
	    "to be tried again later." },
	{ NULL, NULL }
};

void
outbox_worker_init(void)
{
	metrics_describe(outbox_metrics);
	(void)snprintf(claim_lease, sizeof(claim_lease), "%u",
	    OUTBOX_LEASE_MS);
	(void)snprintf(purge_ttl, sizeof(purge_ttl), "%u",
	    crm_config.idempotency_ttl_s);
	claim_params[0] = claim_limit;
	claim_params[1] = claim_lease;
	purge_params[0] = purge_ttl;

	(void)kore_timer_add(outbox_tick, crm_config.outbox_interval_ms,
	    NULL, 0);
	/* Keys live IDEMPOTENCY_TTL_S: look for old ones at least that often. */
	(void)kore_timer_add(purge_tick, MIN(PURGE_INTERVAL_MS,
	    (u_int64_t)crm_config.idempotency_ttl_s * 1000), NULL, 0);
}

static void
outbox_tick(void *arg, u_int64_t now)
{
	struct outbox_job	*job, *next;

	(void)arg;
	(void)now;

	/*
	 * Poke the database calls in flight: Kore's pgsql layer does not
	 * call back when a connection dies under a callback-bound query, and
	 * a poke of a call still waiting is harmless.
	 */
	if (claiming) {
		outbox_claim_step();
		return;
	}
	for (job = TAILQ_FIRST(&jobs); job != NULL; job = next) {
		next = TAILQ_NEXT(job, list);
		if (job->phase != JOB_SEND)
			outbox_store(job);
	}

	if (njobs >= OUTBOX_BATCH)
		return;
	(void)snprintf(claim_limit, sizeof(claim_limit), "%u",
	    OUTBOX_BATCH - njobs);
	claiming = 1;
	outbox_claim_step();
}

static void
outbox_claim_wake(struct db_call *c, void *arg)
{
	(void)c;
	(void)arg;

	outbox_claim_step();
}

static void
outbox_claim_step(void)
{
	struct svc_error	err;
	struct outbox_job	*job;
	int			r, row, n;

	svc_error_init(&err);
	r = db_exec_cb(&claim, &q_outbox_claim, claim_params, &err,
	    outbox_claim_wake, NULL);
	if (r == DB_PENDING)
		return;
	claiming = 0;
	if (r == DB_FAILED) {
		/* db_exec_cb() logged it; the next tick tries again. */
		return;
	}

	n = db_ntuples(&claim);
	for (row = 0; row < n; row++) {
		job = kore_calloc(1, sizeof(*job));
		(void)kore_strlcpy(job->order_id,
		    db_value(&claim, row, CLAIM_ORDER), sizeof(job->order_id));
		(void)kore_strlcpy(job->request_id,
		    db_value(&claim, row, CLAIM_REQUEST_ID),
		    sizeof(job->request_id));
		job->body = kore_strdup(db_value(&claim, row, CLAIM_BODY));
		TAILQ_INSERT_TAIL(&jobs, job, list);
		njobs++;
		metrics_counter_add("outbox_sends_total", NULL, 1);
		outbox_send(job);
	}
	db_done(&claim);
}

static void
outbox_send(struct outbox_job *job)
{
	struct upstream_req	ureq;
	struct svc_error	err;

	supply_request(&ureq, job->body, OUTBOX_ATTEMPT_MS, OUTBOX_BUDGET_MS);
	ureq.request_id = job->request_id;
	ureq.max_attempts = 2;

	job->phase = JOB_SEND;
	svc_error_init(&err);
	if (upstream_start(&job->up, &ureq, outbox_sent, job, &err) !=
	    KORE_RESULT_OK) {
		(void)kore_strlcpy(job->error, err.message,
		    sizeof(job->error));
		job->phase = JOB_RETRY;
		outbox_store(job);
	}
}

static void
outbox_sent(struct upstream_call *up, void *arg)
{
	struct outbox_job	*job = arg;

	if (upstream_result(up) == UPSTREAM_DONE)
		job->result = supply_result(up);
	if (job->result == NULL)
		supply_failure(up, job->error, sizeof(job->error));
	upstream_done(up);

	job->phase = job->result != NULL ? JOB_SETTLE : JOB_RETRY;
	outbox_store(job);
}

static void
outbox_store_wake(struct db_call *c, void *arg)
{
	(void)c;

	outbox_store(arg);
}

/* The answer (or the failure) goes to the database; then the job ends. */
static void
outbox_store(struct outbox_job *job)
{
	struct svc_error	err;
	const struct db_stmt	*stmt;
	int			r;

	job->params[0] = job->order_id;
	if (job->phase == JOB_SETTLE) {
		stmt = &q_order_settle;
		job->params[1] = job->result;
		job->params[2] = "f";
	} else {
		stmt = &q_outbox_retry;
		job->params[1] = job->error;
	}

	svc_error_init(&err);
	job->call.request_id = job->request_id;
	r = db_exec_cb(&job->call, stmt, job->params, &err,
	    outbox_store_wake, job);
	if (r == DB_PENDING)
		return;

	if (r == DB_OK && job->phase == JOB_SETTLE) {
		if (db_ntuples(&job->call) == 1 &&
		    !strcmp(db_value(&job->call, 0, 0), "settled")) {
			svc_log(SVC_LOG_INFO, job->request_id,
			    "order %s is %s", job->order_id,
			    db_value(&job->call, 0, 1 + ORDER_STATUS));
			metrics_counter_add("outbox_settled_total", NULL, 1);
		} else {
			/* Not a final answer after all: try again later. */
			db_done(&job->call);
			(void)snprintf(job->error, sizeof(job->error),
			    "%s answered an unusable body",
			    upstream_target_name(UPSTREAM_ORDER_SERVICE));
			job->phase = JOB_RETRY;
			outbox_store(job);
			return;
		}
	} else if (r == DB_OK) {
		svc_log(SVC_LOG_WARN, job->request_id, "order %s not "
		    "forwarded yet: %s; retrying later", job->order_id,
		    job->error);
		metrics_counter_add("outbox_retries_total", NULL, 1);
	}
	/* DB_FAILED: logged by db.c; the lease brings the entry back. */

	outbox_finish(job);
}

static void
outbox_finish(struct outbox_job *job)
{
	db_done(&job->call);
	upstream_done(&job->up);
	TAILQ_REMOVE(&jobs, job, list);
	njobs--;
	kore_free(job->body);
	kore_free(job->result);
	kore_free(job);
}

static void
purge_tick(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;

	if (purging)
		return;
	purging = 1;
	purge_step();
}

static void
purge_wake(struct db_call *c, void *arg)
{
	(void)c;
	(void)arg;

	purge_step();
}

static void
purge_step(void)
{
	struct svc_error	err;
	int			r;

	svc_error_init(&err);
	r = db_exec_cb(&purge, &q_idempotency_purge, purge_params, &err,
	    purge_wake, NULL);
	if (r == DB_PENDING)
		return;
	if (r == DB_OK && db_ntuples(&purge) == 1 &&
	    strcmp(db_value(&purge, 0, 0), "0"))
		svc_log(SVC_LOG_INFO, NULL, "forgot %s idempotency key(s)",
		    db_value(&purge, 0, 0));
	db_done(&purge);
	purging = 0;
}
