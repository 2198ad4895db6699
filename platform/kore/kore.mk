# platform/kore/kore.mk - Kore 4.1 (patched) built as a static library.
#
# Two variants of the same patched sources:
#   $(KORE_MUSL_LIB) = $(MUSL_OUT)/libkore.a  the services: musl, static,
#       from the pinned .deb's tree in $(SYSROOT)/src/kore; kore.c's main()
#       is the service's main. Per architecture (ARCH, deps.mk): MUSL_OUT
#       is build/musl for amd64, build/musl-arm64 for arm64.
#   $(KORE_HOST_LIB) = $(BUILD)/host/libkore.a  unit tests only: glibc,
#       ASan+UBSan, system -dev headers, the same pinned tree; main()
#       renamed kore_main.
# Both come from the pinned .deb that the deps build fetches, verifies and
# unpacks into the sysroot: nothing is read from an installed package.
#
# The unpacked tree is never edited by hand: it is copied to
# $(MUSL_OUT)/kore-src or $(BUILD)/host/kore-src and the patches that
# platform/kore/patches/series lists are applied in that order (Debian's
# quilt convention: one patch a concern, each with a DEP-3 header saying
# what, why and where upstream stands; tests/kore-series checks the
# series).
#
# Exported for the rest of the build:
#   KORE_MUSL_LIB KORE_HOST_LIB    the libraries
#   KORE_MUSL_INC KORE_HOST_INC    -I flags so our code includes <kore/kore.h>,
#                                  <kore/http.h>, <kore/pgsql.h>, <kore/curl.h>
#   KORE_MUSL_TREE KORE_HOST_TREE  stamp of the patched tree: prerequisite
#                                  of anything including Kore (order-only
#                                  where -MMD tracks Kore's headers), so
#                                  that a patch changing a struct rebuilds
#                                  what reads it
#   KORE_MUSL_CFLAGS               flags for our musl objects (without OUR_WARN)
#   HOST_CFLAGS HOST_LIBS          compile flags / link tail for unit tests:
#       cc $(OUR_WARN) $(HOST_CFLAGS) -c x.c
#       cc $(HOST_CFLAGS) objs $(PLATFORM_HOST_LIB) $(KORE_HOST_LIB) $(HOST_LIBS)
#   KORE_INC                       = $(KORE_HOST_INC) (headers are identical)

# The series, in order: a patch name a line, '#' starts a comment. The
# trees are patched again when the series or any patch in it changes.
KORE_SERIES	:= platform/kore/patches/series
KORE_PATCHES	:= $(addprefix platform/kore/patches/, \
		   $(shell sed -e 's/\#.*//' $(KORE_SERIES)))

# Only what the services use: no python, acme, tasks, jsonrpc, cli.
KORE_UNITS	:= kore buf config connection domain filemap fileref json mem \
		   msg module net pool runtime timer utils worker keymgr auth \
		   accesslog http http_llhttp validator websocket pgsql curl \
		   linux seccomp

KORE_ORIG	:= $(SYSROOT)/src/kore

# The request parser (llhttp, pinned like the other deps): the services
# link the sysroot's libllhttp.a ($(DEPS_LIBS)); the host variant compiles
# the same sources, from the sysroot, into its libkore.a.
LLHTTP_SRC	:= $(SYSROOT)/src/llhttp
LLHTTP_UNITS	:= api http llhttp

KORE_MUSL_DIR	:= $(MUSL_OUT)/kore-src
KORE_HOST_DIR	:= $(BUILD)/host/kore-src
KORE_MUSL_TREE	:= $(KORE_MUSL_DIR)/.patched
KORE_HOST_TREE	:= $(KORE_HOST_DIR)/.patched
KORE_MUSL_LIB	:= $(MUSL_OUT)/libkore.a
KORE_HOST_LIB	:= $(BUILD)/host/libkore.a

KORE_MUSL_INC	:= -I$(KORE_MUSL_DIR)/include -I$(KORE_MUSL_DIR)/include/kore
KORE_HOST_INC	:= -I$(KORE_HOST_DIR)/include -I$(KORE_HOST_DIR)/include/kore
KORE_INC	:= $(KORE_HOST_INC)

# Kernel UAPI headers (linux/seccomp.h, linux/filter.h, ...) are libc
# independent; musl's include dir has none, so offer the system's ones
# after the sysroot's own (-idirafter: the sysroot wins if it has them).
KORE_KINC	:= $(MUSL_OUT)/kernel-include

# Kore's code is third party: its own warning set, without -Werror, and
# OpenSSL 3 deprecations silenced (RSA_*/EC_KEY_* keymgr API).
KORE_WARN	:= -Wall -Wstrict-prototypes -Wmissing-prototypes \
		   -Wmissing-declarations -Wshadow -Wpointer-arith -Wcast-qual \
		   -Wsign-compare -Wtype-limits -std=c99 -pedantic \
		   -Wno-deprecated-declarations
KORE_COMMON	:= $(KORE_DEFS) -DKORE_STATIC_SYMTAB -DPREFIX='"/usr/local"'

# Stack protector for everything (musl's libc has __stack_chk_fail).
# Kore's objects and ours are built -O2 (also so that gcc's -O2-only
# warnings, e.g. -Wformat-truncation, check our code).
KORE_MUSL_OPT	:= -O2
KORE_MUSL_CFLAGS := -O2 -fstack-protector-strong $(MUSL_CFLAGS) \
		   $(KORE_COMMON) $(KORE_MUSL_INC) -idirafter $(KORE_KINC)
