#!/bin/sh
# selftest.sh OUTDIR - prove the sysroot is usable: compile a small C
# program against all four libraries (and the kernel/queue headers Kore
# needs) with our strict warning flags, link it fully static with musl,
# run it, and check the executable is static with no program interpreter.
# Env (set by `make deps-selftest`, tests/deps/deps-selftest.mk): MUSL_CC
# MUSL_CFLAGS MUSL_LDFLAGS DEPS_LIBS.
set -eu

out=${1:?usage: selftest.sh OUTDIR}
: "${MUSL_CC:?} ${MUSL_CFLAGS:?} ${MUSL_LDFLAGS:?} ${DEPS_LIBS:?}"
mkdir -p "$out"

cat > "$out/selftest.c" <<'EOC'
#include <sys/types.h>
#include <sys/queue.h>

#include <linux/seccomp.h>
#include <linux/filter.h>

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/opensslv.h>
#include <libpq-fe.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_version.h>
#include <curl/curl.h>

struct item {
	int			v;
	TAILQ_ENTRY(item)	list;
};

static int	ints;

static int
on_int(void *ctx, long long v)
{
	(void)ctx;
	ints += (int)v;
	return (1);
}

static int
fail(const char *what)
{
	printf("selftest: FAIL %s\n", what);
	return (1);
}

int
main(void)
{
	static const yajl_callbacks	cb = { .yajl_integer = on_int };
	static const unsigned char	json[] = "[1, 2, 39]";
	TAILQ_HEAD(, item)		head;
	struct item			it;
	struct sock_filter		insn = BPF_STMT(BPF_RET | BPF_K,
					    SECCOMP_RET_ALLOW);
	SSL_CTX				*ctx;
	PGconn				*pg;
	yajl_handle			yh;
	CURL				*curl;
	curl_version_info_data		*cv;
	const char * const		*p;

	TAILQ_INIT(&head);
	it.v = 1;
	TAILQ_INSERT_TAIL(&head, &it, list);
	if (TAILQ_FIRST(&head)->v != 1 || insn.k != SECCOMP_RET_ALLOW)
		return (fail("sys/queue.h or linux/filter.h"));

	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		return (fail("SSL_CTX_new"));
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx,
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") ||
	    !SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES256-GCM-SHA384:"
	    "ECDHE-RSA-CHACHA20-POLY1305"))
		return (fail("TLS 1.2/1.3 configuration"));
	SSL_CTX_free(ctx);

	if ((pg = PQconnectStart("host=127.0.0.1 port=1 dbname=x "
	    "sslmode=prefer")) == NULL)
		return (fail("PQconnectStart"));
	if (PQlibVersion() / 10000 != 15)
		return (fail("PQlibVersion"));
	PQfinish(pg);

	if ((yh = yajl_alloc(&cb, NULL, NULL)) == NULL)
		return (fail("yajl_alloc"));
	if (yajl_parse(yh, json, sizeof(json) - 1) != yajl_status_ok ||
	    yajl_complete_parse(yh) != yajl_status_ok || ints != 42)
		return (fail("yajl_parse"));
	yajl_free(yh);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (curl = curl_easy_init()) == NULL)
		return (fail("curl_easy_init"));
	cv = curl_version_info(CURLVERSION_NOW);
	if (cv->ssl_version == NULL ||
	    strncmp(cv->ssl_version, "OpenSSL/3.0.", 12) != 0)
		return (fail("curl TLS backend is not OpenSSL 3.0"));
	for (p = cv->protocols; *p != NULL; p++) {
		if (strcmp(*p, "http") != 0 && strcmp(*p, "https") != 0)
			return (fail("curl has a protocol besides http/https"));
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();

	printf("selftest: OK %s, libpq %d, yajl %d, curl %s (%s)\n",
	    OpenSSL_version(OPENSSL_VERSION), PQlibVersion(), yajl_version(),
	    cv->version, cv->ssl_version);
	return (0);
}
EOC

warn="-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
-Wshadow -Wpointer-arith -Wcast-qual -std=c99 -pedantic -D_GNU_SOURCE=1"
set -x
# shellcheck disable=SC2086
$MUSL_CC $warn $MUSL_CFLAGS -c "$out/selftest.c" -o "$out/selftest.o"
# shellcheck disable=SC2086
$MUSL_CC $MUSL_LDFLAGS -o "$out/selftest" "$out/selftest.o" $DEPS_LIBS
set +x
"$out/selftest"
desc=$(file -b "$out/selftest")
echo "selftest: file: $desc"
case "$desc" in
*"statically linked"*) ;;
*)	echo "selftest: FAIL: not statically linked" >&2; exit 1 ;;
esac
case "$desc" in
*interpreter*) echo "selftest: FAIL: has a program interpreter" >&2; exit 1 ;;
esac
if readelf -l "$out/selftest" | grep -q INTERP; then
	echo "selftest: FAIL: has a PT_INTERP segment" >&2; exit 1
fi
echo "selftest: PASS"
