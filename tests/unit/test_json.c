/*
 * test_json.c - strict request parsing, schema validation and the writer.
 */

#include <stdint.h>

#include "unit.h"
#include "fmt.h"
#include "json.h"
#include "json_writer.h"
#include "svc_error.h"

static const struct json_field	item_fields[] = {
	{ "product_id", JSON_STRING, JSON_REQUIRED, 0, 0, fmt_product_id,
	    "must be a product id", NULL },
	{ "quantity", JSON_INTEGER, JSON_REQUIRED, 1, 1000, NULL, NULL, NULL },
};
static const struct json_schema	item_schema = JSON_SCHEMA(item_fields);

static const struct json_field	addr_fields[] = {
	{ "line1", JSON_STRING, JSON_REQUIRED, 1, 200, NULL, NULL, NULL },
	{ "city", JSON_STRING, JSON_REQUIRED, 1, 100, NULL, NULL, NULL },
	{ "postal_code", JSON_STRING, JSON_REQUIRED, 1, 16, NULL, NULL, NULL },
	{ "country", JSON_STRING, JSON_REQUIRED, 0, 0, fmt_country,
	    "must be an ISO 3166-1 alpha-2 code", NULL },
};
static const struct json_schema	addr_schema = JSON_SCHEMA(addr_fields);

static const struct json_field	tag_item = {
	NULL, JSON_STRING, JSON_REQUIRED, 1, 3, NULL, NULL, NULL
};
static const struct json_schema	tags_schema = { NULL, 0, &tag_item };

static const struct json_field	order_fields[] = {
	{ "customer_id", JSON_STRING, JSON_REQUIRED, 0, 0, fmt_uuid,
	    "must be a lower-case UUID", NULL },
	{ "items", JSON_ARRAY, JSON_REQUIRED, 1, 100, NULL, NULL,
	    &item_schema },
	{ "shipping_address", JSON_OBJECT, JSON_REQUIRED, 0, 0, NULL, NULL,
	    &addr_schema },
	{ "note", JSON_STRING, JSON_NULLABLE, 0, 5, NULL, NULL, NULL },
	{ "gift", JSON_BOOL, JSON_OPTIONAL, 0, 0, NULL, NULL, NULL },
	{ "tags", JSON_ARRAY, JSON_OPTIONAL, 0, 2, NULL, NULL, &tags_schema },
	{ "big", JSON_INTEGER, JSON_OPTIONAL, 0, 0, NULL, NULL, NULL },
	{ "weight", JSON_NUMBER, JSON_OPTIONAL, 0, 0, NULL, NULL, NULL },
};
static const struct json_schema	order_schema = JSON_SCHEMA(order_fields);

#define CUST	"\"customer_id\":\"0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e\""
#define ITEMS	"\"items\":[{\"product_id\":\"SKU-1\",\"quantity\":2}]"
#define ADDR	"\"shipping_address\":{\"line1\":\"1 Main St\",\"city\":" \
		"\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\"}"
#define VALID	"{" CUST "," ITEMS "," ADDR "}"

static struct svc_error	err;

static struct json_value *
parse(const char *s)
{
	svc_error_init(&err);
	return (json_parse((const u_int8_t *)s, strlen(s), &order_schema,
	    &err));
}

static struct json_value *
parse_len(const char *s, size_t len, const struct json_schema *schema)
{
	svc_error_init(&err);
	return (json_parse((const u_int8_t *)s, len, schema, &err));
}

/* 1 when err holds exactly this {field, problem} detail. */
static int
has(const char *field, const char *problem)
{
	size_t		i;

	for (i = 0; i < err.ndetails; i++) {
		if (strcmp(err.details[i].field, field) == 0 &&
		    strcmp(err.details[i].problem, problem) == 0)
			return (1);
	}

	return (0);
}

static void
dump(void)
{
	size_t		i;

	fprintf(stderr, "code %s: %s\n", svc_code_name(err.code),
	    err.message);
	for (i = 0; i < err.ndetails; i++) {
		fprintf(stderr, "  %s: %s\n", err.details[i].field,
		    err.details[i].problem);
	}
}

