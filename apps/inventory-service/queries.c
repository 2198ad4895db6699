/*
 * queries.c - inventory-service's SQL statements (see queries.h).
 */

#include "queries.h"

const struct db_stmt q_stock_get = {
	"stock_get",
	"SELECT product_id, quantity, reserved, version, "
	"inventory.ts(updated_at) FROM inventory.products "
	"WHERE product_id = $1",
	1
};

const struct db_stmt q_stock_put = {
	"stock_put",
	"SELECT outcome, product_id, quantity, reserved, version, updated_at "
	"FROM inventory.put_stock($1, $2::bigint, $3::boolean, $4::bigint[])",
	4
};

const struct db_stmt q_reserve = {
	"reserve",
	"SELECT * FROM inventory.reserve($1::uuid, $2::text[], $3::bigint[])",
	3
};

const struct db_stmt q_settle = {
	"settle",
	"SELECT * FROM inventory.settle($1::uuid, $2::boolean)",
	2
};
