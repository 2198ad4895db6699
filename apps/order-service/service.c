/*
 * service.c - order-service: the supply order hub (CONTRACT §4).  Calls
 * the inventory and logistics services; is called by the public API and by
 * the logistics service (the stored shipment records): service.decl.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include "db.h"
#include "svc.h"
#include "upstream.h"

static void	order_parent_init(void);
static void	order_worker_init(void);

const struct svc_app svc_app = {
	.parent_init = order_parent_init,
	.worker_init = order_worker_init,
};

static void
order_parent_init(void)
{
	db_parent_init();
	upstream_parent_init();
}

static void
order_worker_init(void)
{
	db_worker_init();
	upstream_worker_init();
	/*
	 * Ready: its database.  Not the inventory and logistics services:
	 * the logistics service's readiness includes this one, and two
	 * services that wait for each other never become ready again.
	 */
	db_ready_add();
}
