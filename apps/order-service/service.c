/*
 * service.c - order-service: the supply order hub (CONTRACT §4).  Calls
 * inventory-service and logistics-service; is called by crm-api and by
 * logistics-service (the stored shipment records).
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
	 * Ready: its database.  Not inventory- and logistics-service:
	 * logistics-service's readiness includes order-service, and two
	 * services that wait for each other never become ready again.
	 */
	db_ready_add();
}
