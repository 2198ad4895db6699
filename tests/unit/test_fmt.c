/*
 * test_fmt.c - shared format checks and generators.
 */

#include <time.h>

#include "unit.h"
#include "fmt.h"

START_TEST(uuid_check)
{
	ck_assert(fmt_uuid("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e"));
	ck_assert(fmt_uuid("00000000-0000-0000-0000-000000000000"));
	ck_assert(!fmt_uuid("0B7E4A4E-8C1F-4B3A-9D2E-1F2A3B4C5D6E"));
	ck_assert(!fmt_uuid("0b7e4a4e8c1f4b3a9d2e1f2a3b4c5d6e"));
	ck_assert(!fmt_uuid("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6"));
	ck_assert(!fmt_uuid("0b7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e0"));
	ck_assert(!fmt_uuid("0b7e4a4e-8c1f-4b3a-9d2e_1f2a3b4c5d6e"));
	ck_assert(!fmt_uuid("gb7e4a4e-8c1f-4b3a-9d2e-1f2a3b4c5d6e"));
	ck_assert(!fmt_uuid(""));
	ck_assert(!fmt_uuid(NULL));
}
END_TEST

START_TEST(uuid_generate)
{
	char		a[FMT_UUID_LEN + 1], b[FMT_UUID_LEN + 1];
	int		i;

	for (i = 0; i < 100; i++) {
		ck_assert(fmt_uuid_generate(a, sizeof(a)));
		ck_assert(fmt_uuid_generate(b, sizeof(b)));
		ck_assert_msg(fmt_uuid(a), "not canonical: %s", a);
		ck_assert_str_ne(a, b);
		ck_assert_int_eq(a[14], '4');
		ck_assert(a[19] == '8' || a[19] == '9' || a[19] == 'a' ||
		    a[19] == 'b');
		ck_assert(fmt_request_id(a));
	}

	ck_assert(!fmt_uuid_generate(a, FMT_UUID_LEN));
}
END_TEST

START_TEST(product_id)
{
	char		max[66];

	ck_assert(fmt_product_id("SKU-1"));
	ck_assert(fmt_product_id("AB"));
	ck_assert(fmt_product_id("9-"));
	ck_assert(!fmt_product_id("A"));
	ck_assert(!fmt_product_id("-AB"));
	ck_assert(!fmt_product_id("sku-1"));
	ck_assert(!fmt_product_id("SKU_1"));
	ck_assert(!fmt_product_id("SKU 1"));
	ck_assert(!fmt_product_id(""));

	memset(max, 'A', 64);
	max[64] = '\0';
	ck_assert(fmt_product_id(max));
	max[64] = 'A';
	max[65] = '\0';
	ck_assert(!fmt_product_id(max));
}
END_TEST

START_TEST(email)
{
	ck_assert(fmt_email("a@b.co"));
	ck_assert(fmt_email("first.last+tag@example.com"));
	ck_assert(fmt_email("x@sub.example-domain.org"));
	ck_assert(!fmt_email("a@b"));
	ck_assert(!fmt_email("a@b."));
	ck_assert(!fmt_email("a@b.c"));
	ck_assert(!fmt_email("@b.com"));
	ck_assert(!fmt_email("a@.com"));
	ck_assert(!fmt_email("a@@b.com"));
	ck_assert(!fmt_email("a@b@c.com"));
	ck_assert(!fmt_email("a b@c.com"));
	ck_assert(!fmt_email("a..b@c.com"));
	ck_assert(!fmt_email(".a@c.com"));
	ck_assert(!fmt_email("a@-c.com"));
	ck_assert(!fmt_email("a@c-.com"));
	ck_assert(!fmt_email("a@c..com"));
	ck_assert(!fmt_email("a@c_d.com"));
	ck_assert(!fmt_email("\xc3\xa9@c.com"));
	ck_assert(!fmt_email(""));
}
END_TEST

START_TEST(country)
{
	ck_assert(fmt_country("DE"));
	ck_assert(fmt_country("US"));
	ck_assert(fmt_country("AD"));
	ck_assert(fmt_country("ZW"));
	ck_assert(fmt_country("GB"));
	ck_assert(!fmt_country("XX"));
	ck_assert(!fmt_country("UK"));
	ck_assert(!fmt_country("de"));
	ck_assert(!fmt_country("DEU"));
	ck_assert(!fmt_country("D"));
	ck_assert(!fmt_country(""));
}
END_TEST

