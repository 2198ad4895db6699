# platform/deps/deps.mk - the pinned musl toolchain dependencies.
#
# `make deps` builds OpenSSL, libpq, yajl, libcurl and llhttp from the pinned
# Debian sources (platform/deps/manifest) into a musl sysroot, plus the
# kernel headers and <sys/queue.h> musl lacks and Kore's unpatched source
# tree (src/kore). The sysroot's name carries a key over everything that
# determines its content, so a changed pin, recipe or patch builds a new
# one and an unchanged one is reused by every clone (second run: no-op).
#
# Variables for the other parts of the build:
#   SYSROOT       the sysroot (include/, lib/, src/kore/)
#   MUSL_CC       compiler for everything linked into the static services
#   MUSL_CFLAGS   compile flags to build against the sysroot; -isystem so
#                 our own -Werror -pedantic is not tripped by its headers
#   MUSL_LDFLAGS  link flags for a static executable against the sysroot
#   DEPS_LIBS     all dependency libraries, in link order

DEPS_DIR	:= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
DLDIR		:= $(CRM_CACHE)/downloads

# First 16 hex of sha256 over the content of the manifest, the
# orchestrator, the recipes and the patches, in sorted path order.
DEPS_INPUTS	:= $(sort $(DEPS_DIR)/manifest $(DEPS_DIR)/build-deps.sh \
		   $(wildcard $(DEPS_DIR)/recipes/*) \
		   $(shell find $(DEPS_DIR)/patches -type f 2>/dev/null))
DEPS_KEY	:= $(shell cat $(DEPS_INPUTS) | sha256sum | cut -c1-16)
SYSROOT		:= $(CRM_CACHE)/sysroot-$(DEPS_KEY)

MUSL_CC		:= musl-gcc
MUSL_CFLAGS	:= -isystem $(SYSROOT)/include
MUSL_LDFLAGS	:= -static -L$(SYSROOT)/lib
DEPS_LIBS	:= -lcurl -lpq -lpgcommon -lpgport -lssl -lcrypto -lyajl -lllhttp

.PHONY: deps
deps: $(SYSROOT)/.done

$(SYSROOT)/.done:
	$(DEPS_DIR)/build-deps.sh '$(SYSROOT)' '$(DLDIR)'
