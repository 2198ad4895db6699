/*
 * service.c - crm-api: customers and orders, the public API (CONTRACT §3).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "db.h"
#include "env.h"
#include "svc.h"
#include "upstream.h"
#include "service_decl.h"

static void	crm_parent_init(void);
static void	crm_worker_init(void);

const struct svc_app svc_app = {
	.parent_init = crm_parent_init,
	.worker_init = crm_worker_init,
};

struct crm_config	crm_config;

static void
crm_parent_init(void)
{
	db_parent_init();
	upstream_parent_init();

	crm_config.forward_deadline_ms =
	    env_u32("ORDER_FORWARD_DEADLINE_MS", 2000, 100, 2800);
	crm_config.idempotency_ttl_s =
	    env_u32("IDEMPOTENCY_TTL_S", 86400, 1, 30 * 86400);
	crm_config.outbox_interval_ms =
	    env_u32("OUTBOX_INTERVAL_MS", 200, 10, 60000);
}

static void
crm_worker_init(void)
{
	db_worker_init();
	upstream_worker_init();
	/* Ready: its database, and the hub that takes the orders. */
	db_ready_add();
	upstream_ready_add(UPSTREAM_ORDER_SERVICE);
	outbox_worker_init();
}
