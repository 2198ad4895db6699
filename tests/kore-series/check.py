#!/usr/bin/python3
"""check.py - the Kore patch series is a series a maintainer can review.

    check.py [--all] [--glob] PATCHDIR ORIGTREE

PATCHDIR is platform/kore/patches, ORIGTREE the pinned, unpacked Kore tree
($(SYSROOT)/src/kore). Checks, in Debian's quilt convention:
  - PATCHDIR/series lists exactly the *.patch files there, each once;
  - each patch starts with a DEP-3 header (Description, Author, Origin,
    Forwarded, Last-Update) and is a plain unified diff in one format:
    "--- a/FILE" / "+++ b/FILE" (or /dev/null), no timestamps, no
    git or diff(1) command lines;
  - the series applies in order to a copy of ORIGTREE with
    patch -p1 --fuzz=0, as platform/kore/kore.mk applies it;
  - every change is carried once: while applying, each line of the tree
    remembers which patch added it (or that it is Kore's own), and a line a
    hunk removes or changes must be Kore's own, never one another patch of
    the series added (a fix-up belongs folded into the patch it fixes).
The line bookkeeping is checked against the tree patch(1) produced.

--glob takes the *.patch files in name order instead of a series file
(the series before it had one); --all reports every finding instead of
stopping at the first patch that has one. Exit status 0: all good.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEP3_REQUIRED = ("Description", "Author", "Origin", "Forwarded",
                 "Last-Update")
ORIGIN_KEYWORDS = ("upstream", "backport", "vendor", "other")
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class Finding(Exception):
    pass


def read_series(pdir, glob):
    present = sorted(f for f in os.listdir(pdir) if f.endswith(".patch"))
    if glob:
        return present, []
    problems = []
    path = os.path.join(pdir, "series")
    if not os.path.exists(path):
        return [], ["no series file in %s" % pdir]
    names = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if len(line.split()) != 1:
                problems.append("series:%d: options are not used here: %s"
                                % (n, line))
                continue
            if line in names:
                problems.append("series:%d: %s listed twice" % (n, line))
            names.append(line)
    for name in sorted(set(names) - set(present)):
        problems.append("series lists %s, which is not there" % name)
    for name in sorted(set(present) - set(names)):
        problems.append("%s is not in the series" % name)
    return [n for n in names if n in present], problems


def split_patch(text):
    """Header lines and the diff's lines (from its first '--- ')."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        if line.startswith("--- ") and i + 1 < len(lines) and \
                lines[i + 1].startswith("+++ "):
            return lines[:i], lines[i:]
    return lines, []


def dep3_fields(header):
    fields = {}
    key = None
    for line in header:
        if line in ("---", ""):
            if line == "---":
                break
            key = None
            continue
        if line[0] in " \t" and key is not None:
            fields[key] += "\n" + line.strip()
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$", line)
        if m is None:
            key = None
            continue
        key = m.group(1)
        fields[key] = m.group(2)
    return fields


def check_header(name, header):
    problems = []
    fields = dep3_fields(header)
    for f in DEP3_REQUIRED:
        if not fields.get(f, "").strip():
            problems.append("%s: DEP-3 field %s missing or empty" % (name, f))
    desc = fields.get("Description", "")
    if desc and len(desc.split("\n")) < 2:
        problems.append("%s: Description has a summary but no long "
                        "description (what and why)" % name)
    origin = fields.get("Origin", "")
    if origin:
        kw = origin.split(",", 1)[0].strip()
        if kw not in ORIGIN_KEYWORDS and "://" not in origin:
            problems.append("%s: Origin '%s' is neither %s nor a URL"
                            % (name, origin, "/".join(ORIGIN_KEYWORDS)))
    upd = fields.get("Last-Update", "")
    if upd and not re.match(r"^\d{4}-\d{2}-\d{2}$", upd):
        problems.append("%s: Last-Update '%s' is not YYYY-MM-DD"
                        % (name, upd))
    return problems


def parse_diff(name, lines):
    """[(path, old is /dev/null, new is /dev/null, [hunk])], findings.
    A hunk is (old_start, [(op, text)]) with op in ' ', '-', '+'."""
    files = []
    problems = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("--- "):
            problems.append("%s: line outside a file's diff: %r"
                            % (name, line[:60]))
            i += 1
            continue
        old = line[4:]
        new = lines[i + 1][4:] if i + 1 < len(lines) else ""
        if not lines[i + 1].startswith("+++ "):
            raise Finding("%s: '---' without '+++'" % name)
        for side, want in ((old, "a/"), (new, "b/")):
            if "\t" in side or "  " in side:
                problems.append("%s: timestamp or stray text in %r"
                                % (name, side))
            if side != "/dev/null" and not side.startswith(want):
                problems.append("%s: %r is not %s-prefixed (-p1)"
                                % (name, side, want))
        if old == "/dev/null" and new == "/dev/null":
            raise Finding("%s: /dev/null on both sides" % name)
        old, new = old.split("\t")[0], new.split("\t")[0]
        path = (new if new != "/dev/null" else old)[2:]
        if old != "/dev/null" and new != "/dev/null" and old[2:] != new[2:]:
            problems.append("%s: renames are not used: %s" % (name, old))
        i += 2
        hunks = []
        while i < len(lines) and lines[i].startswith("@@"):
            m = HUNK_RE.match(lines[i])
            if m is None:
                raise Finding("%s: bad hunk header %r" % (name, lines[i]))
            ostart = int(m.group(1))
            olen = int(m.group(2)) if m.group(2) is not None else 1
            nlen = int(m.group(4)) if m.group(4) is not None else 1
            i += 1
            body = []
            o = n = 0
            while i < len(lines) and (o < olen or n < nlen):
                l = lines[i]
                op = l[:1] if l else " "
                if op == "\\":
                    i += 1
                    continue
                if op not in " -+":
                    raise Finding("%s: bad line in a hunk of %s: %r"
                                  % (name, path, l[:60]))
                body.append((op, l[1:]))
                if op != "+":
                    o += 1
                if op != "-":
                    n += 1
                i += 1
            if o != olen or n != nlen:
                raise Finding("%s: hunk of %s is cut short" % (name, path))
            while i < len(lines) and lines[i].startswith("\\"):
                i += 1
            hunks.append((ostart, body))
        if not hunks:
            raise Finding("%s: no hunks for %s" % (name, path))
        files.append((path, old == "/dev/null", new == "/dev/null", hunks))
    return files, problems


