/*
 * queries.h - crm-api's SQL, all of it (queries.c).  The rules are SQL
 * functions (sql/migrations/0030_crm.sql), so every step is one atomic
 * statement.
 */

#ifndef __H_CRM_QUERIES_H
#define __H_CRM_QUERIES_H

#include "db.h"

extern const struct db_stmt	q_customer_create;
extern const struct db_stmt	q_customer_get;
extern const struct db_stmt	q_order_create;
extern const struct db_stmt	q_order_get;
extern const struct db_stmt	q_order_settle;
extern const struct db_stmt	q_order_answered;
extern const struct db_stmt	q_outbox_claim;
extern const struct db_stmt	q_outbox_retry;
extern const struct db_stmt	q_idempotency_purge;

/* Columns of q_customer_create (q_customer_get: CUST_BODY - 1). */
#define CUST_OUTCOME		0
#define CUST_BODY		1

/*
 * Columns of an order (crm.order_row()): q_order_create and
 * q_order_settle put an outcome column first (ORDER_OFF 1), q_order_get
 * does not (ORDER_OFF 0).  q_order_create adds ORDER_FORWARD last.
 */
#define ORDER_ID		0
#define ORDER_ANSWER		1
#define ORDER_STATUS		2
#define ORDER_BODY		3
#define ORDER_SUPPLY_ID		4
#define ORDER_SHIP_ID		5
#define ORDER_SHIP_CARRIER	6
#define ORDER_SHIP_ETA		7
#define ORDER_SHIP_STATUS	8
#define ORDER_FORWARD		9

/* Columns of q_outbox_claim. */
#define CLAIM_ORDER		0
#define CLAIM_REQUEST_ID	1
#define CLAIM_ATTEMPTS		2
#define CLAIM_BODY		3

#endif
