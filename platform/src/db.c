/*
 * db.c - one parameterised statement at a time, asynchronously, through
 * Kore's pgsql layer (see db.h for the contract with handlers).  Each
 * statement is a named prepared statement of the pool connection it runs
 * on (kore_pgsql_query_named(), Kore's pgsql-prepared-statements.patch):
 * parsed and planned once per connection, not on every request.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <libpq-fe.h>

#include "db.h"
#include "health.h"
#include "landlock.h"
#include "metrics.h"
#include "request.h"
#include "respond.h"
#include "secret.h"
#include "svc_error.h"
#include "svc_log.h"

#define DB_NAME			"db"
#define DB_PASSWORD_MAX		256
#define DB_CONNINFO_MAX		2048

/*
 * Server-side deadlines: a statement (or a lock wait) never outlives the
 * request deadline (2 s), and a connect attempt gives up in time too.
 */
#define DB_SESSION_OPTS		" connect_timeout=2 keepalives_idle=10" \
				" options='-c statement_timeout=1500" \
				" -c lock_timeout=1000" \
				" -c idle_in_transaction_session_timeout=5000'"

/*
 * A call's own deadline, for a server that answers nothing at all (every
 * process stopped, a network that drops everything): statement_timeout
 * needs a server that runs, and Kore's pgsql layer has no deadline but
 * the connect timer of pgsql-connect-async.patch.  A request's calls also
 * end by DB_REQUEST_DEADLINE_MS after it arrived (its 503 then leaves
 * within the contract's 3 s), though each gets at least DB_CALL_MIN_MS.
 */
#define DB_CALL_DEADLINE_MS	2500
#define DB_REQUEST_DEADLINE_MS	2800
#define DB_CALL_MIN_MS		200

/*
 * Busy is not dead.  A call still waiting for a pool connection at its
 * deadline, or sent in a pipeline behind statements not yet answered
 * (pgsql_pipeline_depth), waits behind others' statements; while
 * PostgreSQL keeps answering this worker's calls (one answered within
 * DB_ALIVE_MS) the database is busy, and the call keeps its place,
 * looked at again every DB_ALIVE_RECHECK_MS: admitted work is not failed
 * because the database is busy (admission.h bounds how many wait).  With
 * no answer for DB_ALIVE_MS the database is dead or hung: 503.  Once
 * sent (in a pipeline: once at its head), the call has DB_SENT_MS at
 * least for its answer.  DB_WAIT_MAX_MS is the last resort for a
 * database that answers, but so slowly that the wait is useless; sized
 * as docs/operations.md says, admission never lets a wait come near it.
 */
#define DB_ALIVE_MS		1500
#define DB_ALIVE_RECHECK_MS	250
#define DB_WAIT_MAX_MS		10000

/*
 * A statement sent after a wait in line has at least this long to be
 * answered: statement_timeout and lock_timeout (above) end a live server's
 * work sooner, so no answer by then means a dead or hung one.
 */
#define DB_SENT_MS		2000

/* The readiness check's own deadline: /readyz waits for it. */
#define DB_READY_DEADLINE_MS	1000

/*
 * An execution's SQLSTATE when a migration changed the statement's result
 * type under its prepared plan (pgsql-prepared-statements.patch).
 */
#define DB_STALE_PLAN		"0A000"

/* The longest error text a log line carries. */
#define DB_ERROR_TEXT_MAX	256

#define DB_CALL_INIT		0
#define DB_CALL_SETUP		1
#define DB_CALL_RUNNING		2
#define DB_CALL_FINISHED	3

static int	db_run(struct db_call *, const struct db_stmt *,
		    const char **, struct svc_error *);
static void	db_callback(struct kore_pgsql *, void *);
static void	db_wake(void *, u_int64_t);
static int	db_fail(struct db_call *, struct svc_error *);
static int	db_replan(struct db_call *);
static void	db_error_text(const struct db_call *, char *, size_t);
static void	db_arm(struct db_call *, struct http_request *);
static void	db_expire(void *, u_int64_t);
static int	db_busy(const struct db_call *, u_int64_t);
static void	db_count(const struct db_call *, const char *);
static void	db_hold(struct db_call *, int);
static void	db_queue(struct db_call *, int);
static void	db_append(char *, size_t, const char *);
static void	db_conninfo_append_quoted(char *, size_t, const char *);
static void	db_files_allow(const char *);
static void	db_ready_start(struct svc_ready_check *);
static void	db_ready_wake(struct db_call *, void *);
static void	db_ready_step(void);

