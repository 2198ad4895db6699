#!/bin/sh
# curl.sh - libcurl 7.88 (Debian source, Debian's security patches applied)
# as a static musl library, libcurl.a, plus headers. OpenSSL only, HTTP and
# HTTPS only, no optional codec/IDN/PSL/HTTP2 libraries, the plain
# (synchronous getaddrinfo) resolver: the workers run under seccomp, and a
# resolver thread is one more thing the filter would have to allow. No
# built-in CA bundle or path: the CA is always given explicitly.
# Only the library is built (no curl tool, no manual).
# Env (set by build-deps.sh): SRC (the unpacked source, Debian's patches
# applied), SYSROOT (final prefix), DESTDIR, DEST, CC, AR, RANLIB, HOST
# (configure's --host of a cross build, else empty), JOBS.
set -eu

cd "${SRC:?unpacked by build-deps.sh}"

# PKG_CONFIG=false: the staged OpenSSL's .pc names the final prefix, which
# does not exist yet; without pkg-config curl uses $DEST/include and lib.
./configure CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2" \
    CPPFLAGS="-isystem $DEST/include" PKG_CONFIG=false ${HOST:+--host="$HOST"} \
    --prefix="$SYSROOT" --disable-shared --enable-static \
    --with-openssl="$DEST" --disable-openssl-auto-load-config \
    --without-libpsl --without-nghttp2 --without-ngtcp2 --without-nghttp3 \
    --without-quiche --without-msh3 --without-hyper --without-libidn2 \
    --without-zstd --without-brotli --without-zlib --without-libssh2 \
    --without-libssh --without-wolfssh --without-librtmp --without-libgsasl \
    --without-gssapi --without-ca-bundle --without-ca-path \
    --without-ca-fallback --disable-ldap --disable-ldaps --disable-ftp \
    --disable-file --disable-dict --disable-telnet --disable-tftp \
    --disable-pop3 --disable-imap --disable-smtp --disable-gopher \
    --disable-mqtt --disable-rtsp --disable-smb --disable-ntlm \
    --disable-ntlm-wb --disable-tls-srp --disable-threaded-resolver \
    --disable-pthreads --disable-manual --disable-dependency-tracking \
    --without-zsh-functions-dir --without-fish-functions-dir
make -j"$JOBS" -C lib libcurl.la
make -C include DESTDIR="$DESTDIR" install
mkdir -p "$DEST/lib"
cp lib/.libs/libcurl.a "$DEST/lib/libcurl.a"
grep -q '^#define USE_OPENSSL 1' lib/curl_config.h ||
    { echo "curl: configure did not enable OpenSSL"; exit 1; }
echo "curl: $(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version) installed"
