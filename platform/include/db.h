/*
 * db.h - the services' only way to PostgreSQL: Kore's asynchronous pgsql
 * layer, one parameterised statement at a time for a request.
 *
 * A handler keeps a struct db_call in its request state and calls
 * db_exec() each time Kore runs it.  DB_PENDING means "return
 * KORE_RESULT_RETRY": Kore puts the request to sleep and runs the handler
 * again when PostgreSQL answers.  DB_OK leaves the rows in the call until
 * db_done(); DB_FAILED fills a svc_error (503 unavailable when the database
 * cannot be reached or is overloaded, 500 otherwise, never SQL text) and
 * logs one line: the request id, the statement's name, the SQLSTATE and
 * PostgreSQL's primary message (never its DETAIL or CONTEXT: row data).
 * A statement whose result type a migration changed under its prepared
 * plan ("cached plan must not change result type") is prepared again and
 * run once more, never failed for it (docs/operations.md, "Migrations").
 *
 * Configuration (environment, read once in the parent before the workers
 * fork and chroot):
 *	DB_CONNINFO		libpq conninfo without the password, e.g.
 *				"host=127.0.0.1 port=55432 dbname=crm_supply_db
 *				user=stock_role sslmode=verify-full
 *				sslrootcert=/etc/crm/tls/ca.pem"
 *	DB_PASSWORD_FILE	file holding the role's password
 * Bounds (Kore config): pgsql_conn_max (pool per worker), pgsql_queue_limit
 * (requests waiting for a connection; beyond it: 503).  Deadlines: the
 * server-side statement_timeout and connect_timeout (db.c), and each
 * call's own (DB_CALL_DEADLINE_MS, for a server that answers nothing at
 * all): then 503, within the contract's 3 s for a request.  Busy is not
 * dead: a call still waiting for a connection at its deadline keeps
 * waiting while PostgreSQL answers the worker's other calls (db.c).
 */

#ifndef __H_DB_H
#define __H_DB_H

#include <kore/kore.h>
#include <kore/pgsql.h>

struct http_request;
struct svc_error;

#define DB_PENDING		1
#define DB_OK			2
#define DB_FAILED		3

#define DB_PARAMS_MAX		8

/*
 * One named statement of a service: its SQL lives in one file per app.
 * The name is also the prepared statement's name on each connection, so
 * it must be unique within a service (a clash still works, unprepared).
 */
struct db_stmt {
	const char		*name;		/* prepared name, logs, metrics */
	const char		*sql;
	int			nparams;
};

struct db_call {
	struct kore_pgsql	pgsql;
	PGresult		*result;
	const struct db_stmt	*stmt;
	int			state;
	int			held;		/* counted as in use */
	int			queued;		/* counted as waiting */
	struct kore_timer	*deadline;	/* db_expire() pending */
	int			expired;	/* no answer by the deadline */
	int			replanned;	/* run again once: db_replan() */
	u_int32_t		timeout_ms;	/* its deadline; 0: the
						   default (see above), which
						   a busy database extends */
	u_int64_t		began;		/* kore_time_ms() it began */
	int			busy;		/* waited past its deadline
						   behind busy connections */

	/*
	 * Callback-bound calls only (db_exec_cb()).  request_id, when the
	 * owner sets it (the call is about one request, e.g. an outbox
	 * entry), goes into the call's log lines; NULL: none.
	 */
	const char		*request_id;
	void			(*wake)(struct db_call *, void *);
	void			*wake_arg;
	struct kore_timer	*wake_timer;	/* deferred wake pending */
	int			in_exec;	/* inside db_exec_cb() */
};

void		db_parent_init(void);
void		db_worker_init(void);

int		db_exec(struct http_request *, struct db_call *,
		    const struct db_stmt *, const char **,
		    struct svc_error *);
void		db_done(struct db_call *);

/*
 * db_exec() for a handler that answers a failure as it comes: 1 when the
 * rows are there; 0 when the handler must return *kr now
 * (KORE_RESULT_RETRY while the statement runs, KORE_RESULT_OK once a
 * failure has been answered with 503/500).
 */
int		db_fetch(struct http_request *, struct db_call *,
		    const struct db_stmt *, const char **, int *);

/*
 * The same for work that has no HTTP request (timers, the outbox
 * dispatcher): the call is bound to a callback instead.  DB_PENDING means
 * "wait": wake(c, arg) runs later, once, from the event loop (never from
 * inside db_exec_cb() nor from inside Kore's pgsql layer, so it may call
 * db_exec_cb() again, db_done() and free the memory holding the call).
 * Call db_exec_cb() again with the same arguments from wake() until it
 * returns DB_OK or DB_FAILED; values must stay valid until then.
 * db_done() before that cancels the call (wake is then never called).
 */
int		db_exec_cb(struct db_call *, const struct db_stmt *,
		    const char **, struct svc_error *,
		    void (*)(struct db_call *, void *), void *);

int		db_ntuples(const struct db_call *);
const char	*db_value(const struct db_call *, int, int);
int		db_isnull(const struct db_call *, int, int);

/*
 * Adds the database to the worker's readiness checks (health.h): SELECT 1
 * answered within a second.  From the app's worker_init, after
 * db_worker_init().
 */
void		db_ready_add(void);

#endif
