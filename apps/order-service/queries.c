/*
 * queries.c - order-service's SQL statements (see queries.h).
 */

#include "queries.h"

const struct db_stmt q_open = {
	"open",
	"SELECT * FROM orders.open($1::uuid, $2::uuid, $3::text[], "
	"$4::bigint[], $5, $6, $7, $8::uuid, $9::interval, $10::interval)",
	10
};

const struct db_stmt q_finish = {
	"finish",
	"SELECT * FROM orders.finish($1::uuid, $2::uuid, $3, $4::text[], "
	"$5::text[], $6::jsonb, $7::jsonb)",
	7
};

const struct db_stmt q_get = {
	"get",
	"SELECT * FROM orders.order_rows('found', $1::uuid)",
	1
};

/* The whole answer, built by PostgreSQL; no row for an unknown order. */
const struct db_stmt q_audit = {
	"audit",
	"SELECT jsonb_build_object('events', jsonb_agg(jsonb_build_object("
	"'at', orders.ts(a.at), 'event', a.event, 'service', a.service, "
	"'request_id', a.request_id, 'details', a.details) ORDER BY a.seq))"
	"::text FROM orders.audit_events a WHERE a.supply_order_id = $1::uuid "
	"HAVING count(*) > 0",
	1
};

/* The logistics service's 201 body, as stored. */
const struct db_stmt q_by_shipment = {
	"by_shipment",
	"SELECT shipment::text FROM orders.supply_orders "
	"WHERE shipment_id = $1::uuid",
	1
};