static char	db_conninfo[DB_CONNINFO_MAX];

/* kore_time_ms() when PostgreSQL last answered a call of this worker. */
static u_int64_t	db_answered_at;

static const struct db_stmt	q_ready = { "ready", "SELECT 1", 0 };

static struct svc_ready_check	db_ready = { "database", db_ready_start, 0, 0 };
static struct db_call		db_ready_call;

static const struct metrics_help	db_metrics[] = {
	{ "db_queries_total", "Database statements run, by statement and "
	    "outcome." },
	{ "db_pool_connections_in_use", "Statements holding a PostgreSQL "
	    "pool connection now (in pipelines: several to one)." },
	{ "db_statements_pipelined_total", "Statements sent on a pool "
	    "connection while others were in flight on it (a full pool, "
	    "pgsql_pipeline_depth above 1) instead of waiting for a free "
	    "one." },
	{ "db_queue_waiting", "Statements waiting for a free PostgreSQL "
	    "connection." },
	{ "db_busy_waits_total", "Statements still waiting for a free "
	    "PostgreSQL connection at their deadline while the database "
	    "answered others: kept waiting (busy, not dead)." },
	{ NULL, NULL }
};

/*
 * Runs in the parent, before the workers chroot: the password file is not
 * reachable afterwards.
 */
void
db_parent_init(void)
{
	const char	*info, *pwfile, *errstr;
	char		pw[DB_PASSWORD_MAX];

	metrics_describe(db_metrics);

	if ((info = getenv("DB_CONNINFO")) == NULL || *info == '\0')
		fatalx("DB_CONNINFO is not set");
	if (kore_strlcpy(db_conninfo, info, sizeof(db_conninfo)) >=
	    sizeof(db_conninfo))
		fatalx("DB_CONNINFO too long");
	db_files_allow(info);

	if ((pwfile = getenv("DB_PASSWORD_FILE")) != NULL && *pwfile != '\0') {
		/* The reason only, never the content. */
		if (!secret_read(pwfile, pw, sizeof(pw), &errstr))
			fatalx("DB_PASSWORD_FILE (%s): %s", pwfile, errstr);
		db_conninfo_append_quoted(db_conninfo, sizeof(db_conninfo),
		    pw);
		explicit_bzero(pw, sizeof(pw));
	}

	db_append(db_conninfo, sizeof(db_conninfo), DB_SESSION_OPTS);
}

/*
 * The files libpq reads at each connect, which a worker without a chroot
 * may read (landlock.h): the CA, a client certificate and key, CRLs.
 */
static void
db_files_allow(const char *info)
{
	static const char *const	keys[] = {
		"sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", NULL
	};
	PQconninfoOption		*opts, *o;
	char				*errmsg;
	size_t				i;

	/* No detail: libpq's message may quote the string, a password too. */
	if ((opts = PQconninfoParse(info, &errmsg)) == NULL)
		fatalx("DB_CONNINFO is not a valid conninfo");

	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		for (i = 0; keys[i] != NULL; i++) {
			if (!strcmp(o->keyword, keys[i]))
				landlock_allow_read(o->val);
		}
	}

	PQconninfoFree(opts);
}

void
db_worker_init(void)
{
	if (!kore_pgsql_register(DB_NAME, db_conninfo))
		fatalx("cannot register the database");
	/* The worker no longer needs the password in clear. */
	explicit_bzero(db_conninfo, sizeof(db_conninfo));
}

int
db_exec(struct http_request *req, struct db_call *c,
    const struct db_stmt *st, const char **values,
    struct svc_error *err)
{
	if (c->state == DB_CALL_INIT) {
		kore_pgsql_init(&c->pgsql);
		kore_pgsql_bind_request(&c->pgsql, req);
		c->stmt = st;
		c->state = DB_CALL_SETUP;
		db_arm(c, req);
	}

