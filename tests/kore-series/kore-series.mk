# tests/kore-series/kore-series.mk - `make kore-series`: the Kore patch
# series is one a maintainer can review (tests/kore-series/check.py): the
# series file lists exactly the patches there, each has its DEP-3 header,
# the series applies in order with --fuzz=0 to the pinned Kore tree, and no
# patch removes or changes a line another patch of the series added. A few
# seconds; part of `make test`.

.PHONY: kore-series
kore-series: $(SYSROOT_STAMP)
	/usr/bin/python3 tests/kore-series/check.py platform/kore/patches \
	    $(KORE_ORIG)
