/*
 * handlers.h - crm-api's Kore page handlers, named in conf/crm-api.conf.
 */

#ifndef __H_CRM_HANDLERS_H
#define __H_CRM_HANDLERS_H

struct http_request;

int	crm_customer_create(struct http_request *);
int	crm_customer_get(struct http_request *);
int	crm_order_create(struct http_request *);
int	crm_order_get(struct http_request *);

#endif
