#!/bin/sh
# kernel-headers.sh - make the Linux UAPI headers and <sys/queue.h> visible
# to musl-gcc. musl-gcc's specs hide /usr/include (glibc's), but Kore needs
# <linux/seccomp.h>, <linux/filter.h>, <asm/...> and the BSD <sys/queue.h>,
# which musl does not ship. The kernel headers come from the installed
# linux-libc-dev (kernel UAPI, meant for any libc) of the target
# architecture (the asm/ headers differ per architecture: linux-libc-dev:arm64
# through multiarch for arm64); sys/queue.h is the header-only, BSD-licensed
# file glibc installs, the same on every architecture (the build machine's).
# Env (set by build-deps.sh): DEST = staged sysroot, GNU = the target's GNU
# triplet.
set -eu

inc="$DEST/include"
mkdir -p "$inc/sys"
build=$(gcc -print-multiarch)
for d in /usr/include/linux /usr/include/asm-generic \
    "/usr/include/$GNU/asm" "/usr/include/$build/sys/queue.h"; do
	[ -e "$d" ] || { echo "kernel-headers: $d missing (install linux-libc-dev of the target architecture, and libc6-dev)"; exit 1; }
done
cp -R /usr/include/linux "$inc/linux"
cp -R /usr/include/asm-generic "$inc/asm-generic"
cp -R "/usr/include/$GNU/asm" "$inc/asm"
cp "/usr/include/$build/sys/queue.h" "$inc/sys/queue.h"
echo "kernel-headers: linux-libc-dev $(dpkg-query -W -f '${Version}' linux-libc-dev) ($GNU) installed in $inc"
