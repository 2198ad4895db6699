/*
 * svc.c - the start of a service (svc.h): Kore's configuration hooks read
 * the environment and the secrets, map the shared tables, install the
 * error hook and run the app's inits.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "admission.h"
#include "auth.h"
#include "env.h"
#include "memtrim.h"
#include "metrics.h"
#include "ratelimit.h"
#include "respond.h"
#include "sandbox.h"
#include "secret.h"
#include "svc.h"
#include "svc_int.h"
#include "svc_log.h"
#include "tlsmem.h"

/* Our own identity for upstream calls; the only raw token we hold. */
static char	svc_identity[AUTH_SECRET_MAX];

/* The timer that writes a worker's pending request lines (svc_log.h). */
static struct kore_timer	*log_timer;

static void	load_secret(const char *, char *, size_t);
static void	load_creds(void);
static void	svc_log_loop(void);
static void	svc_log_due(void *, u_int64_t);

/*
 * Parent, before the workers fork (and before any chroot): read the
 * environment and the secrets, map the shared tables.
 */
void
kore_parent_configure(int argc, char **argv)
{
	u_int32_t	rate, burst, slots;

	(void)argc;
	(void)argv;

	svc_log_init(svc_decl.name, SVC_LOG_INFO);

	if (!tlsmem_installed()) {
		svc_log(SVC_LOG_WARN, NULL, "TLS record buffers are not "
		    "reused: OpenSSL allocated before tlsmem was installed");
	}

	rate = env_u32("RATE_LIMIT_RATE", svc_decl.default_rate, 0,
	    UINT32_MAX);
	burst = env_u32("RATE_LIMIT_BURST", svc_decl.default_burst, 0,
	    UINT32_MAX);
	slots = env_u32("RATE_LIMIT_SLOTS", RATELIMIT_SLOTS_DEFAULT, 0,
	    UINT32_MAX);

	if (svc_decl.auth != SVC_AUTH_NONE)
		load_creds();
	load_secret("IDENTITY_TOKEN_FILE", svc_identity, sizeof(svc_identity));

	if (!ratelimit_init(slots, rate, burst))
		fatal("cannot map the rate limit table: %s", errno_s);
	if (!metrics_init())
		fatal("cannot map the metrics table: %s", errno_s);

	http_error_hook = svc_kore_error;

	svc_log(SVC_LOG_INFO, NULL, "configured: rate limit %u/s burst %u "
	    "(%u addresses); admission %u running, %u waiting up to %u ms "
	    "per worker", rate, burst, slots, admission_config.limit,
	    admission_config.queue, admission_config.queue_ms);

	if (svc_app.parent_init != NULL)
		svc_app.parent_init();

	/* After the app's inits: they registered the files they read. */
	sandbox_parent_init();
}

void
kore_worker_configure(void)
{
	int		id;

	id = worker != NULL ? worker->id : 0;

	svc_log_set_worker(id);
	metrics_set_proc((u_int32_t)id);
	http_error_hook = svc_kore_error;

	svc_request_ids_reset();
	admission_worker_init();
	memtrim_worker_init();

	/* Request log lines: one write per batch (svc_log_loop). */
	svc_log_batch();
	kore_worker_loop_hook = svc_log_loop;

	if (svc_app.worker_init != NULL)
		svc_app.worker_init();
}

/*
 * End of every event loop iteration: lines wait in the batch, so make sure
 * the worker wakes to write them within SVC_LOG_BATCH_MS, even when it has
 * nothing else to do.
 */
static void
svc_log_loop(void)
{
	if (log_timer == NULL && svc_log_pending()) {
		log_timer = kore_timer_add(svc_log_due, SVC_LOG_BATCH_MS, NULL,
		    KORE_TIMER_ONESHOT);
	}
}

static void
svc_log_due(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;

	log_timer = NULL;		/* Kore frees the oneshot timer */
	svc_log_flush();
}

/* An optional secret file named by env; unreadable is fatal. */
static void
load_secret(const char *env, char *out, size_t len)
{
	const char	*path, *errstr;

	out[0] = '\0';

	if ((path = getenv(env)) == NULL || *path == '\0')
		return;

	/* The reason only, never the content. */
	if (!secret_read(path, out, len, &errstr))
		fatal("%s (%s): %s", env, path, errstr);
}

/* The digests of what the service accepts (auth.h); fatal if none. */
static void
load_creds(void)
{
	struct auth_creds	*creds;
	const char		*path;
	char			err[128];

	if ((path = getenv("CREDENTIALS_FILE")) == NULL || *path == '\0')
		fatal("CREDENTIALS_FILE is not set");

	creds = kore_calloc(1, sizeof(*creds));
	if (!auth_creds_read(creds, path, err, sizeof(err)))
		fatal("CREDENTIALS_FILE (%s): %s", path, err);
	auth_set_creds(creds);
	svc_log(SVC_LOG_INFO, NULL, "%zu credentials accepted", creds->n);
	kore_free(creds);
}

const char *
svc_identity_token(void)
{
	return (svc_identity[0] != '\0' ? svc_identity : NULL);
}
