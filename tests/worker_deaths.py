"""worker_deaths.py - a service's worker process that died, read from the
services' logs. Kore's parent starts another worker, so no answer shows the
crash, but every connection the dead one held is reset. The integration and
image tests and the bench fail on it. A service killed as a whole (its
parent too) logs nothing of the kind."""

import os
import re

# What Kore's parent logs (src/worker.c, kore_worker_reap()).
PATTERN = re.compile(r"\(hdlr: [^)]*\) gone|died from sandbox violation|"
                     r"keymgr or acme process gone")


def log_sizes(logdir):
    """{file name: size} of the *.log files in LOGDIR."""
    try:
        return {n: os.path.getsize(os.path.join(logdir, n))
                for n in os.listdir(logdir) if n.endswith(".log")}
    except FileNotFoundError:
        return {}


def since(logdir, before=None):
    """The lines of LOGDIR's *.log files, past the sizes BEFORE
    (log_sizes(); none: from the start), that say a worker died, each as
    "file: line"."""
    before = before or {}
    out = []
    for n, size in sorted(log_sizes(logdir).items()):
        start = before.get(n, 0)
        with open(os.path.join(logdir, n), "rb") as f:
            f.seek(start if start <= size else 0)
            for raw in f:
                line = raw.decode(errors="replace").strip()
                if PATTERN.search(line):
                    out.append("%s: %s" % (n, line))
    return out


def fixture(logdir):
    """An autouse pytest fixture that fails each test during which a worker
    died, by the *.log files of LOGDIR (a test module assigns it to a name
    of its own, and pytest finds it there)."""
    import pytest

    @pytest.fixture(autouse=True)
    def no_worker_died():
        before = log_sizes(logdir)
        yield
        dead = since(logdir, before)
        assert not dead, "a worker died:\n" + "\n".join(dead[-10:])

    return no_worker_died
