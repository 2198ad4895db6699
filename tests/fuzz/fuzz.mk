# tests/fuzz/fuzz.mk - libFuzzer targets (clang, ASan + UBSan).
#
# Kore (the same patched host tree the unit tests use, with llhttp) and the
# platform library are built once more with clang and coverage
# instrumentation into $(BUILD)/fuzz; each tests/fuzz/fuzz_*.c is a target
# linked against them:
#   fuzz_http   Kore's request parser as the services run it (llhttp, the
#               platform's error hook, pipelined requests answered)
#   fuzz_json   the JSON parser and schema validator, the item-list parser,
#               the error rendering
#   fuzz_fmt    the path and id validators, Retry-After and URL joining
# Seeds: tests/fuzz/corpus/<target>/ (issue 12's table among them). Every
# input that once crashed a target stays in tests/fuzz/regressions/<target>/
# and is replayed by both targets below.
#
#   make fuzz FUZZ_SECONDS=600   each target that long (default 60), its
#                                corpus growing in $(BUILD)/fuzz/corpus
#   make fuzz-smoke              part of `make test`: the regressions, then
#                                each target for FUZZ_SMOKE_SECONDS (8)
# A crash stops the run and leaves the input in $(BUILD)/fuzz/artifacts.

FUZZ_CC		:= clang
FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	:= -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		   $(KORE_COMMON) $(KORE_HOST_INC) -I/usr/include/postgresql \
		   -isystem $(LLHTTP_SRC)
FUZZ_LIBS	:= -lssl -lcrypto -lpq -lcurl -lyajl -lpthread -lm
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 8

FUZZ_TARGETS	:= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS	:= $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)

FUZZ_KORE_OBJS	:= $(KORE_UNITS:%=$(FUZZ_DIR)/kore/%.o) \
		   $(FUZZ_DIR)/kore/version.o \
		   $(LLHTTP_UNITS:%=$(FUZZ_DIR)/kore/llhttp-%.o)
FUZZ_PLAT_OBJS	:= $(PLATFORM_SRCS:platform/src/%.c=$(FUZZ_DIR)/platform/%.o)
FUZZ_KORE_LIB	:= $(FUZZ_DIR)/libkore.a
FUZZ_PLAT_LIB	:= $(FUZZ_DIR)/libplatform.a

.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/kore/%.o: $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -w -I$(KORE_HOST_DIR)/obj \
	    $(if $(filter kore,$*),-Dmain=kore_main) \
	    -c $(KORE_HOST_DIR)/src/$*.c -o $@

$(FUZZ_DIR)/kore/version.o: $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $(KORE_HOST_DIR)/obj/version.c -o $@

$(FUZZ_DIR)/kore/llhttp-%.o: $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -w -c $(LLHTTP_SRC)/$*.c -o $@

$(FUZZ_DIR)/platform/%.o: platform/src/%.c $(PLATFORM_HDRS) $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(OUR_WARN) $(PLATFORM_INC) -c $< -o $@

$(FUZZ_KORE_LIB): $(FUZZ_KORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_PLAT_LIB): $(FUZZ_PLAT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/bin/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_PLAT_LIB) \
    $(FUZZ_KORE_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(OUR_WARN) $(PLATFORM_INC) \
	    -fsanitize=fuzzer $< -o $@ $(FUZZ_PLAT_LIB) $(FUZZ_KORE_LIB) \
	    $(FUZZ_LIBS)

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
