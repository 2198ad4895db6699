/*
 * queries.h - order-service's SQL, all of it (queries.c).  The saga's state
 * changes are SQL functions (sql/migrations/0020_orders.sql: open();
 * 0060_saga_steps_in_one.sql: finish()) that write the changes and their
 * audit rows in one statement.
 */

#ifndef __H_ORDER_QUERIES_H
#define __H_ORDER_QUERIES_H

#include "db.h"

extern const struct db_stmt	q_open;
extern const struct db_stmt	q_finish;
extern const struct db_stmt	q_get;
extern const struct db_stmt	q_audit;
extern const struct db_stmt	q_by_shipment;

/* Columns of q_open, q_finish and q_get (type orders.order_row). */
#define ORD_OUTCOME		0
#define ORD_ID			1
#define ORD_CRM_ORDER		2
#define ORD_CUSTOMER		3
#define ORD_STATUS		4
#define ORD_REASON		5
#define ORD_STEP		6
#define ORD_RESERVATION		7
#define ORD_POSTAL		8
#define ORD_COUNTRY		9
#define ORD_SHIPMENT		10
#define ORD_CARRIER		11
#define ORD_ETA			12
#define ORD_SHIP_STATUS		13
#define ORD_CREATED		14
#define ORD_UPDATED		15
#define ORD_PRODUCT		16
#define ORD_QUANTITY		17

#endif
