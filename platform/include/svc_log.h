/*
 * svc_log.h - JSON log lines on stdout, whole lines per write(2) so lines
 * from several workers never interleave (in a worker request lines share
 * writes: svc_log_batch).  Fields:
 * time (RFC 3339 UTC with milliseconds), level, service, worker,
 * request_id and, for the one line per request, method, route, status,
 * duration_ms.  Never a secret, a body or a token.
 */

#ifndef __H_SVC_LOG_H
#define __H_SVC_LOG_H

#include <sys/types.h>

struct kore_buf;

#define SVC_LOG_DEBUG		0
#define SVC_LOG_INFO		1
#define SVC_LOG_WARN		2
#define SVC_LOG_ERROR		3

void	svc_log_init(const char *, int);
void	svc_log_set_worker(int);
void	svc_log_set_fd(int);

/*
 * In a worker: batch the request lines, written by svc_log_flush() when
 * the batch is full (PIPE_BUF), at the latest SVC_LOG_BATCH_MS after its
 * first line (svc.c's timer), at exit and on a fatal signal; svc_log()
 * events flush and go out at once.  Without it (parent, tests) every line
 * is written at once.  svc_log_pending(): lines wait in the batch.
 */
#define SVC_LOG_BATCH_MS	10

void	svc_log_batch(void);
void	svc_log_flush(void);
int	svc_log_pending(void);

/* One event line; request_id may be NULL. */
void	svc_log(int, const char *, const char *, ...)
	    __attribute__((format (printf, 3, 4)));

/*
 * The one line per request: request id, method, route, the name of the
 * caller's credential (NULL: none, the field is left out), status and
 * duration.
 */
void	svc_log_request(const char *, const char *, const char *,
	    const char *, int, double);

/* Renders a request line into buf without the newline (tests). */
void	svc_log_format_request(struct kore_buf *, const char *,
	    const char *, const char *, const char *, int, double);

#endif
