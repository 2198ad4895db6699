/*
 * test_items.c - order lines into PostgreSQL array literals; a product
 * listed twice is a validation problem named by its place.
 */

#include "unit.h"
#include "items.h"
#include "svc_error.h"

static struct json_value *
parse(const char *text)
{
	struct svc_error	err;
	struct json_value	*v;

	svc_error_init(&err);
	v = json_parse((const u_int8_t *)text, strlen(text), NULL, &err);
	ck_assert_ptr_nonnull(v);
	return (v);
}

START_TEST(literals)
{
	struct json_value	*v;
	struct items		it;
	struct svc_error	err;

	v = parse("{\"items\":[{\"product_id\":\"A-1\",\"quantity\":2},"
	    "{\"product_id\":\"B2\",\"quantity\":1000}]}");
	svc_error_init(&err);
	ck_assert_int_eq(items_parse(json_get_array(v, "items"), &it, &err),
	    1);
	ck_assert_uint_eq(err.ndetails, 0);
	ck_assert_uint_eq(it.count, 2);
	ck_assert_str_eq(it.products, "{\"A-1\",\"B2\"}");
	ck_assert_str_eq(it.quantities, "{2,1000}");
	ck_assert_int_eq(items_index(&it, "B2"), 1);
	ck_assert_int_eq(items_index(&it, "A-1"), 0);
	ck_assert_int_eq(items_index(&it, "C"), -1);
	items_free(&it);
	ck_assert_ptr_null(it.products);
	json_free(v);
}
END_TEST

START_TEST(listed_twice)
{
	struct json_value	*v;
	struct items		it;
	struct svc_error	err;

	v = parse("{\"items\":[{\"product_id\":\"A\",\"quantity\":1},"
	    "{\"product_id\":\"B\",\"quantity\":1},"
	    "{\"product_id\":\"A\",\"quantity\":3},"
	    "{\"product_id\":\"B\",\"quantity\":4}]}");
	svc_error_init(&err);
	ck_assert_int_eq(items_parse(json_get_array(v, "items"), &it, &err),
	    0);
	ck_assert_uint_eq(err.ndetails, 2);
	ck_assert_str_eq(err.details[0].field, "items[2].product_id");
	ck_assert_str_eq(err.details[1].field, "items[3].product_id");
	ck_assert_ptr_nonnull(strstr(err.details[0].problem, "items[0]"));
	items_free(&it);
	json_free(v);
}
END_TEST

/*
 * Issue 12 M4: every element is double-quoted.  NULL is a valid product id
 * (^[A-Z0-9][A-Z0-9-]{1,63}$) that PostgreSQL reads as SQL NULL unquoted;
 * quotes and backslashes never pass the schema, escaped all the same.
 */
static const struct {
	const char	*items;
	const char	*products;
} quoted[] = {
	{ "{\"product_id\":\"NULL\",\"quantity\":1},"
	  "{\"product_id\":\"A-1\",\"quantity\":2}",
	  "{\"NULL\",\"A-1\"}" },
	{ "{\"product_id\":\"a\\\"b\",\"quantity\":1},"
	  "{\"product_id\":\"c\\\\d\",\"quantity\":2},"
	  "{\"product_id\":\"{x,y}\",\"quantity\":3}",
	  "{\"a\\\"b\",\"c\\\\d\",\"{x,y}\"}" },
};

START_TEST(elements_quoted)
{
	struct json_value	*v;
	struct items		it;
	struct svc_error	err;
	char			text[256];

	(void)snprintf(text, sizeof(text), "{\"items\":[%s]}",
	    quoted[_i].items);
	v = parse(text);
	svc_error_init(&err);
	ck_assert_int_eq(items_parse(json_get_array(v, "items"), &it, &err),
	    1);
	ck_assert_str_eq(it.products, quoted[_i].products);
	items_free(&it);
	json_free(v);
}
END_TEST

static Suite *
items_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("items");
	tc = tcase_create("items");
	tcase_add_test(tc, literals);
	tcase_add_test(tc, listed_twice);
	tcase_add_loop_test(tc, elements_quoted, 0,
	    sizeof(quoted) / sizeof(quoted[0]));
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(items_suite()));
}