	if (c->expired)
		return (db_fail(c, err));

	return (db_run(c, st, values, err));
}

int
db_exec_cb(struct db_call *c, const struct db_stmt *st, const char **values,
    struct svc_error *err, void (*wake)(struct db_call *, void *), void *arg)
{
	int		r;

	if (c->state == DB_CALL_INIT) {
		kore_pgsql_init(&c->pgsql);
		kore_pgsql_bind_callback(&c->pgsql, db_callback, c);
		c->wake = wake;
		c->wake_arg = arg;
		c->stmt = st;
		c->state = DB_CALL_SETUP;
		db_arm(c, NULL);
	}

	if (c->expired)
		return (db_fail(c, err));

	/* Queued for a connection and not yet woken: keep waiting. */
	if (c->state == DB_CALL_SETUP && c->queued)
		return (DB_PENDING);

	c->in_exec = 1;
	r = db_run(c, st, values, err);
	c->in_exec = 0;
	return (r);
}

/*
 * Kore's pgsql layer calls this on every state change of a callback-bound
 * call, often from deep inside itself (the wait queue, a connection's
 * release) or from inside db_run().  The owner is woken later through a
 * zero-delay timer, so it may run, finish and free the call safely.
 */
static void
db_callback(struct kore_pgsql *pgsql, void *arg)
{
	struct db_call	*c = arg;

	(void)pgsql;

	if (c->in_exec || c->wake_timer != NULL || c->wake == NULL)
		return;
	c->wake_timer = kore_timer_add(db_wake, 0, c, KORE_TIMER_ONESHOT);
}

static void
db_arm(struct db_call *c, struct http_request *req)
{
	struct svc_req	*sr;
	u_int64_t	now, ms, cap;

	now = kore_time_ms();
	ms = c->timeout_ms > 0 ? c->timeout_ms : DB_CALL_DEADLINE_MS;
	if (req != NULL && (sr = svc_req(req)) != NULL) {
		cap = (u_int64_t)sr->start.tv_sec * 1000 +
		    (u_int64_t)sr->start.tv_nsec / 1000000 +
		    DB_REQUEST_DEADLINE_MS;
		if (cap < now + ms)
			ms = cap > now + DB_CALL_MIN_MS ? cap - now : DB_CALL_MIN_MS;
	}

	c->expired = 0;
	c->began = now;
	c->busy = 0;
	c->deadline = kore_timer_add(db_expire, ms, c, KORE_TIMER_ONESHOT);
}

/*
 * The call's deadline passed while it waited for a connection or an
 * answer: unless it waits in line behind a busy database (db_busy(): it
 * is looked at again shortly), its owner is woken and fails it (503);
 * giving the query up then closes its connection without waiting for the
 * server (Kore's pgsql-abandon-without-blocking.patch).
 */
static void
db_expire(void *arg, u_int64_t now)
{
	struct db_call	*c = arg;
	u_int64_t	started;

	(void)now;

	c->deadline = NULL;		/* Kore frees the oneshot timer */
	if (c->state != DB_CALL_SETUP && c->state != DB_CALL_RUNNING)
		return;

	if (db_busy(c, now)) {
		if (!c->busy)
			metrics_counter_add("db_busy_waits_total", NULL, 1);
		c->busy = 1;
		c->deadline = kore_timer_add(db_expire, DB_ALIVE_RECHECK_MS, c,
		    KORE_TIMER_ONESHOT);
		return;
	}

	/*
	 * Sent (in a pipeline: at its head) only lately, after a wait in
	 * line: DB_SENT_MS from then.
	 */
	started = kore_pgsql_started(&c->pgsql);
	if (c->timeout_ms == 0 && c->state == DB_CALL_RUNNING &&
	    started != 0 && now < started + DB_SENT_MS) {
		c->deadline = kore_timer_add(db_expire,
		    started + DB_SENT_MS - now, c, KORE_TIMER_ONESHOT);
		return;
	}

	c->expired = 1;
	if (c->pgsql.req != NULL)
		http_request_wakeup(c->pgsql.req);
	else
		db_callback(&c->pgsql, c);
}

