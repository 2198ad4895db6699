/*
 * service.c - inventory-service: stock and reservations (CONTRACT §5).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "svc.h"

static void	inventory_parent_init(void);
static void	inventory_worker_init(void);

const struct svc_app svc_app = {
	.parent_init = inventory_parent_init,
	.worker_init = inventory_worker_init,
};

static void
inventory_parent_init(void)
{
	db_parent_init();
}

static void
inventory_worker_init(void)
{
	db_worker_init();
	db_ready_add();
}
