#!/bin/sh
# kernel-headers.sh - make the Linux UAPI headers and <sys/queue.h> visible
# to musl-gcc. musl-gcc's specs hide /usr/include (glibc's), but Kore needs
# <linux/seccomp.h>, <linux/filter.h>, <asm/...> and the BSD <sys/queue.h>,
# which musl does not ship. The kernel headers come from the installed
# linux-libc-dev (kernel UAPI, meant for any libc); sys/queue.h is the
# header-only, BSD-licensed file glibc installs.
# Env (set by build-deps.sh): DEST = staged sysroot.
set -eu

inc="$DEST/include"
mkdir -p "$inc/sys"
for d in /usr/include/linux /usr/include/asm-generic \
    /usr/include/x86_64-linux-gnu/asm /usr/include/x86_64-linux-gnu/sys/queue.h; do
	[ -e "$d" ] || { echo "kernel-headers: $d missing (install linux-libc-dev and libc6-dev)"; exit 1; }
done
cp -R /usr/include/linux "$inc/linux"
cp -R /usr/include/asm-generic "$inc/asm-generic"
cp -R /usr/include/x86_64-linux-gnu/asm "$inc/asm"
cp /usr/include/x86_64-linux-gnu/sys/queue.h "$inc/sys/queue.h"
echo "kernel-headers: linux-libc-dev $(dpkg-query -W -f '${Version}' linux-libc-dev) installed in $inc"
