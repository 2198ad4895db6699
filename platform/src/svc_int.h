/*
 * svc_int.h - the platform's own use of a request's state (request.c) and
 * of its answers (respond.c); not for applications.
 */

#ifndef __H_SVC_INT_H
#define __H_SVC_INT_H

#include <stddef.h>

struct http_request;
struct svc_req;
struct kore_buf;

/* request.c */
struct svc_req	*svc_req_ensure(struct http_request *);
void		svc_finish(struct http_request *, int);
int		svc_request_id_new(char *, size_t);
void		svc_request_ids_reset(void);

/* respond.c */
void		svc_respond_text(struct http_request *, int, const char *,
		    struct kore_buf *);

#endif
