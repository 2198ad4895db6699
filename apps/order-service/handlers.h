/*
 * handlers.h - order-service's Kore page handlers, named in
 * conf/order-service.conf.
 */

#ifndef __H_ORDER_HANDLERS_H
#define __H_ORDER_HANDLERS_H

struct http_request;

int	order_create(struct http_request *);
int	order_get(struct http_request *);
int	order_audit(struct http_request *);
int	order_by_shipment(struct http_request *);

#endif
