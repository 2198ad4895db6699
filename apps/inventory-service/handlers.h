/*
 * handlers.h - inventory-service's Kore page handlers, named in
 * conf/inventory-service.conf.
 */

#ifndef __H_INVENTORY_HANDLERS_H
#define __H_INVENTORY_HANDLERS_H

struct http_request;

int	inventory_item(struct http_request *);
int	inventory_reserve(struct http_request *);
int	inventory_commit(struct http_request *);
int	inventory_release(struct http_request *);

#endif