#define EXPECT(f, p)	do {						\
	if (!has((f), (p))) {						\
		dump();							\
		ck_abort_msg("missing detail %s: %s", (f), (p));	\
	}								\
} while (0)

START_TEST(valid_order)
{
	struct json_value	*v;
	const struct json_value	*items, *it, *addr;
	int64_t			q;

	v = parse(VALID);
	if (v == NULL)
		dump();
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(err.code, SVC_NONE);

	ck_assert_str_eq(json_get_string(v, "customer_id"),
	    "0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e");
	items = json_get_array(v, "items");
	ck_assert_uint_eq(json_array_len(items), 1);
	it = json_array_at(items, 0);
	ck_assert_str_eq(json_get_string(it, "product_id"), "SKU-1");
	ck_assert(json_get_int(it, "quantity", &q));
	ck_assert_int_eq(q, 2);
	ck_assert_ptr_null(json_array_at(items, 1));
	addr = json_get_object(v, "shipping_address");
	ck_assert_str_eq(json_get_string(addr, "country"), "DE");

	/* Wrong-type accessors answer "absent". */
	ck_assert_ptr_null(json_get_string(v, "items"));
	ck_assert_ptr_null(json_get_object(v, "items"));
	ck_assert(!json_get_int(v, "customer_id", &q));
	ck_assert_ptr_null(json_get_string(v, "nope"));

	json_free(v);
}
END_TEST

START_TEST(missing_fields)
{
	ck_assert_ptr_null(parse("{}"));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	ck_assert_uint_eq(err.ndetails, 3);
	EXPECT("customer_id", "is required");
	EXPECT("items", "is required");
	EXPECT("shipping_address", "is required");

	ck_assert_ptr_null(parse("{" CUST "," ITEMS ","
	    "\"shipping_address\":{\"line1\":\"x\"}}"));
	ck_assert_uint_eq(err.ndetails, 3);
	EXPECT("shipping_address.city", "is required");
	EXPECT("shipping_address.postal_code", "is required");
	EXPECT("shipping_address.country", "is required");
}
END_TEST

START_TEST(wrong_types)
{
	ck_assert_ptr_null(parse("{\"customer_id\":5,\"items\":{},"
	    "\"shipping_address\":[],\"gift\":\"yes\",\"note\":1,"
	    "\"weight\":\"1\"}"));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	ck_assert_uint_eq(err.ndetails, 6);
	EXPECT("customer_id", "must be a string");
	EXPECT("items", "must be an array");
	EXPECT("shipping_address", "must be an object");
	EXPECT("gift", "must be a boolean");
	EXPECT("note", "must be a string");
	EXPECT("weight", "must be a number");
}
END_TEST

START_TEST(nested_paths)
{
	ck_assert_ptr_null(parse("{" CUST ",\"items\":["
	    "{\"product_id\":\"sku-1\",\"quantity\":2},"
	    "{\"product_id\":\"SKU-2\",\"quantity\":0},"
	    "{\"product_id\":\"SKU-3\",\"quantity\":1001},"
	    "{\"product_id\":\"SKU-4\"},"
	    "5],"
	    "\"shipping_address\":{\"line1\":\"\",\"city\":\"B\","
	    "\"postal_code\":\"1\",\"country\":\"XX\"}}"));
	ck_assert_uint_eq(err.ndetails, 7);
	EXPECT("items[0].product_id", "must be a product id");
	EXPECT("items[1].quantity", "must be between 1 and 1000");
	EXPECT("items[2].quantity", "must be between 1 and 1000");
	EXPECT("items[3].quantity", "is required");
	EXPECT("items[4]", "must be an object");
	EXPECT("shipping_address.line1", "must not be empty");
	EXPECT("shipping_address.country",
	    "must be an ISO 3166-1 alpha-2 code");
}
END_TEST

START_TEST(unknown_fields)
{
	ck_assert_ptr_null(parse("{" CUST ",\"items\":[{\"product_id\":"
	    "\"SKU-1\",\"quantity\":1,\"colour\":\"red\"}]," ADDR
	    ",\"extra\":null}"));
	ck_assert_uint_eq(err.ndetails, 2);
	EXPECT("items[0].colour", "unknown field");
	EXPECT("extra", "unknown field");
}
END_TEST

