/*
 * sandbox.h - the platform's additions to Kore's seccomp policy.
 *
 * Kore locks every worker into a seccomp filter after dropping privileges
 * (src/seccomp.c): its own allow list, plus the "pgsql" and "curl" lists,
 * plus whatever the application adds from kore_seccomp_hook(), which Kore
 * resolves by name (through the generated symbol table) and calls just
 * before the filter is loaded. Anything not allowed kills the worker
 * (SIGSYS); run with `seccomp_tracing on` to see what a path needs.
 */

#ifndef __H_SANDBOX_H
#define __H_SANDBOX_H

/* Called by Kore in each worker (not the keymgr) before the lock-in. */
void	kore_seccomp_hook(void);

#endif
