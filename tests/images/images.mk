# tests/images/images.mk - image tests (CONTRACT §7): contents, size budget,
# reproducible digest, the index of linux/amd64 and linux/arm64, each
# platform's SBOM and every signature in the registry, refused images, arm64
# under qemu-user, registry round trip, and the stack's container runner
# (readiness, PUT + GET, SIGKILL recovery, sandbox, key rotation).
# Own registry, PostgreSQL and service ports, and container names
# (IMAGES_TEST_* in tests/images/test_images.py): a running stack is never
# touched. Needs root (podman, buildah) and the packages of ./build.sh.
.PHONY: images-test
images-test: services-all
	BUILD=$(BUILD) /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE \
	    tests/images

# The arm64 services as the image tests run them under qemu-user on an
# amd64 machine (tests/images/test_images.py, "arm64"): the same objects and
# libraries as $(MUSL_OUT)/bin/NAME, linked with
# tests/images/emulation/qemu-user.c, which stands in for the two things
# qemu-user cannot give a guest (a seccomp filter, robust futex lists; that
# file says why and what stays unproven). Built for ARCH (`make ARCH=arm64
# emulated-services`), never put in an image.
EMU_DIR		:= $(MUSL_OUT)/emulated
EMU_WRAP	:= -Wl,--wrap=prctl,--wrap=pthread_mutexattr_setrobust

$(EMU_DIR)/qemu-user.o: tests/images/emulation/qemu-user.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(OUR_WARN) -O2 -c $< -o $@

define emulated_service
$(EMU_DIR)/$(1): $$($(1)_OBJS) $$($(1)_SYMTAB:.c=.o) $$(PLATFORM_MUSL_LIB) \
    $$(KORE_MUSL_LIB) $(EMU_DIR)/qemu-user.o
	$$(MUSL_CC) $$(MUSL_LDFLAGS) $(EMU_WRAP) -o $$@ $$^ $$(DEPS_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call emulated_service,$(s))))

.PHONY: emulated-services
emulated-services: $(SERVICES:%=$(EMU_DIR)/%)
