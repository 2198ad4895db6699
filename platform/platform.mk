# platform/platform.mk - the shared service library (platform/src/*.c)
# built twice from the same sources:
#   $(PLATFORM_MUSL_LIB) = $(MUSL_OUT)/libplatform.a  linked into the
#       static services (musl, against the sysroot and patched Kore headers;
#       per architecture, ARCH in deps.mk)
#   $(PLATFORM_HOST_LIB) = $(BUILD)/host/libplatform.a  unit tests only
#       (glibc, ASan+UBSan, system -dev headers)
#
# Exported for the rest of the build:
#   PLATFORM_INC        -I flag for <svc.h>, <json.h>, ... (platform/include)
#   PLATFORM_MUSL_LIB PLATFORM_HOST_LIB   the libraries
#   PLATFORM_MUSL_CFLAGS PLATFORM_HOST_CFLAGS  compile flags for code that
#       includes the platform headers (apps, tests), OUR_WARN included

PLATFORM_INC		:= -Iplatform/include
PLATFORM_SRCS		:= $(sort $(wildcard platform/src/*.c))
PLATFORM_HDRS		:= $(wildcard platform/include/*.h platform/src/*.h)

PLATFORM_MUSL_DIR	:= $(MUSL_OUT)/platform
PLATFORM_HOST_DIR	:= $(BUILD)/host/platform
PLATFORM_MUSL_LIB	:= $(MUSL_OUT)/libplatform.a
PLATFORM_HOST_LIB	:= $(BUILD)/host/libplatform.a

PLATFORM_MUSL_OBJS	:= $(PLATFORM_SRCS:platform/src/%.c=$(PLATFORM_MUSL_DIR)/%.o)
PLATFORM_HOST_OBJS	:= $(PLATFORM_SRCS:platform/src/%.c=$(PLATFORM_HOST_DIR)/%.o)

PLATFORM_MUSL_CFLAGS	:= $(KORE_MUSL_CFLAGS) $(OUR_WARN) $(PLATFORM_INC)
PLATFORM_HOST_CFLAGS	:= $(HOST_CFLAGS) $(OUR_WARN) $(PLATFORM_INC)

.PHONY: platform platform-musl platform-host
platform: platform-musl platform-host
platform-musl: $(PLATFORM_MUSL_LIB)
platform-host: $(PLATFORM_HOST_LIB)

# Objects are built from the patched Kore tree (its headers declare the
# error hook and the structs db.c reads) and again whenever it is patched
# anew, as any platform header change rebuilds them (the set is small).
$(PLATFORM_MUSL_DIR)/%.o: platform/src/%.c $(PLATFORM_HDRS) $(KORE_MUSL_TREE)
	@mkdir -p $(@D)
	$(MUSL_CC) $(PLATFORM_MUSL_CFLAGS) -c $< -o $@

$(PLATFORM_HOST_DIR)/%.o: platform/src/%.c $(PLATFORM_HDRS) $(KORE_HOST_TREE)
	@mkdir -p $(@D)
	cc $(PLATFORM_HOST_CFLAGS) -c $< -o $@

$(PLATFORM_MUSL_LIB): $(PLATFORM_MUSL_OBJS)
	@rm -f $@
	$(ARCH_GNU)-ar rcs $@ $^

$(PLATFORM_HOST_LIB): $(PLATFORM_HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^
