/*
 * svc_int.h - platform-internal glue between svc.c, respond.c and
 * health.c; not for applications.
 */

#ifndef __H_SVC_INT_H
#define __H_SVC_INT_H

struct http_request;
struct svc_req;
struct kore_buf;

struct svc_req	*svc_req_ensure(struct http_request *);
void		svc_finish(struct http_request *, int);
int		svc_request_id_new(char *, size_t);
void		svc_respond_text(struct http_request *, int, const char *,
		    struct kore_buf *);

#endif