START_TEST(postal_code)
{
	ck_assert(fmt_postal_code("10115"));
	ck_assert(fmt_postal_code("SW1A 1AA"));
	ck_assert(fmt_postal_code("00-001"));
	ck_assert(fmt_postal_code("k1a 0b1"));
	ck_assert(fmt_postal_code("Z"));
	ck_assert(fmt_postal_code("1234567890123456"));
	ck_assert(!fmt_postal_code("12345678901234567"));
	ck_assert(!fmt_postal_code(""));
	ck_assert(!fmt_postal_code(" 10115"));
	ck_assert(!fmt_postal_code("-1"));
	ck_assert(!fmt_postal_code("#1"));
	ck_assert(!fmt_postal_code("10115/3"));
	ck_assert(!fmt_postal_code("1\t2"));
	ck_assert(!fmt_postal_code("\xc3\xa4" "1"));
	ck_assert(!fmt_postal_code(NULL));
}
END_TEST

START_TEST(rfc3339)
{
	time_t		t;
	char		buf[FMT_RFC3339_LEN];
	struct timespec	ts;

	ck_assert(fmt_rfc3339_parse("2026-11-26T04:00:00Z", &t));
	ck_assert_int_eq(t, 1795665600);
	ck_assert(fmt_rfc3339_parse("1970-01-01T00:00:00Z", &t));
	ck_assert_int_eq(t, 0);
	ck_assert(fmt_rfc3339_parse("2026-11-26T06:00:00.123+02:00", &t));
	ck_assert_int_eq(t, 1795665600);
	ck_assert(fmt_rfc3339_parse("2024-02-29T12:00:00Z", &t));
	ck_assert(!fmt_rfc3339("2023-02-29T12:00:00Z"));
	ck_assert(!fmt_rfc3339("2026-13-01T00:00:00Z"));
	ck_assert(!fmt_rfc3339("2026-11-26 04:00:00Z"));
	ck_assert(!fmt_rfc3339("2026-11-26T04:00:00"));
	ck_assert(!fmt_rfc3339("2026-11-26T24:00:00Z"));
	ck_assert(!fmt_rfc3339("2026-11-26T04:00:00.Z"));
	ck_assert(!fmt_rfc3339("2026-11-26T04:00:00Zjunk"));

	fmt_rfc3339_time(buf, sizeof(buf), 1795665600);
	ck_assert_str_eq(buf, "2026-11-26T04:00:00Z");

	ts.tv_sec = 1795665600;
	ts.tv_nsec = 7000000;
	fmt_rfc3339_ms(buf, sizeof(buf), &ts);
	ck_assert_str_eq(buf, "2026-11-26T04:00:00.007Z");
}
END_TEST

START_TEST(request_id)
{
	char		id[66];

	ck_assert(fmt_request_id("a"));
	ck_assert(fmt_request_id("req-1_2.3"));
	ck_assert(!fmt_request_id(""));
	ck_assert(!fmt_request_id("a b"));
	ck_assert(!fmt_request_id("a/b"));
	ck_assert(!fmt_request_id("a\r\nx-evil: 1"));
	ck_assert(!fmt_request_id("\xc3\xa9"));

	memset(id, 'x', 64);
	id[64] = '\0';
	ck_assert(fmt_request_id(id));
	id[64] = 'x';
	id[65] = '\0';
	ck_assert(!fmt_request_id(id));
}
END_TEST

START_TEST(idempotency_key)
{
	char		k[130];

	ck_assert(fmt_idempotency_key("key-1"));
	ck_assert(fmt_idempotency_key("with space and ~!@#"));
	ck_assert(!fmt_idempotency_key(""));
	ck_assert(!fmt_idempotency_key("tab\there"));
	ck_assert(!fmt_idempotency_key("caf\xc3\xa9"));

	memset(k, 'k', 128);
	k[128] = '\0';
	ck_assert(fmt_idempotency_key(k));
	k[128] = 'k';
	k[129] = '\0';
	ck_assert(!fmt_idempotency_key(k));
}
END_TEST

static Suite *
fmt_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("fmt");
	tc = tcase_create("formats");
	tcase_add_test(tc, uuid_check);
	tcase_add_test(tc, uuid_generate);
	tcase_add_test(tc, product_id);
	tcase_add_test(tc, postal_code);
	tcase_add_test(tc, email);
	tcase_add_test(tc, country);
	tcase_add_test(tc, rfc3339);
	tcase_add_test(tc, request_id);
	tcase_add_test(tc, idempotency_key);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(fmt_suite()));
}