START_TEST(duplicate_keys)
{
	ck_assert_ptr_null(parse("{" CUST "," CUST "," ITEMS "," ADDR "}"));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("customer_id", "duplicate key");

	ck_assert_ptr_null(parse("{" CUST ",\"items\":[{\"product_id\":"
	    "\"SKU-1\",\"quantity\":1},{\"product_id\":\"SKU-2\","
	    "\"quantity\":1,\"quantity\":2}]," ADDR "}"));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("items[1].quantity", "duplicate key");

	/* Also without a schema. */
	ck_assert_ptr_null(parse_len("{\"a\":{\"b\":1,\"b\":1}}", 19, NULL));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("a.b", "duplicate key");
}
END_TEST

static const char	*malformed[] = {
	"",
	"   ",
	"not json",
	"{",
	"{\"a\":}",
	"{\"a\":1,}",
	"{'a':1}",
	"{\"a\":1} {\"b\":2}",
	"{\"a\":1}x",
	"{\"a\":1 /* comment */}",
	"[]",
	"[1,2]",
	"\"string\"",
	"42",
	"null",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"\xc0\xaf\"}",
	"{\"a\":\"\xed\xa0\x80\"}",
	"{\"\xfe\":1}",
	"{\"a\":01}",
	"{\"a\":NaN}",
	"{\"a\":\"tab\there\"}",
	/* Issue 12 L1: lone or mismatched UTF-16 surrogate escapes. */
	"{\"a\":\"\\ud800\"}",
	"{\"a\":\"\\uD800\\u0041\"}",
	"{\"a\":\"x\\udbffyz\"}",
	"{\"a\":\"\\ud800\\ud800\"}",
	"{\"a\":\"\\udc00\"}",
	"{\"a\":\"\\ude00\\ud83d\"}",
	"{\"a\":\"\\ud83d\\\\ude00\"}",
	"{\"\\ud800\":1}",
	"{\"a\":[\"ok\",\"\\ud800\\n\"]}",
};

START_TEST(malformed_bodies)
{
	struct json_value	*v;

	v = parse_len(malformed[_i], strlen(malformed[_i]), NULL);
	if (v != NULL)
		ck_abort_msg("accepted: '%s'", malformed[_i]);
	if (err.code != SVC_MALFORMED_JSON) {
		dump();
		ck_abort_msg("'%s' not malformed_json", malformed[_i]);
	}
	ck_assert_uint_eq(err.ndetails, 0);
}
END_TEST

START_TEST(int64_bounds)
{
	struct json_value	*v;
	int64_t			i;

	v = parse("{" CUST "," ITEMS "," ADDR
	    ",\"big\":9223372036854775807}");
	ck_assert_ptr_nonnull(v);
	ck_assert(json_get_int(v, "big", &i));
	ck_assert(i == INT64_MAX);
	json_free(v);

	v = parse("{" CUST "," ITEMS "," ADDR
	    ",\"big\":-9223372036854775808}");
	ck_assert_ptr_nonnull(v);
	ck_assert(json_get_int(v, "big", &i));
	ck_assert(i == INT64_MIN);
	json_free(v);

	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"big\":9223372036854775808}"));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("big", "is out of range");

	ck_assert_ptr_null(parse("{" CUST "," ADDR ",\"items\":[{"
	    "\"product_id\":\"SKU-1\",\"quantity\":"
	    "-99999999999999999999999999999999999999999999999999999999999999"
	    "99999999999999999999}]}"));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("items[0].quantity", "must be between 1 and 1000");
}
END_TEST

