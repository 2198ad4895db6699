/*
 * queries.c - crm-api's SQL statements (see queries.h).
 */

#include "queries.h"

const struct db_stmt q_customer_create = {
	"customer_create",
	"SELECT outcome, body FROM crm.create_customer($1, $2, $3)",
	3
};

const struct db_stmt q_customer_get = {
	"customer_get",
	"SELECT body FROM crm.get_customer($1::uuid)",
	1
};

const struct db_stmt q_order_create = {
	"order_create",
	"SELECT * FROM crm.create_order($1, $2, $3::uuid, $4::text[], "
	"$5::integer[], $6, $7, $8, $9, $10, $11::integer, $12::integer)",
	12
};

const struct db_stmt q_order_get = {
	"order_get",
	"SELECT * FROM crm.get_order($1::uuid)",
	1
};

const struct db_stmt q_order_settle = {
	"order_settle",
	"SELECT * FROM crm.order_settle($1::uuid, $2, $3::boolean)",
	3
};

const struct db_stmt q_order_answered = {
	"order_answered",
	"SELECT crm.order_answered($1::uuid, $2::integer)",
	2
};

const struct db_stmt q_outbox_claim = {
	"outbox_claim",
	"SELECT * FROM crm.outbox_claim($1::integer, $2::integer)",
	2
};

const struct db_stmt q_outbox_retry = {
	"outbox_retry",
	"SELECT crm.outbox_retry($1::uuid, $2)",
	2
};

const struct db_stmt q_idempotency_purge = {
	"idempotency_purge",
	"SELECT crm.idempotency_purge($1::integer)",
	1
};
