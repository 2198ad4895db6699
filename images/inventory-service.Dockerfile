# inventory-service - the appliance image (CONTRACT §7). Built by images/build.sh, which
# stages exactly these files with fixed modes and passes the labels' values
# (buildah bud --timestamp 0: the same commit gives the same digest).
# Nothing else is inside: no shell, no libc (the executable is static musl),
# no certificates, keys or secrets (mounted read-only at run time:
# platform/stack/container.sh, docs/operations.md).
FROM scratch

ARG VERSION
ARG REVISION
ARG CREATED
ARG SOURCE
ARG LICENSES

LABEL org.opencontainers.image.title="inventory-service" \
      org.opencontainers.image.description="crm-supply stock and reservations" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.created="${CREATED}"

# The users Kore drops to: crm (10001, workers: runas) and crm-keys (10002,
# key manager: keymgr_runas). The master stays root to chroot and setuid.
COPY passwd group /etc/
# The public RFC 7919 group for DHE (tls_dhparam). /etc/crm/tls is not a
# mount point: cert.pem, key.pem and ca.pem are mounted as single files.
COPY ffdhe2048.pem /etc/crm/tls/
# The default config; override it by mounting a file over this path.
COPY inventory-service.conf /etc/crm/
# The static executable, stripped.
COPY inventory-service /usr/bin/

EXPOSE 8445/tcp
ENTRYPOINT ["/usr/bin/inventory-service", "-f", "-c", "/etc/crm/inventory-service.conf"]
