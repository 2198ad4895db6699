/*
 * fuzz_json.c - the JSON parser and schema validator with a body of the
 * shape crm-api's POST /orders takes (ids, an item list, a nested address
 * with a format check), then the item-list parser on what passed, and the
 * error rendering of what did not.
 */

#include <sys/types.h>

#include <kore/kore.h>

#include "fmt.h"
#include "fuzz.h"
#include "items.h"
#include "json.h"
#include "svc_error.h"

static const struct json_field item_fields[] = {
	ITEM_FIELDS(1000),
};
static const struct json_schema item_schema = JSON_SCHEMA(item_fields);

static const struct json_field address_fields[] = {
	{ "line1", JSON_STRING, JSON_REQUIRED, 1, 200, NULL, NULL, NULL },
	{ "postal_code", JSON_STRING, JSON_REQUIRED, 1, 16, NULL, NULL, NULL },
	{ "country", JSON_STRING, JSON_REQUIRED, 2, 2,
	    fmt_country, "must be an ISO 3166-1 alpha-2 code", NULL },
	{ "note", JSON_STRING, JSON_OPTIONAL | JSON_NULLABLE, 0, 0,
	    NULL, NULL, NULL },
};
static const struct json_schema address_schema =
    JSON_SCHEMA(address_fields);

static const struct json_field body_fields[] = {
	{ "customer_id", JSON_STRING, JSON_REQUIRED, 36, 36,
	    fmt_uuid, "must be a lower-case UUID", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, 100,
	    NULL, NULL, &item_schema },
	{ "shipping_address", JSON_OBJECT, JSON_REQUIRED, 0, 0,
	    NULL, NULL, &address_schema },
	{ "express", JSON_BOOL, JSON_OPTIONAL, 0, 0, NULL, NULL, NULL },
	{ "weight", JSON_NUMBER, JSON_OPTIONAL, 0, 0, NULL, NULL, NULL },
};
static const struct json_schema body_schema = JSON_SCHEMA(body_fields);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_value	*v;
	struct svc_error	err;
	struct items		it;
	struct kore_buf		out;

	kore_buf_init(&out, 256);

	svc_error_init(&err);
	if ((v = json_parse(data, size, &body_schema, &err)) != NULL) {
		svc_error_init(&err);
		(void)items_parse(json_get_array(v, "items"), &it, &err);
		items_free(&it);
		json_free(v);
	}
	if (err.code != SVC_NONE)
		svc_error_render(&err, "fuzz", &out);

	/* Schema-less, as an upstream answer is read. */
	svc_error_init(&err);
	if ((v = json_parse(data, size, NULL, &err)) != NULL)
		json_free(v);

	kore_buf_cleanup(&out);
	return (0);
}