START_TEST(floats_for_integers)
{
	struct json_value	*v;
	double			d;

	ck_assert_ptr_null(parse("{" CUST "," ADDR ",\"items\":["
	    "{\"product_id\":\"SKU-1\",\"quantity\":1.5},"
	    "{\"product_id\":\"SKU-2\",\"quantity\":1e2},"
	    "{\"product_id\":\"SKU-3\",\"quantity\":2.0},"
	    "{\"product_id\":\"SKU-4\",\"quantity\":\"2\"},"
	    "{\"product_id\":\"SKU-5\",\"quantity\":true}]}"));
	ck_assert_uint_eq(err.ndetails, 5);
	EXPECT("items[0].quantity", "must be an integer");
	EXPECT("items[1].quantity", "must be an integer");
	EXPECT("items[2].quantity", "must be an integer");
	EXPECT("items[3].quantity", "must be an integer");
	EXPECT("items[4].quantity", "must be an integer");

	/* A JSON_NUMBER field takes both. */
	v = parse("{" CUST "," ITEMS "," ADDR ",\"weight\":2.25}");
	ck_assert_ptr_nonnull(v);
	ck_assert(json_get_number(v, "weight", &d));
	ck_assert(d == 2.25);
	json_free(v);

	v = parse("{" CUST "," ITEMS "," ADDR ",\"weight\":3}");
	ck_assert_ptr_nonnull(v);
	ck_assert(json_get_number(v, "weight", &d));
	ck_assert(d == 3.0);
	json_free(v);

	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"weight\":1e999}"));
	EXPECT("weight", "is out of range");
}
END_TEST

START_TEST(utf8_lengths)
{
	struct json_value	*v;

	/* 5 characters, 10 bytes: fits max 5. */
	v = parse("{" CUST "," ITEMS "," ADDR
	    ",\"note\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(strlen(json_get_string(v, "note")), 10);
	json_free(v);

	/* Escapes count as the character they stand for (U+1F600). */
	v = parse("{" CUST "," ITEMS "," ADDR
	    ",\"note\":\"\\ud83d\\ude00abcd\"}");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_get_string(v, "note"), "\xf0\x9f\x98\x80" "abcd");
	json_free(v);

	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"note\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("note", "must be at most 5 characters");

	ck_assert_uint_eq(json_utf8_len("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    10), 4);
}
END_TEST

/*
 * A correct pair decodes to its code point; an escaped backslash escapes
 * nothing after it.
 */
START_TEST(surrogate_pairs)
{
	struct json_value	*v;
	const char		*body;

	body = "{\"a\":\"\\ud83d\\ude00\\uD834\\uDD1E\","
	    "\"\\udbff\\udfff\":\"\\\\ud800\"}";
	v = parse_len(body, strlen(body), NULL);
	if (v == NULL) {
		dump();
		ck_abort_msg("refused");
	}
	ck_assert_str_eq(json_get_string(v, "a"),
	    "\xf0\x9f\x98\x80" "\xf0\x9d\x84\x9e");
	ck_assert_str_eq(json_get_string(v, "\xf4\x8f\xbf\xbf"), "\\ud800");
	json_free(v);
}
END_TEST

START_TEST(nullable_and_null)
{
	struct json_value	*v;

	v = parse("{" CUST "," ITEMS "," ADDR ",\"note\":null}");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(json_get_string(v, "note"));
	json_free(v);

	ck_assert_ptr_null(parse("{\"customer_id\":null," ITEMS "," ADDR
	    ",\"gift\":null}"));
	ck_assert_uint_eq(err.ndetails, 2);
	EXPECT("customer_id", "is required (not null)");
	EXPECT("gift", "must be a boolean");
}
END_TEST

START_TEST(nul_in_strings)
{
	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"note\":\"a\\u0000b\"}"));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	EXPECT("note", "must not contain NUL characters");
}
END_TEST

START_TEST(array_bounds)
{
	struct kore_buf		b;
	int			i;

	ck_assert_ptr_null(parse("{" CUST ",\"items\":[]," ADDR "}"));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("items", "must have at least 1 item");

	kore_buf_init(&b, 4096);
	kore_buf_appendf(&b, "{" CUST "," ADDR ",\"items\":[");
	for (i = 0; i < 101; i++) {
		kore_buf_appendf(&b, "%s{\"product_id\":\"P%d\","
		    "\"quantity\":1}", i ? "," : "", i);
	}
	kore_buf_appendf(&b, "]}");
	ck_assert_ptr_null(parse_len((const char *)b.data, b.offset,
	    &order_schema));
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("items", "must have at most 100 items");
	kore_buf_cleanup(&b);

	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"tags\":[\"abcd\",1]}"));
	ck_assert_uint_eq(err.ndetails, 2);
	EXPECT("tags[0]", "must be at most 3 characters");
	EXPECT("tags[1]", "must be a string");

	ck_assert_ptr_null(parse("{" CUST "," ITEMS "," ADDR
	    ",\"tags\":[\"a\",\"b\",\"c\"]}"));
	EXPECT("tags", "must have at most 2 items");
}
END_TEST

