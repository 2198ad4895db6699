/*
 * test_tlsmem.c - OpenSSL allocates through tlsmem, which keeps freed TLS
 * record buffers for reuse (bounded) and passes everything else through.
 */

#include <openssl/crypto.h>

#include "unit.h"
#include "tlsmem.h"

/* The size OpenSSL 3 allocates for a TLS read buffer (16 KB + overhead). */
#define RECORD_LEN	16709
#define KEEP		16

START_TEST(installed)
{
	ck_assert(tlsmem_installed());
}
END_TEST

START_TEST(record_buffers_reused)
{
	void		*a, *b;
	size_t		kept;

	kept = tlsmem_kept_count();
	a = OPENSSL_malloc(RECORD_LEN);
	ck_assert_ptr_nonnull(a);
	memset(a, 0xa5, RECORD_LEN);
	OPENSSL_free(a);
	ck_assert_uint_eq(tlsmem_kept_count(), kept + 1);

	/* The same buffer comes back, for any record size that fits. */
	b = OPENSSL_malloc(RECORD_LEN - 100);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(tlsmem_kept_count(), kept);
	OPENSSL_free(b);
}
END_TEST

START_TEST(bounded)
{
	void		*p[KEEP + 8];
	size_t		i;

	for (i = 0; i < KEEP + 8; i++) {
		p[i] = OPENSSL_malloc(RECORD_LEN);
		ck_assert_ptr_nonnull(p[i]);
	}
	for (i = 0; i < KEEP + 8; i++)
		OPENSSL_free(p[i]);

	/* At most KEEP are held; the rest went back to malloc. */
	ck_assert_uint_eq(tlsmem_kept_count(), KEEP);
}
END_TEST

START_TEST(other_sizes_pass_through)
{
	void		*small, *large;
	size_t		kept;

	kept = tlsmem_kept_count();
	small = OPENSSL_malloc(64);
	large = OPENSSL_malloc(64 * 1024);
	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(large);
	OPENSSL_free(small);
	OPENSSL_free(large);
	ck_assert_uint_eq(tlsmem_kept_count(), kept);

	/* A kept buffer is never handed out for a larger request. */
	small = OPENSSL_malloc(RECORD_LEN);
	OPENSSL_free(small);
	large = OPENSSL_malloc(30 * 1024);
	ck_assert_ptr_ne(small, large);
	OPENSSL_free(large);

	/* realloc keeps the contents. */
	small = OPENSSL_malloc(16);
	memcpy(small, "tlsmem", 7);
	small = OPENSSL_realloc(small, 4096);
	ck_assert_ptr_nonnull(small);
	ck_assert_str_eq(small, "tlsmem");
	OPENSSL_free(small);
	OPENSSL_free(NULL);
}
END_TEST

static Suite *
tlsmem_suite(void)
{
	Suite		*s;
	TCase		*tc;

	s = suite_create("tlsmem");
	tc = tcase_create("allocations");
	tcase_add_test(tc, installed);
	tcase_add_test(tc, record_buffers_reused);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, other_sizes_pass_through);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	return (unit_run(tlsmem_suite()));
}