/*
 * Not sent yet, or sent behind others in its connection's pipeline
 * (kore_pgsql_started() 0), and the database answers others: it waits its
 * turn.  A call with a deadline of its own (the readiness check's) keeps
 * it.
 */
static int
db_busy(const struct db_call *c, u_int64_t now)
{
	if (c->timeout_ms != 0)
		return (0);
	if (c->state != DB_CALL_SETUP && (c->state != DB_CALL_RUNNING ||
	    kore_pgsql_started(&c->pgsql) != 0))
		return (0);

	return (db_answered_at != 0 &&
	    now < db_answered_at + DB_ALIVE_MS &&
	    now < c->began + DB_WAIT_MAX_MS);
}

static void
db_wake(void *arg, u_int64_t now)
{
	struct db_call	*c = arg;

	(void)now;

	c->wake_timer = NULL;		/* Kore frees the oneshot timer */
	if (c->state == DB_CALL_SETUP && c->queued) {
		/* Woken out of the wait queue: try for a connection again. */
		db_queue(c, 0);
	}
	c->wake(c, c->wake_arg);
}

static int
db_run(struct db_call *c, const struct db_stmt *st, const char **values,
    struct svc_error *err)
{
	for (;;) {
		switch (c->state) {
		case DB_CALL_SETUP:
			db_queue(c, 0);
			if (!kore_pgsql_setup(&c->pgsql, DB_NAME,
			    KORE_PGSQL_ASYNC)) {
				/* Queued for a free connection: Kore wakes us. */
				if (c->pgsql.state == KORE_PGSQL_STATE_INIT) {
					db_queue(c, 1);
					return (DB_PENDING);
				}
				return (db_fail(c, err));
			}
			db_hold(c, 1);
			/* Joined a pipeline: other statements are in flight. */
			if (kore_pgsql_joined(&c->pgsql)) {
				metrics_counter_add(
				    "db_statements_pipelined_total", NULL, 1);
			}
			/* Prepared once per connection under its name. */
			if (!kore_pgsql_query_named(&c->pgsql, st->name,
			    st->sql, st->nparams, values))
				return (db_fail(c, err));
			c->state = DB_CALL_RUNNING;
			return (DB_PENDING);
		case DB_CALL_RUNNING:
			switch (c->pgsql.state) {
			case KORE_PGSQL_STATE_WAIT:
				return (DB_PENDING);
			case KORE_PGSQL_STATE_ERROR:
				if (db_replan(c))
					break;
				return (db_fail(c, err));
			case KORE_PGSQL_STATE_COMPLETE:
				/* Kore has put the connection back already. */
				db_answered_at = kore_time_ms();
				db_hold(c, 0);
				db_count(c, "ok");
				c->state = DB_CALL_FINISHED;
				return (DB_OK);
			case KORE_PGSQL_STATE_RESULT:
				/* Keep the rows; Kore would clear them. */
				if (c->result == NULL) {
					c->result = c->pgsql.result;
					c->pgsql.result = NULL;
				}
				kore_pgsql_continue(&c->pgsql);
				break;
			default:
				kore_pgsql_continue(&c->pgsql);
				break;
			}
			break;
		case DB_CALL_FINISHED:
			return (DB_OK);
		default:
			fatal("db_exec: bad state %d", c->state);
		}
	}
}

int
db_fetch(struct http_request *req, struct db_call *c,
    const struct db_stmt *st, const char **values, int *kr)
{
	struct svc_error	err;

	svc_error_init(&err);
	switch (db_exec(req, c, st, values, &err)) {
	case DB_PENDING:
		*kr = KORE_RESULT_RETRY;
		return (0);
	case DB_FAILED:
		svc_respond_error(req, &err);
		*kr = KORE_RESULT_OK;
		return (0);
	}

	return (1);
}

