# platform/deps/deps.mk - the pinned musl toolchain dependencies.
#
# `make deps` builds OpenSSL, libpq, yajl, libcurl, llhttp and mimalloc (the
# services' malloc: recipes/mimalloc.sh says why) from the pinned Debian
# sources (platform/deps/manifest) into a musl sysroot, plus the
# kernel headers and <sys/queue.h> musl lacks and Kore's unpatched source
# tree (src/kore). The sysroot's name carries a key over everything that
# determines its content, so a changed pin, recipe or patch builds a new
# one and an unchanged one is reused by every clone (second run: no-op).
#
# ARCH (default amd64) picks the target architecture, one of ARCHES
# (platform/deps/arches: the one table of what differs per architecture);
# `make ARCH=arm64 services` cross-builds the arm64 sysroot and services.
# The sysroot and the build outputs are per architecture.
#
# Variables for the other parts of the build:
#   ARCH ARCHES   the target architecture, all of them
#   ARCH_GNU      its GNU triplet (binutils, kernel asm headers)
#   ARCH_MACHINE  its `uname -m`
#   MUSL_OUT      where its musl outputs go: $(BUILD)/musl for amd64 (as
#                 before arm64 came), $(BUILD)/musl-ARCH for the others
#   SYSROOT       the sysroot (include/, lib/, src/kore/)
#   MUSL_CC       compiler for everything linked into the static services
#   MUSL_CFLAGS   compile flags to build against the sysroot; -isystem so
#                 our own -Werror -pedantic is not tripped by its headers
#   MUSL_LDFLAGS  link flags for a static executable against the sysroot
#   DEPS_LIBS     all dependency libraries, in link order (mimalloc first:
#                 its malloc() and family replace musl's)

DEPS_DIR	:= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
DLDIR		:= $(CRM_CACHE)/downloads

ARCH		?= amd64
ARCHES		:= $(shell awk '!/^\#/ && NF { print $$1 }' $(DEPS_DIR)/arches)
ARCH_ROW	:= $(shell awk '$$1 == "$(ARCH)"' $(DEPS_DIR)/arches)
ifeq ($(words $(ARCH_ROW)),0)
$(error ARCH=$(ARCH): not one of $(ARCHES) (platform/deps/arches))
endif
ARCH_GNU	:= $(word 2,$(ARCH_ROW))
ARCH_MACHINE	:= $(word 3,$(ARCH_ROW))
MUSL_OUT	:= $(BUILD)/musl$(if $(filter-out amd64,$(ARCH)),-$(ARCH))

# First 16 hex of sha256 over the architecture and the content of the
# manifest, the architecture table, the orchestrator, the recipes and the
# patches, in sorted path order; the name carries the architecture too.
DEPS_INPUTS	:= $(sort $(DEPS_DIR)/manifest $(DEPS_DIR)/arches \
		   $(DEPS_DIR)/build-deps.sh $(wildcard $(DEPS_DIR)/recipes/*) \
		   $(shell find $(DEPS_DIR)/patches -type f 2>/dev/null))
DEPS_KEY	:= $(shell { echo '$(ARCH)'; cat $(DEPS_INPUTS); } | \
		   sha256sum | cut -c1-16)
SYSROOT		:= $(CRM_CACHE)/sysroot-$(ARCH)-$(DEPS_KEY)

MUSL_CC		:= $(word 4,$(ARCH_ROW)) $(filter-out -,$(word 5,$(ARCH_ROW)))
MUSL_CFLAGS	:= -isystem $(SYSROOT)/include
MUSL_LDFLAGS	:= -static -L$(SYSROOT)/lib
DEPS_LIBS	:= -lmimalloc -lcurl -lpq -lpgcommon -lpgport -lssl -lcrypto -lyajl \
		   -lllhttp

.PHONY: deps
deps: $(SYSROOT)/.done

$(SYSROOT)/.done:
	$(DEPS_DIR)/build-deps.sh '$(SYSROOT)' '$(DLDIR)' '$(ARCH)'