def read_lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read().split("\n")


class Tree:
    """Each line of each file with the patch that added it (None: Kore)."""

    def __init__(self, root):
        self.root = root
        self.files = {}

    def get(self, path):
        if path not in self.files:
            full = os.path.join(self.root, path)
            if not os.path.exists(full):
                return None
            lines = read_lines(full)
            self.files[path] = [[l, None] for l in lines]
        return self.files[path]

    def apply(self, name, path, created, deleted, hunks):
        findings = []
        cur = self.get(path)
        if created:
            if cur is not None:
                raise Finding("%s: creates %s, which exists" % (name, path))
            cur = [["", None]]      # an empty file: one empty last line
        elif cur is None:
            raise Finding("%s: %s does not exist" % (name, path))
        offset = 0
        for ostart, body in hunks:
            old = [t for op, t in body if op != "+"]
            want = max(ostart - 1, 0) + offset
            if created:
                want = 0
                old = []
            at = self.find(cur, old, want)
            if at is None:
                raise Finding("%s: a hunk of %s (line %d) does not apply "
                              "exactly" % (name, path, ostart))
            new = []
            k = at
            for op, text in body:
                if op == " ":
                    new.append(cur[k])
                    k += 1
                elif op == "-":
                    origin = cur[k][1]
                    if origin is not None:
                        findings.append(
                            "%s changes %s:%d, a line %s added: %s"
                            % (name, path, k + 1, origin, text.strip()))
                    k += 1
                else:
                    new.append([text, name])
            cur[at:k] = new
            offset += len(new) - (k - at)
        if created and cur and cur[-1] == ["", None]:
            pass
        if deleted:
            cur = None
        self.files[path] = cur
        return findings

    @staticmethod
    def find(cur, old, want):
        """Where old matches exactly, nearest to want (as patch(1))."""
        n = len(old)
        limit = len(cur)
        for d in range(0, limit + 1):
            for at in (want - d, want + d) if d else (want,):
                if at < 0 or at + n > limit:
                    continue
                if all(cur[at + j][0] == old[j] for j in range(n)):
                    return at
        return None


def apply_patch_tool(tree, path):
    with open(path, "rb") as f:
        r = subprocess.run(["patch", "-d", tree, "-p1", "--batch",
                            "--forward", "--fuzz=0",
                            "--no-backup-if-mismatch", "--quiet"],
                           stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--glob", action="store_true")
    ap.add_argument("patchdir")
    ap.add_argument("orig")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.orig, "RELEASE")):
        print("kore-series: no Kore tree at %s" % args.orig)
        return 2

    names, problems = read_series(args.patchdir, args.glob)
    work = tempfile.mkdtemp(prefix="kore-series.")
    tree = os.path.join(work, "tree")
    os.mkdir(tree)
    for part in ("src", "include", "misc", "RELEASE"):
        src = os.path.join(args.orig, part)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(tree, part), symlinks=True)
        else:
            shutil.copy(src, os.path.join(tree, part))
    model = Tree(tree)
    touched = set()
    try:
        for name in names:
            before = len(problems)
            with open(os.path.join(args.patchdir, name),
                      encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
            header, diff = split_patch(text)
            problems += check_header(name, header)
            try:
                files, p = parse_diff(name, diff)
                problems += p
                # The model first: it reads each file as it was before.
                for path, created, deleted, hunks in files:
                    model.get(path)
                    problems += model.apply(name, path, created, deleted,
                                            hunks)
                    touched.add(path)
            except Finding as e:
                problems.append(str(e))
            rc, out = apply_patch_tool(tree, os.path.join(args.patchdir,
                                                          name))
            if rc != 0:
                problems.append("%s does not apply with patch -p1 "
                                "--fuzz=0:\n%s" % (name, out.rstrip()))
            if len(problems) > before and not args.all:
                break
        if not problems:
            for path in sorted(touched):
                full = os.path.join(tree, path)
                lines = model.files.get(path)
                have = read_lines(full) if os.path.exists(full) else None
                if (lines is None) != (have is None) or (
                        lines is not None and
                        [l for l, _ in lines] != have):
                    problems.append("internal: the line bookkeeping of %s "
                                    "differs from patch(1)'s result" % path)
    finally:
        shutil.rmtree(work)

    for p in problems:
        print("kore-series: " + p)
    if problems:
        print("kore-series: %d finding(s) in %d patches" %
              (len(problems), len(names)))
        print("kore-series: 0 passed, 1 failed")
        return 1
    print("kore-series: %d patches in series order, DEP-3 headers, applied "
          "with --fuzz=0, every change carried once" % len(names))
    print("kore-series: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
