/*
 * crm.h - crm-api's configuration and what its handlers and its outbox
 * dispatcher share.
 *
 * Configuration (environment, read once by the parent; see
 * conf/crm-api.conf):
 *	ORDER_FORWARD_DEADLINE_MS	how long POST /orders waits for
 *					the supply-order hub's answer before it
 *					answers
 *					202 pending (default 2000, 100-2800)
 *	IDEMPOTENCY_TTL_S		how long an Idempotency-Key is kept
 *					(default 86400, i.e. 24 h)
 *	OUTBOX_INTERVAL_MS		how often each worker looks for due
 *					outbox entries (default 200)
 */

#ifndef __H_CRM_H
#define __H_CRM_H

#include <sys/types.h>

#include <stddef.h>

struct upstream_call;
struct upstream_req;

struct crm_config {
	u_int32_t	forward_deadline_ms;
	u_int32_t	idempotency_ttl_s;
	u_int32_t	outbox_interval_ms;
};

extern struct crm_config	crm_config;

/* The outbox dispatcher and the key purge (outbox.c), per worker. */
void	outbox_worker_init(void);

/* POST /supply-orders of an order (body: crm.supply_request()). */
void	supply_request(struct upstream_req *, const char *, u_int32_t,
	    u_int32_t);

/*
 * The hub's answer to POST /supply-orders as the argument of
 * crm.order_settle(): its body when it is 2xx, a rejection for 409
 * insufficient_stock / 422 unknown_product; NULL when the answer is not
 * final (the outbox tries again).  Free with kore_free().
 */
char	*supply_result(const struct upstream_call *);

/* A short reason for a non-final answer, for outbox.last_error. */
void	supply_failure(const struct upstream_call *, char *, size_t);

#endif
