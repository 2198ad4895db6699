#!/bin/sh
# mimalloc.sh - mimalloc (Debian source, with its patches) as a static musl
# library, libmimalloc.a, that replaces malloc() and its family in the
# static services (linked first: DEPS_LIBS in deps.mk). Why: musl's own
# allocator hands every emptied group of a size class back to the kernel
# at once and maps it again for the next request (libpq's 2 KiB result
# blocks: an mmap and a munmap every other request, each with a page fault);
# with mimalloc GET /inventory/:id does 17-20 % more (docs/performance.md).
# mimalloc's build is CMake; its src/static.c includes every source, so we
# compile that one file with the flags of its CMake release build
# (MI_OVERRIDE: malloc, free, ... are mimalloc's own).
# Env (set by build-deps.sh): SRC (the unpacked source, Debian's patches
# applied), DEST, CC, AR, RANLIB.
set -eu

cd "${SRC:?unpacked by build-deps.sh}"

mkdir -p build
$CC -std=gnu11 -O2 -DNDEBUG -DMI_MALLOC_OVERRIDE -DMI_STATIC_LIB \
    -Wall -Wextra -Wno-unknown-pragmas -fvisibility=hidden \
    -ftls-model=initial-exec -fno-builtin-malloc -Iinclude \
    -c src/static.c -o build/mimalloc.o
rm -f build/libmimalloc.a
"$AR" rcD build/libmimalloc.a build/mimalloc.o
"$RANLIB" -D build/libmimalloc.a

mkdir -p "$DEST/lib"
cp build/libmimalloc.a "$DEST/lib/libmimalloc.a"
echo "mimalloc: $(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version) installed"
