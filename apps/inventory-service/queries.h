/*
 * queries.h - inventory-service's SQL, all of it (queries.c).  The rules
 * themselves are SQL functions (sql/migrations/0010_inventory_logic.sql),
 * so every request is one atomic statement.
 */

#ifndef __H_INVENTORY_QUERIES_H
#define __H_INVENTORY_QUERIES_H

#include "db.h"

extern const struct db_stmt	q_stock_get;
extern const struct db_stmt	q_stock_put;
extern const struct db_stmt	q_reserve;
extern const struct db_stmt	q_settle;

/* Columns of q_stock_get and q_stock_put (after put's outcome column). */
#define STOCK_PRODUCT		0
#define STOCK_QUANTITY		1
#define STOCK_RESERVED		2
#define STOCK_VERSION		3
#define STOCK_UPDATED		4

/* Columns of q_reserve and q_settle. */
#define RES_OUTCOME		0
#define RES_STATUS		1
#define RES_PRODUCT		2
#define RES_QUANTITY		3
#define RES_AVAILABLE		4
#define RES_CREATED		5
#define RES_UPDATED		6

#endif
