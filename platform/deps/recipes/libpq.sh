#!/bin/sh
# libpq.sh - PostgreSQL 15's client library (Debian source, Debian's patches
# applied) as static musl libraries against the sysroot's OpenSSL:
# libpq.a plus the two helper libraries it needs, libpgcommon.a and
# libpgport.a, and the public headers. Only what libpq needs is built (no
# server, no tools): generated headers, src/common, src/port, libpq.
# The helper libraries are PostgreSQL's *_shlib variants - the exact
# objects libpq.so itself is linked with - installed under the plain names.
# Env (set by build-deps.sh): SRC (the unpacked source, Debian's patches
# applied), SYSROOT (final prefix), DEST, CC, AR, RANLIB, HOST (configure's
# --host of a cross build, else empty), JOBS.
set -eu

cd "${SRC:?unpacked by build-deps.sh}"

./configure CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2" \
    CPPFLAGS="-isystem $DEST/include" LDFLAGS="-L$DEST/lib" \
    ${HOST:+--host="$HOST"} \
    --prefix="$SYSROOT" --with-ssl=openssl --without-readline \
    --without-zlib --without-icu --without-gssapi --without-ldap \
    --without-pam --without-libxml --without-libxslt --without-lz4 \
    --without-zstd --without-systemd --without-selinux --disable-rpath \
    --disable-nls
make -C src/backend generated-headers
make -j"$JOBS" -C src/port libpgport_shlib.a
make -j"$JOBS" -C src/common libpgcommon_shlib.a
make -j"$JOBS" -C src/interfaces/libpq all-static-lib

mkdir -p "$DEST/lib" "$DEST/include"
cp src/interfaces/libpq/libpq.a "$DEST/lib/libpq.a"
cp src/common/libpgcommon_shlib.a "$DEST/lib/libpgcommon.a"
cp src/port/libpgport_shlib.a "$DEST/lib/libpgport.a"
# The headers libpq-dev installs for clients; Kore's pgsql.c includes
# <pg_config.h> for PG_VERSION_NUM.
mkdir -p "$DEST/include/libpq"
cp src/interfaces/libpq/libpq-fe.h src/interfaces/libpq/libpq-events.h \
    src/include/postgres_ext.h src/include/pg_config_ext.h \
    src/include/pg_config.h src/include/pg_config_manual.h "$DEST/include/"
cp -L src/include/pg_config_os.h "$DEST/include/"
cp src/include/libpq/libpq-fs.h "$DEST/include/libpq/"
echo "libpq: $(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version) installed"
