# crm-supply top-level build. See README.md for the two commands that matter:
# ./build.sh (set up and run the stack) and `make test`.
#
# Build outputs go to $(BUILD) (in the clone, ignored by git); the musl
# toolchain deps are built once into $(CRM_CACHE), keyed by the pinned
# manifest and the recipes, and reused by every clone.

SHELL		:= /bin/bash
CRM_CACHE	?= /var/cache/crm-supply
BUILD		?= $(CURDIR)/build
RUN		?= $(CURDIR)/run
# A service is a folder apps/NAME with its declaration, service.decl (the
# one list of services: platform/tools/service-decl).
SERVICE_DECL	:= platform/tools/service-decl
SERVICE_DECLS	:= $(sort $(wildcard apps/*/service.decl))
SERVICES	:= $(patsubst apps/%/service.decl,%,$(SERVICE_DECLS))

# Flags for our own code (platform/, apps/, tests/): strict, always.
OUR_WARN	:= -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
		   -Wmissing-declarations -Wshadow -Wpointer-arith -Wcast-qual \
		   -Wsign-compare -std=c99 -pedantic
KORE_DEFS	:= -D_GNU_SOURCE=1 -DKORE_USE_PGSQL -DKORE_USE_CURL \
		   -D_FILE_OFFSET_BITS=64

.PHONY: all deps services test unit integration clean distclean up down
all: services

include platform/deps/deps.mk
include platform/kore/kore.mk
include platform/platform.mk
include apps/services.mk
include tests/tests.mk

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(RUN)

# The stack (CONTRACT §1): PostgreSQL and the services, state under $(RUN).
up: services-all
	RUN=$(RUN) ./build.sh up

down:
	RUN=$(RUN) ./build.sh down
