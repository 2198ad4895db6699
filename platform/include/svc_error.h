/*
 * svc_error.h - the contract's error values and the one renderer of the
 * error body (CONTRACT.md section 2).  Errors travel as values (struct
 * svc_error) to svc_respond_error() (respond.h).
 *
 * Named svc_error.h, not error.h, so it never shadows glibc's <error.h>.
 */

#ifndef __H_SVC_ERROR_H
#define __H_SVC_ERROR_H

#include <sys/types.h>
#include <stddef.h>

struct kore_buf;

enum svc_code {
	SVC_NONE = 0,			/* no error recorded yet */
	SVC_VALIDATION_FAILED,		/* 400 */
	SVC_MALFORMED_JSON,		/* 400 */
	SVC_UNAUTHORIZED,		/* 401 */
	SVC_NOT_FOUND,			/* 404 */
	SVC_METHOD_NOT_ALLOWED,		/* 405 + Allow */
	SVC_CONFLICT,			/* 409 */
	SVC_INSUFFICIENT_STOCK,		/* 409 */
	SVC_IDEMPOTENCY_CONFLICT,	/* 409 */
	SVC_PRECONDITION_FAILED,	/* 412 */
	SVC_PAYLOAD_TOO_LARGE,		/* 413 */
	SVC_URI_TOO_LONG,		/* 414 */
	SVC_HEADERS_TOO_LARGE,		/* 431 */
	SVC_UNSUPPORTED_MEDIA_TYPE,	/* 415 */
	SVC_UNKNOWN_CUSTOMER,		/* 422 */
	SVC_UNKNOWN_PRODUCT,		/* 422 */
	SVC_RATE_LIMITED,		/* 429 + Retry-After */
	SVC_UNAVAILABLE,		/* 503 + Retry-After */
	SVC_INTERNAL,			/* 500, message never carries detail */
	/* Only raised by the HTTP layer itself (svc_kore_error()). */
	SVC_REQUEST_TIMEOUT,		/* 408 */
	SVC_LENGTH_REQUIRED,		/* 411 */
	SVC_HTTP_VERSION,		/* 505 */
	SVC_MISDIRECTED_REQUEST,	/* 421: TLS name is not the Host */
	SVC_EXPECTATION_FAILED,		/* 417 */
	SVC_CODE_MAX
};

#define SVC_ERROR_MAXDETAILS	32
#define SVC_ERROR_FIELDLEN	96
#define SVC_ERROR_PROBLEMLEN	160
#define SVC_ERROR_MSGLEN	256

struct svc_error_detail {
	char		field[SVC_ERROR_FIELDLEN];
	char		problem[SVC_ERROR_PROBLEMLEN];
};

struct svc_error {
	enum svc_code		code;
	char			message[SVC_ERROR_MSGLEN];

	/* Seconds for Retry-After on 429/503; 0 means 1. */
	u_int32_t		retry_after;

	/* Allow header for 405, e.g. "GET, PUT"; empty = not sent. */
	char			allow[64];

	/*
	 * Per-field problems.  Rendered for every code that has them
	 * (validation_failed, insufficient_stock); details beyond
	 * SVC_ERROR_MAXDETAILS are counted in ndropped and dropped.
	 */
	size_t			ndetails;
	size_t			ndropped;
	struct svc_error_detail	details[SVC_ERROR_MAXDETAILS];
};

void		svc_error_init(struct svc_error *);

/* Sets code and message (printf format).  Keeps already added details. */
void		svc_error_set(struct svc_error *, enum svc_code,
		    const char *, ...) __attribute__((format (printf, 3, 4)));

/* Adds one {field, problem} detail (problem is a printf format). */
void		svc_error_detail(struct svc_error *, const char *,
		    const char *, ...) __attribute__((format (printf, 3, 4)));

int		svc_code_status(enum svc_code);
const char	*svc_code_name(enum svc_code);

/* Maps an HTTP status raised by Kore's own layer to our code. */
enum svc_code	svc_code_from_status(int);

/*
 * Renders the contract's error body into buf (pure: no I/O).  For
 * SVC_INTERNAL the message is replaced by a fixed text so that no detail
 * ever leaks.
 */
void		svc_error_render(const struct svc_error *, const char *,
		    struct kore_buf *);

#endif
