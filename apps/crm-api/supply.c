/*
 * supply.c - what crm-api's two ways of forwarding an order (the request
 * itself, orders.c, and the outbox dispatcher, outbox.c) share: the call
 * to the supply-order hub's POST /supply-orders and the reading of its
 * answer;
 * and the path id of GET /customers/:id and GET /orders/:id.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "crm.h"
#include "fmt.h"
#include "json.h"
#include "path.h"
#include "svc_error.h"
#include "upstream.h"
#include "service_decl.h"

void
supply_request(struct upstream_req *ureq, const char *body,
    u_int32_t attempt_ms, u_int32_t budget_ms)
{
	memset(ureq, 0, sizeof(*ureq));
	ureq->target = UPSTREAM_ORDER_SERVICE;
	ureq->method = HTTP_METHOD_POST;
	ureq->path = "/supply-orders";
	ureq->body = body;
	ureq->body_len = strlen(body);
	/* crm_order_id is the hub's idempotency key: safe to resend. */
	ureq->flags = UPSTREAM_RETRYABLE;
	ureq->attempt_timeout_ms = attempt_ms;
	ureq->budget_ms = budget_ms;
}

char *
supply_result(const struct upstream_call *up)
{
	struct svc_error	err;
	struct json_value	*doc;
	const struct json_value	*e;
	const u_int8_t		*body;
	const char		*code;
	char			*out;
	size_t			len;
	int			status;

	status = upstream_status(up);
	if (status == 200 || status == 201) {
		upstream_body(up, &body, &len);
		out = kore_malloc(len + 1);
		memcpy(out, body, len);
		out[len] = '\0';
		return (out);
	}
	if (status != 409 && status != 422)
		return (NULL);

	/* A refusal by rule is final too: the order is rejected. */
	svc_error_init(&err);
	if ((doc = upstream_json(up, &err)) == NULL)
		return (NULL);
	out = NULL;
	if ((e = json_get_object(doc, "error")) != NULL &&
	    (code = json_get_string(e, "code")) != NULL &&
	    (!strcmp(code, "insufficient_stock") ||
	    !strcmp(code, "unknown_product"))) {
		len = strlen(code) + 40;
		out = kore_malloc(len);
		(void)snprintf(out, len,
		    "{\"status\":\"rejected\",\"reason\":\"%s\"}", code);
	}
	json_free(doc);
	return (out);
}

void
supply_failure(const struct upstream_call *up, char *out, size_t len)
{
	if (upstream_result(up) == UPSTREAM_FAILED)
		(void)snprintf(out, len, "%s unavailable (last status %d)",
		    upstream_target_name(UPSTREAM_ORDER_SERVICE),
		    upstream_status(up));
	else
		(void)snprintf(out, len, "%s answered %d",
		    upstream_target_name(UPSTREAM_ORDER_SERVICE),
		    upstream_status(up));
}
