/*
 * order.h - a supply order as order-service's SQL functions answer it (one
 * row per item, type orders.order_row), copied out of the result so that
 * it outlives the statement, and its JSON rendering (CONTRACT §4).
 */

#ifndef __H_ORDER_H
#define __H_ORDER_H

#include <sys/types.h>
#include <stdint.h>

#include "fmt.h"

struct db_call;
struct http_request;

#define ORDER_ITEMS_MAX		100
#define ORDER_PRODUCT_MAX	64
#define ORDER_TEXT_MAX		64

struct order_item {
	char		product[ORDER_PRODUCT_MAX + 1];
	int64_t		quantity;
};

struct order {
	char		outcome[16];
	char		id[FMT_UUID_LEN + 1];
	char		crm_order_id[FMT_UUID_LEN + 1];
	char		customer_id[FMT_UUID_LEN + 1];
	char		status[16];
	char		reason[32];
	char		step[16];
	char		reservation_id[FMT_UUID_LEN + 1];
	char		postal_code[FMT_POSTAL_MAX + 1];
	char		country[3];
	char		shipment_id[FMT_UUID_LEN + 1];	/* "" when none */
	char		carrier[ORDER_TEXT_MAX];
	char		eta[ORDER_TEXT_MAX];
	char		shipment_status[ORDER_TEXT_MAX];
	char		created_at[FMT_RFC3339_LEN];
	char		updated_at[FMT_RFC3339_LEN];
	size_t		nitems;
	struct order_item items[ORDER_ITEMS_MAX];
};

/* Results of order_query(). */
#define ORDER_PENDING		1	/* return KORE_RESULT_RETRY */
#define ORDER_ANSWERED		2	/* failed and answered (503/500) */
#define ORDER_NONE		3	/* no such order */
#define ORDER_LOADED		4	/* o holds it */

struct db_stmt;

/*
 * Runs stmt (answering orders.order_row rows) for the request, re-entrant
 * like db_exec(), and copies the order into o.
 */
int	order_query(struct http_request *, struct db_call *,
	    const struct db_stmt *, const char **, struct order *);

/*
 * Answers the order as JSON with status code.  live (may be NULL) is the
 * shipment's status as the logistics service reports it now; without it the
 * last status order-service knows is shown and "status_stale" is true.
 */
void	order_respond(struct http_request *, const struct order *, int,
	    const char *);

#endif