START_TEST(depth_limit)
{
	struct kore_buf		b;
	struct json_value	*v;
	int			i;

	/* JSON_MAX_DEPTH containers: accepted. */
	kore_buf_init(&b, 256);
	kore_buf_appendf(&b, "{\"a\":");
	for (i = 1; i < JSON_MAX_DEPTH; i++)
		kore_buf_appendf(&b, "[");
	for (i = 1; i < JSON_MAX_DEPTH; i++)
		kore_buf_appendf(&b, "]");
	kore_buf_appendf(&b, "}");
	v = parse_len((const char *)b.data, b.offset, NULL);
	ck_assert_ptr_nonnull(v);
	json_free(v);
	kore_buf_cleanup(&b);

	/* One more: refused with the path where it happened. */
	kore_buf_init(&b, 256);
	kore_buf_appendf(&b, "{\"a\":");
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		kore_buf_appendf(&b, "[");
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		kore_buf_appendf(&b, "]");
	kore_buf_appendf(&b, "}");
	ck_assert_ptr_null(parse_len((const char *)b.data, b.offset, NULL));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	ck_assert_uint_eq(err.ndetails, 1);
	EXPECT("a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]",
	    "nested too deeply");
	kore_buf_cleanup(&b);
}
END_TEST

START_TEST(size_limits)
{
	struct kore_buf		b;
	char			*big;
	int			i;

	kore_buf_init(&b, 32768);
	kore_buf_appendf(&b, "{\"n\":[");
	for (i = 0; i < JSON_MAX_NODES + 10; i++)
		kore_buf_appendf(&b, "%s1", i ? "," : "");
	kore_buf_appendf(&b, "]}");
	ck_assert_ptr_null(parse_len((const char *)b.data, b.offset, NULL));
	ck_assert_int_eq(err.code, SVC_VALIDATION_FAILED);
	ck_assert_uint_eq(err.ndetails, 1);
	/* Root and the array are 2 nodes: the 4095th number is refused. */
	EXPECT("n[4094]", "too many values in the body");
	kore_buf_cleanup(&b);

	big = malloc(JSON_MAX_STRING + 2);
	memset(big, 'x', JSON_MAX_STRING + 1);
	big[JSON_MAX_STRING + 1] = '\0';
	kore_buf_init(&b, JSON_MAX_STRING + 64);
	kore_buf_appendf(&b, "{\"s\":\"%s\"}", big);
	ck_assert_ptr_null(parse_len((const char *)b.data, b.offset, NULL));
	EXPECT("s", "string is too long for this service");
	kore_buf_cleanup(&b);
	free(big);
}
END_TEST

START_TEST(every_problem_reported)
{
	struct kore_buf		b;
	int			i;

	kore_buf_init(&b, 4096);
	kore_buf_appendf(&b, "{\"items\":[");
	for (i = 0; i < 40; i++)
		kore_buf_appendf(&b, "%s{\"quantity\":0}", i ? "," : "");
	kore_buf_appendf(&b, "]}");
	ck_assert_ptr_null(parse_len((const char *)b.data, b.offset,
	    &order_schema));
	/* 2 root + 80 item problems: 32 kept, the rest counted. */
	ck_assert_uint_eq(err.ndetails, SVC_ERROR_MAXDETAILS);
	ck_assert_uint_eq(err.ndropped, 82 - SVC_ERROR_MAXDETAILS);
	EXPECT("customer_id", "is required");
	EXPECT("items[0].product_id", "is required");
	EXPECT("items[0].quantity", "must be between 1 and 1000");
	kore_buf_cleanup(&b);
}
END_TEST

