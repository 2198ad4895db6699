/*
 * service.c - crm-api: customers and orders, the public API (CONTRACT §3).
 */

#include <sys/types.h>

#include <limits.h>
#include <stdlib.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "db.h"
#include "svc.h"
#include "upstream.h"
#include "service_decl.h"

static void	crm_parent_init(void);
static void	crm_worker_init(void);
static u_int32_t crm_env(const char *, u_int32_t, u_int32_t, u_int32_t);

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
	    crm_env("ORDER_FORWARD_DEADLINE_MS", 2000, 100, 2800);
	crm_config.idempotency_ttl_s =
	    crm_env("IDEMPOTENCY_TTL_S", 86400, 1, 30 * 86400);
	crm_config.outbox_interval_ms =
	    crm_env("OUTBOX_INTERVAL_MS", 200, 10, 60000);
}

static void
crm_worker_init(void)
{
	db_worker_init();
	upstream_worker_init();
	/* Ready: its database, and order-service that takes the orders. */
	db_ready_add();
	upstream_ready_add(UPSTREAM_ORDER_SERVICE);
	outbox_worker_init();
}

/* A number from the environment within [min, max]; fatal otherwise. */
static u_int32_t
crm_env(const char *name, u_int32_t def, u_int32_t min, u_int32_t max)
{
	const char	*v;
	char		*end;
	unsigned long	n;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n < min || n > max)
		fatalx("%s must be a number in [%u, %u]", name, min, max);
	return ((u_int32_t)n);
}
