# apps/services.mk - the static service executables.
#
# For each NAME in $(SERVICES), for the architecture ARCH (deps.mk; MUSL_OUT
# is build/musl for amd64, build/musl-arm64 for arm64):
#   $(MUSL_OUT)/bin/NAME = apps/NAME/*.c objects
#                          + its declaration compiled (decl.c, and the
#                            upstream target indexes in service_decl.h,
#                            generated from apps/NAME/service.decl by
#                            platform/tools/service-decl)
#                          + a generated symbol table (Kore resolves routes
#                            and hooks by name: platform/tools/gen-symtab.sh)
#                          + $(PLATFORM_MUSL_LIB) + $(KORE_MUSL_LIB)
#                          + $(DEPS_LIBS), linked -static with musl.
# Kore's kore.c provides main(); the services run non-single-binary
# (`NAME -f -c conf`).
#
# `make services` builds all (for ARCH); `make services-all` builds them for
# every architecture of platform/deps/arches (what the images need).
# static_service is also how the test apps link
# (tests/kore-smoke/kore-smoke.mk).

MUSL_BIN	:= $(MUSL_OUT)/bin
GEN_SYMTAB	:= platform/tools/gen-symtab.sh

# Our code: strict warnings always, against the patched Kore headers.
OUR_MUSL_CFLAGS	:= $(OUR_WARN) $(KORE_MUSL_CFLAGS) -Iplatform/include

# $(PLATFORM_MUSL_LIB) comes from platform/platform.mk.

# $(1) = name, $(2) = source dir, $(3) = output binary,
# $(4) = extra objects/archives (linked, and scanned for the symbol table),
# $(5) = its generated declaration's folder (empty: none)
define static_service
$(1)_SRCS	:= $$(wildcard $(2)/*.c)
$(1)_OBJS	:= $$($(1)_SRCS:$(2)/%.c=$(MUSL_OUT)/obj/$(1)/%.o) \
		   $(if $(5),$(MUSL_OUT)/obj/$(1)/decl.o)
$(1)_SYMTAB	:= $(MUSL_OUT)/obj/$(1)/symtab.c

$(MUSL_OUT)/obj/$(1)/%.o: $(2)/%.c $(if $(5),$(5)/service_decl.h) | \
    $$(KORE_MUSL_TREE)
	@mkdir -p $$(@D)
	$$(MUSL_CC) $$(OUR_MUSL_CFLAGS) -I$(2) $(if $(5),-I$(5)) -MMD -MP \
	    -c $$< -o $$@

# Every global function of the app and the platform, by name.
$$($(1)_SYMTAB): $$($(1)_OBJS) $(4) $$(GEN_SYMTAB)
	$$(GEN_SYMTAB) $$@ $$($(1)_OBJS) $(4)

$$($(1)_SYMTAB:.c=.o): $$($(1)_SYMTAB)
	$$(MUSL_CC) $$(OUR_MUSL_CFLAGS) -c $$< -o $$@

$(3): $$($(1)_OBJS) $$($(1)_SYMTAB:.c=.o) $(4) $$(KORE_MUSL_LIB)
	@mkdir -p $$(@D)
	$$(MUSL_CC) $$(MUSL_LDFLAGS) -o $$@ $$($(1)_OBJS) \
	    $$($(1)_SYMTAB:.c=.o) $(4) $$(KORE_MUSL_LIB) $$(DEPS_LIBS)

-include $$($(1)_OBJS:.o=.d)
endef

# The declaration, checked against all the others, as C (the same for every
# architecture; its object is the architecture's).
$(BUILD)/gen/%/decl.c $(BUILD)/gen/%/service_decl.h: $(SERVICE_DECLS) \
    $(SERVICE_DECL)
	$(SERVICE_DECL) c $* $(BUILD)/gen/$*

$(MUSL_OUT)/obj/%/decl.o: $(BUILD)/gen/%/decl.c | $(KORE_MUSL_TREE)
	@mkdir -p $(@D)
	$(MUSL_CC) $(OUR_MUSL_CFLAGS) -c $< -o $@

$(foreach s,$(SERVICES),$(eval $(call static_service,$(s),apps/$(s),$(MUSL_BIN)/$(s),$(PLATFORM_MUSL_LIB),$(BUILD)/gen/$(s))))

.PHONY: services services-all
services: $(SERVICES:%=$(MUSL_BIN)/%)

# One make per architecture (each has its own sysroot and variables).
services-all:
	set -e; for a in $(ARCHES); do $(MAKE) ARCH=$$a services; done
