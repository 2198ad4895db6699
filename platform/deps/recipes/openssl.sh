#!/bin/sh
# openssl.sh - OpenSSL 3.0 (Debian source, Debian's patches applied) as
# static musl libraries libssl.a and libcrypto.a plus headers.
# Kept: TLS 1.2/1.3, RSA, DH, EC (ECDSA, ECDHE, X25519), SHA-1/2/3, MD5
# (libpq), AES(-GCM), ChaCha20-Poly1305, X.509 and OCSP. Dropped: shared
# libs, loadable modules/engines, the legacy provider, rare or national
# ciphers, SSLv3, compression, apps and tests - less to build (cold
# builds must stay fast) and less attack surface.
# Only build_libs + install_dev: a parallel build_programs races, and we
# need no openssl binary. --openssldir=/etc/ssl: the services read no
# OpenSSL config; the CA is always given explicitly.
# Env (set by build-deps.sh): SRC (the unpacked source, Debian's patches
# applied), SYSROOT (final prefix), DESTDIR, DEST, CC, AR, RANLIB,
# OPENSSL_TARGET (platform/deps/arches), JOBS.
set -eu

cd "${SRC:?unpacked by build-deps.sh}"
# The build date in buildinf.h comes from here: reproducible builds.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -STimestamp)
export SOURCE_DATE_EPOCH

# crypto/mem_sec.c needs <linux/mman.h>. The kernel headers are copied
# into the tree and named by a relative path, because the compiler flags
# end up in libcrypto (OpenSSL_version(OPENSSL_CFLAGS)) and must not
# carry our staging path. (Joined form: Configure would take a separate
# "kernel-include" argument for the target name.)
mkdir -p kernel-include
cp -R "$DEST/include/linux" "$DEST/include/asm" "$DEST/include/asm-generic" \
    kernel-include/
CC="$CC" AR="$AR" RANLIB="$RANLIB" ./Configure "$OPENSSL_TARGET" \
    no-shared no-dso no-module no-tests no-engine no-afalgeng no-legacy \
    no-comp no-ssl3 no-weak-ssl-ciphers no-idea no-mdc2 no-rc5 no-md2 \
    no-camellia no-aria no-seed no-sm2 no-sm3 no-sm4 no-whirlpool no-gost \
    no-srp no-srtp no-sctp no-ec2m no-cmp no-ts no-rfc3779 \
    no-nextprotoneg no-ssl-trace no-unit-test no-uplink \
    -isystem./kernel-include \
    --prefix="$SYSROOT" --libdir=lib --openssldir=/etc/ssl
make -j"$JOBS" build_libs
make DESTDIR="$DESTDIR" install_dev
# install_dev also installs pkg-config files (kept: they name the final
# prefix) and CMake config files (dropped: unused).
rm -rf "$DEST/lib/cmake"
echo "openssl: $(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version) installed"
