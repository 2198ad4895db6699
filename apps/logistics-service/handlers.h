/*
 * handlers.h - logistics-service's Kore page handlers, named in
 * conf/logistics-service.conf, and the tables they plan with.
 */

#ifndef __H_LOGISTICS_HANDLERS_H
#define __H_LOGISTICS_HANDLERS_H

struct http_request;
struct plan_data;

/* Loaded by the parent at start (service.c). */
extern const struct plan_data	*logistics_plan;

int	logistics_create(struct http_request *);
int	logistics_shipment(struct http_request *);

#endif
