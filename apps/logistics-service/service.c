/*
 * service.c - logistics-service: shipment planning (CONTRACT §6).
 * Stateless: no database; the stored shipments live at the supply-order
 * hub,
 * which GET /shipments/:id reads through platform/upstream.
 *
 * Environment (besides the platform's, see svc.h and upstream.h):
 *	LOGISTICS_DATA_FILE	the planning tables (warehouses, carriers,
 *				regions; see plan.h), read once by the parent
 *				before the workers chroot; a bad file is fatal
 *				(default /etc/crm/logistics.data)
 *	ORDER_SERVICE_URL	where GET /shipments/:id reads the record
 *	CA_FILE			the CA that the hub's certificate is
 *				verified with (a path inside the chroot)
 */

#include <stdlib.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "handlers.h"
#include "plan.h"
#include "svc.h"
#include "upstream.h"
#include "service_decl.h"

#define LOGISTICS_DATA_DEFAULT	"/etc/crm/logistics.data"

static void	logistics_parent_init(void);
static void	logistics_worker_init(void);

static struct plan_data	plan_tables;
const struct plan_data	*logistics_plan = &plan_tables;

const struct svc_app svc_app = {
	.parent_init = logistics_parent_init,
	.worker_init = logistics_worker_init,
};

static void
logistics_parent_init(void)
{
	const char	*path;
	char		err[256];

	if ((path = getenv("LOGISTICS_DATA_FILE")) == NULL || *path == '\0')
		path = LOGISTICS_DATA_DEFAULT;
	if (!plan_load(&plan_tables, path, err, sizeof(err)))
		fatalx("LOGISTICS_DATA_FILE %s: %s", path, err);

	upstream_parent_init();
}

/*
 * Ready: the supply-order hub answers (GET /shipments/:id reads the stored
 * records there; POST /shipments needs nothing but the tables).  So
 * the hub's readiness must never include ours.
 */
static void
logistics_worker_init(void)
{
	upstream_worker_init();
	upstream_ready_add(UPSTREAM_ORDER_SERVICE);
}