void
db_done(struct db_call *c)
{
	/* A callback-bound call is never woken after this. */
	c->wake = NULL;
	db_queue(c, 0);
	db_hold(c, 0);
	if (c->state != DB_CALL_INIT)
		kore_pgsql_cleanup(&c->pgsql);
	if (c->wake_timer != NULL) {
		kore_timer_remove(c->wake_timer);
		c->wake_timer = NULL;
	}
	if (c->deadline != NULL) {
		kore_timer_remove(c->deadline);
		c->deadline = NULL;
	}
	c->expired = 0;
	c->replanned = 0;
	if (c->result != NULL) {
		PQclear(c->result);
		c->result = NULL;
	}
	c->state = DB_CALL_INIT;
}

/*
 * The readiness check (svc_ready_add()): PostgreSQL answers SELECT 1
 * within DB_READY_DEADLINE_MS, on a connection of the worker's pool.
 */
void
db_ready_add(void)
{
	svc_ready_add(&db_ready);
}

static void
db_ready_start(struct svc_ready_check *chk)
{
	(void)chk;

	db_ready_step();
}

static void
db_ready_wake(struct db_call *c, void *arg)
{
	(void)c;
	(void)arg;

	db_ready_step();
}

static void
db_ready_step(void)
{
	struct svc_error	err;
	int			r;

	svc_error_init(&err);
	db_ready_call.timeout_ms = DB_READY_DEADLINE_MS;
	r = db_exec_cb(&db_ready_call, &q_ready, NULL, &err, db_ready_wake,
	    NULL);
	if (r == DB_PENDING)
		return;

	/* DB_FAILED: db_fail() has logged it and released the call. */
	if (r == DB_OK)
		db_done(&db_ready_call);
	svc_ready_done(&db_ready, r == DB_OK);
}

int
db_ntuples(const struct db_call *c)
{
	if (c->result == NULL)
		return (0);
	return (PQntuples(c->result));
}

const char *
db_value(const struct db_call *c, int row, int col)
{
	return (PQgetvalue(c->result, row, col));
}

int
db_isnull(const struct db_call *c, int row, int col)
{
	return (PQgetisnull(c->result, row, col));
}

/*
 * A migration changed what the statement returns (a column, a function's
 * result type) under its prepared plan: PostgreSQL refuses it with
 * "cached plan must not change result type", and on every execution until
 * it is prepared again, which Kore's pgsql layer now does on each of the
 * worker's connections. Run it once more, from a new setup: safe, as the
 * statement failed as a whole (each is a transaction of its own). 1 when
 * it will.
 */
static int
db_replan(struct db_call *c)
{
	struct http_request	*req;
	const char		*state, *rid;

	if (c->replanned || c->expired || c->pgsql.result == NULL)
		return (0);
	state = PQresultErrorField(c->pgsql.result, PG_DIAG_SQLSTATE);
	if (state == NULL || strcmp(state, DB_STALE_PLAN))
		return (0);

	req = c->pgsql.req;
	rid = req != NULL ? svc_request_id(req) : c->request_id;
	svc_log(SVC_LOG_INFO, rid, "db %s: its plan is stale (a migration "
	    "changed its result type): prepared again", c->stmt->name);
	db_count(c, "replanned");

	/* Its connection goes back to the pool; the setup takes one. */
	db_hold(c, 0);
	kore_pgsql_cleanup(&c->pgsql);
	kore_pgsql_init(&c->pgsql);
	if (req != NULL)
		kore_pgsql_bind_request(&c->pgsql, req);
	else
		kore_pgsql_bind_callback(&c->pgsql, db_callback, c);
	c->replanned = 1;
	c->state = DB_CALL_SETUP;

	return (1);
}

/*
 * Maps a failed statement to the contract: the database being away,
 * restarting, overloaded or too slow is 503 unavailable (the caller may
 * retry); anything else is our bug, 500.  Either way one log line, with
 * the request's id, the SQLSTATE and PostgreSQL's primary message: never
 * SQL text to the client, and never PostgreSQL's DETAIL or CONTEXT in the
 * log (a constraint's DETAIL is the failing row, i.e. the client's data).
 */