HOST_SAN	:= -fsanitize=address,undefined -fno-omit-frame-pointer
HOST_CFLAGS	:= -g -O1 $(HOST_SAN) $(KORE_COMMON) $(KORE_HOST_INC) \
		   -I/usr/include/postgresql -isystem $(LLHTTP_SRC)
HOST_LIBS	:= $(HOST_SAN) -lssl -lcrypto -lpq -lcurl -lyajl \
		   $(shell pkg-config --libs check 2>/dev/null || echo -lcheck) \
		   -lpthread -lm

KORE_MUSL_OBJS	:= $(KORE_UNITS:%=$(KORE_MUSL_DIR)/obj/%.o) \
		   $(KORE_MUSL_DIR)/obj/version.o
KORE_HOST_OBJS	:= $(KORE_UNITS:%=$(KORE_HOST_DIR)/obj/%.o) \
		   $(KORE_HOST_DIR)/obj/version.o \
		   $(LLHTTP_UNITS:%=$(KORE_HOST_DIR)/obj/llhttp-%.o)

.PHONY: kore kore-musl kore-host
kore: kore-musl kore-host
kore-musl: $(KORE_MUSL_LIB)
kore-host: $(KORE_HOST_LIB)

# Copy, patch (strictly: no fuzz, no reversed patches, any reject fails the
# build), generate platform.h (syscall map) and version.c.
# $(1) = orig tree, $(2) = destination dir, $(3) = the target's `uname -m`
# (misc/linux-platform.sh picks the syscall map and the seccomp audit arch
# by it; a shim answers it for a cross build)
define kore_prepare
	@test -f $(1)/RELEASE || { echo "kore source missing: $(1)" >&2; exit 1; }
	rm -rf $(2) && mkdir -p $(2)/obj
	cp -R $(1)/src $(1)/include $(1)/misc $(1)/RELEASE $(2)/
	set -e; for p in $(KORE_PATCHES); do \
		echo "patch kore: $$p"; \
		patch -d $(2) -p1 --batch --forward --fuzz=0 \
		    --no-backup-if-mismatch --quiet < $$p; \
	done
	mkdir -p $(2)/obj/uname && printf '#!/bin/sh\necho %s\n' '$(3)' \
	    > $(2)/obj/uname/uname && chmod 0755 $(2)/obj/uname/uname
	PATH=$(2)/obj/uname:$$PATH sh $(2)/misc/linux-platform.sh \
	    > $(2)/obj/platform.h
	printf 'const char *kore_version = "%s";\n' \
	    "$$(cat $(2)/RELEASE)-crm" > $(2)/obj/version.c
	touch $(2)/.patched
endef

SYSROOT_STAMP	?= $(SYSROOT)/.done

$(KORE_MUSL_TREE): $(KORE_SERIES) $(KORE_PATCHES) platform/kore/kore.mk \
		   $(SYSROOT_STAMP)
	$(call kore_prepare,$(KORE_ORIG),$(KORE_MUSL_DIR),$(ARCH_MACHINE))

$(KORE_HOST_TREE): $(KORE_SERIES) $(KORE_PATCHES) platform/kore/kore.mk \
		   $(SYSROOT_STAMP)
	$(call kore_prepare,$(KORE_ORIG),$(KORE_HOST_DIR),$(shell uname -m))

$(KORE_KINC):
	@mkdir -p $@
	ln -sfn /usr/include/linux $@/linux
	ln -sfn /usr/include/asm-generic $@/asm-generic
	ln -sfn /usr/include/$(ARCH_GNU)/asm $@/asm

# The objects depend on the tree stamp: re-patching rebuilds everything.
$(KORE_MUSL_DIR)/obj/%.o: $(KORE_MUSL_TREE) | $(KORE_KINC)
	$(MUSL_CC) $(KORE_MUSL_OPT) $(KORE_MUSL_CFLAGS) $(KORE_WARN) \
	    -I$(KORE_MUSL_DIR)/obj \
	    -c $(KORE_MUSL_DIR)/src/$*.c -o $@

$(KORE_MUSL_DIR)/obj/version.o: $(KORE_MUSL_TREE)
	$(MUSL_CC) $(MUSL_CFLAGS) -c $(KORE_MUSL_DIR)/obj/version.c -o $@

$(KORE_HOST_DIR)/obj/%.o: $(KORE_HOST_TREE)
	cc $(HOST_CFLAGS) $(KORE_WARN) -I$(KORE_HOST_DIR)/obj \
	    $(if $(filter kore,$*),-Dmain=kore_main) \
	    -c $(KORE_HOST_DIR)/src/$*.c -o $@

$(KORE_HOST_DIR)/obj/llhttp-%.o: $(KORE_HOST_TREE)
	cc $(HOST_CFLAGS) -c $(LLHTTP_SRC)/$*.c -o $@

$(KORE_HOST_DIR)/obj/version.o: $(KORE_HOST_TREE)
	cc $(HOST_CFLAGS) -c $(KORE_HOST_DIR)/obj/version.c -o $@

$(KORE_MUSL_LIB): $(KORE_MUSL_OBJS)
	@rm -f $@
	$(ARCH_GNU)-ar rcs $@ $^

$(KORE_HOST_LIB): $(KORE_HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^