START_TEST(writer_shape)
{
	struct kore_buf		b;
	struct json_writer	jw;

	kore_buf_init(&b, 128);
	jw_init(&jw, &b);
	jw_object_open(&jw, NULL);
	jw_string(&jw, "s", "v");
	jw_string(&jw, "n", NULL);
	jw_int(&jw, "min", INT64_MIN);
	jw_int(&jw, "max", INT64_MAX);
	jw_bool(&jw, "t", 1);
	jw_bool(&jw, "f", 0);
	jw_double(&jw, "d", 0.5);
	jw_double(&jw, "inf", 1.0 / 0.0);
	jw_array_open(&jw, "a");
	jw_int(&jw, NULL, 1);
	jw_object_open(&jw, NULL);
	jw_object_close(&jw);
	jw_array_open(&jw, NULL);
	jw_array_close(&jw);
	jw_null(&jw, NULL);
	jw_array_close(&jw);
	jw_object_open(&jw, "o");
	jw_stringn(&jw, "k", "abcdef", 3);
	jw_object_close(&jw);
	jw_object_close(&jw);

	ck_assert_str_eq(unit_cstr(&b), "{\"s\":\"v\",\"n\":null,"
	    "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	    "\"t\":true,\"f\":false,\"d\":0.5,\"inf\":null,"
	    "\"a\":[1,{},[],null],\"o\":{\"k\":\"abc\"}}");
	yajl_tree_free(unit_json(&b));
	kore_buf_cleanup(&b);
}
END_TEST

START_TEST(writer_escaping)
{
	struct kore_buf		b;
	yajl_val		v;
	const char		*path[] = { "k\"\\\n", NULL };
	char			all[128];
	int			i;

	kore_buf_init(&b, 128);
	jw_escape(&b, "q\"b\\s/n\nr\rt\tb\bf\f\x01\x1f\x7f", 19);
	ck_assert_str_eq(unit_cstr(&b),
	    "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\\u007f\"");
	kore_buf_reset(&b);

	/* Invalid UTF-8 becomes U+FFFD; valid multi-byte is kept as is. */
	jw_escape(&b, "a\xff" "b\xc3\xa9" "c\xe2\x80\xa8" "d\xc0\xaf", 12);
	ck_assert_str_eq(unit_cstr(&b),
	    "\"a\\ufffdb\xc3\xa9" "c\\u2028d\\ufffd\\ufffd\"");
	kore_buf_reset(&b);

	/* Truncated sequence at the end. */
	jw_escape(&b, "x\xe2\x82", 3);
	ck_assert_str_eq(unit_cstr(&b), "\"x\\ufffd\\ufffd\"");
	kore_buf_reset(&b);

	/* Every ASCII byte round-trips through a real parser, keys too. */
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	{
		struct json_writer	jw;
		yajl_val		s;
		const char		*p2[] = { "all", NULL };

		jw_init(&jw, &b);
		jw_object_open(&jw, NULL);
		jw_string(&jw, "all", all);
		jw_string(&jw, "k\"\\\n", "v");
		jw_object_close(&jw);
		v = unit_json(&b);
		s = yajl_tree_get(v, p2, yajl_t_string);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(YAJL_GET_STRING(s), all);
		ck_assert_str_eq(unit_str(v, path), "v");
		yajl_tree_free(v);
	}
	kore_buf_cleanup(&b);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("json");
	tc = tcase_create("parse");
	tcase_add_test(tc, valid_order);
	tcase_add_test(tc, missing_fields);
	tcase_add_test(tc, wrong_types);
	tcase_add_test(tc, nested_paths);
	tcase_add_test(tc, unknown_fields);
	tcase_add_test(tc, duplicate_keys);
	tcase_add_loop_test(tc, malformed_bodies, 0,
	    sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, int64_bounds);
	tcase_add_test(tc, floats_for_integers);
	tcase_add_test(tc, utf8_lengths);
	tcase_add_test(tc, surrogate_pairs);
	tcase_add_test(tc, nullable_and_null);
	tcase_add_test(tc, nul_in_strings);
	tcase_add_test(tc, array_bounds);
	tcase_add_test(tc, depth_limit);
	tcase_add_test(tc, size_limits);
	tcase_add_test(tc, every_problem_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_test(tc, writer_shape);
	tcase_add_test(tc, writer_escaping);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(json_suite()));
}
