# tests/kore-smoke/kore-smoke.mk - `make kore-smoke` builds and runs the
# smoke app of the patched, statically linked Kore (tests/kore-smoke/run.sh:
# TLS 1.2/1.3, keymgr, privsep, seccomp, the error shape); part of `make
# integration`.  `make kore-smoke-host`: the same with its host (glibc,
# ASan/UBSan) variant.
#
# The smoke app is linked like a service (static_service, apps/services.mk;
# the platform library: its Kore hooks, error hook and sandbox) but its
# handlers are plain Kore handlers, so it proves Kore + deps + symbol table
# + seccomp additions, and that the errors Kore's HTTP layer raises reach
# the platform's renderer.

SMOKE_DIR	:= $(BUILD)/kore-smoke
SMOKE_MUSL_BIN	:= $(MUSL_BIN)/kore-smoke
SMOKE_HOST_BIN	:= $(BUILD)/host/bin/kore-smoke

$(eval $(call static_service,kore-smoke,tests/kore-smoke/app,$(SMOKE_MUSL_BIN),$(PLATFORM_MUSL_LIB)))

# Host variant (glibc, ASan/UBSan): handy while the musl sysroot builds.
SMOKE_HOST_SRCS	:= tests/kore-smoke/app/smoke.c tests/kore-smoke/host-main.c
SMOKE_HOST_OBJS	:= $(SMOKE_HOST_SRCS:%.c=$(BUILD)/host/obj/kore-smoke/%.o)

$(BUILD)/host/obj/kore-smoke/%.o: %.c $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	cc $(OUR_WARN) $(HOST_CFLAGS) -Iplatform/include -c $< -o $@

$(BUILD)/host/obj/kore-smoke/symtab.c: $(SMOKE_HOST_OBJS) $(PLATFORM_HOST_LIB) $(GEN_SYMTAB)
	$(GEN_SYMTAB) $@ $(filter-out %/host-main.o,$(SMOKE_HOST_OBJS)) \
	    $(PLATFORM_HOST_LIB)

$(SMOKE_HOST_BIN): $(SMOKE_HOST_OBJS) $(BUILD)/host/obj/kore-smoke/symtab.c $(PLATFORM_HOST_LIB) $(KORE_HOST_LIB)
	@mkdir -p $(@D)
	cc $(OUR_WARN) $(HOST_CFLAGS) -o $@ $(SMOKE_HOST_OBJS) \
	    $(BUILD)/host/obj/kore-smoke/symtab.c $(PLATFORM_HOST_LIB) \
	    $(KORE_HOST_LIB) $(HOST_LIBS)

.PHONY: kore-smoke kore-smoke-host
# Its port moves with ITEST_PORT_OFFSET, as the integration tests' do.
kore-smoke: $(SMOKE_MUSL_BIN)
	KORE_SMOKE_PORT=$$((18490 + $${ITEST_PORT_OFFSET:-0})) \
	    tests/kore-smoke/run.sh $(SMOKE_MUSL_BIN) $(SMOKE_DIR)

kore-smoke-host: $(SMOKE_HOST_BIN)
	tests/kore-smoke/run.sh $(SMOKE_HOST_BIN) $(BUILD)/host/kore-smoke