static int
db_fail(struct db_call *c, struct svc_error *err)
{
	const char	*state, *rid;
	char		why[DB_ERROR_TEXT_MAX];
	int		level;

	state = NULL;
	if (!c->expired && c->pgsql.result != NULL)
		state = PQresultErrorField(c->pgsql.result, PG_DIAG_SQLSTATE);
	if (state != NULL)
		db_answered_at = kore_time_ms();	/* it answered */

	if (state == NULL || !strncmp(state, "08", 2) ||
	    !strncmp(state, "53", 2) || !strncmp(state, "57", 2) ||
	    !strcmp(state, "40001") || !strcmp(state, "40P01") ||
	    !strcmp(state, "55P03")) {
		svc_error_set(err, SVC_UNAVAILABLE,
		    "the database is unavailable, retry later");
		err->retry_after = 1;
		db_count(c, "unavailable");
		level = SVC_LOG_WARN;
	} else {
		svc_error_set(err, SVC_INTERNAL, "internal error");
		db_count(c, "error");
		level = SVC_LOG_ERROR;
	}

	rid = c->pgsql.req != NULL ? svc_request_id(c->pgsql.req) :
	    c->request_id;
	db_error_text(c, why, sizeof(why));
	svc_log(level, rid, "db %s failed (%s): %s",
	    c->stmt != NULL ? c->stmt->name : "?",
	    state != NULL ? state : "no sqlstate", why);

	db_done(c);
	return (DB_FAILED);
}

/*
 * What went wrong, on one line: PostgreSQL's primary message when the
 * server answered, else the first line of libpq's (a connection that
 * failed); a severity prefix ("ERROR:  ") and control characters go.
 */
static void
db_error_text(const struct db_call *c, char *out, size_t len)
{
	const char	*msg;
	size_t		n, i;

	msg = NULL;
	if (c->expired)
		msg = "no answer by the call's deadline";
	else if (c->pgsql.result != NULL)
		msg = PQresultErrorField(c->pgsql.result,
		    PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = c->pgsql.error != NULL ? c->pgsql.error : "unknown";

	if (!strncmp(msg, "ERROR:", 6) || !strncmp(msg, "FATAL:", 6)) {
		msg += 6;
		while (*msg == ' ')
			msg++;
	}

	n = strcspn(msg, "\r\n");
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++) {
		out[i] = msg[i];
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	}
	out[n] = '\0';
}

/* db_queries_total{statement,outcome}: what the service asked, and how. */
static void
db_count(const struct db_call *c, const char *outcome)
{
	char		labels[METRICS_LABELS_MAX];

	(void)snprintf(labels, sizeof(labels),
	    "statement=\"%s\",outcome=\"%s\"",
	    c->stmt != NULL ? c->stmt->name : "?", outcome);
	metrics_counter_add("db_queries_total", labels, 1);
}

/* db_pool_connections_in_use: connections of the pools lent out now. */
static void
db_hold(struct db_call *c, int hold)
{
	if (c->held == hold)
		return;
	c->held = hold;
	metrics_gauge_add("db_pool_connections_in_use", NULL, hold ? 1 : -1);
}

/* db_queue_waiting: requests waiting for a free pool connection. */
static void
db_queue(struct db_call *c, int queued)
{
	if (c->queued == queued)
		return;
	c->queued = queued;
	metrics_gauge_add("db_queue_waiting", NULL, queued ? 1 : -1);
}

/* Appends " password='...'" with libpq's quoting rules. */
static void
db_conninfo_append_quoted(char *dst, size_t len, const char *pw)
{
	size_t		off;
	const char	*p;

	db_append(dst, len, " password='");

	off = strlen(dst);
	for (p = pw; *p != '\0'; p++) {
		if (off + 3 >= len)
			fatalx("DB_CONNINFO too long");
		if (*p == '\'' || *p == '\\')
			dst[off++] = '\\';
		dst[off++] = *p;
	}
	dst[off] = '\0';

	db_append(dst, len, "'");
}

static void
db_append(char *dst, size_t len, const char *src)
{
	size_t		off, n;

	off = strlen(dst);
	n = strlen(src);
	if (off + n >= len)
		fatalx("DB_CONNINFO too long");
	memcpy(dst + off, src, n + 1);
}
