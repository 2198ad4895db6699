"""yamlout - plain block-style YAML from Python data, with no third-party
module (the build's tools use the standard library only).

dump(obj) writes dicts (in their insertion order), lists, strings, ints,
bools and None. Strings are plain when YAML 1.1 and 1.2 both read them back
as the same string, double-quoted (JSON escapes, a subset of YAML's)
otherwise; a string with a newline is a literal block. Comment(value, text)
is a scalar with a comment after it on its line.

Used by platform/tools/k8s-manifests and platform/stack/k8s.sh; read back
with PyYAML, kubectl and kustomize by tests/kubernetes.
"""
import json
import re
import textwrap

# Plain scalars that a YAML reader would take for something else than a
# string (YAML 1.1: yes/no/on/off, octal 0440, sexagesimal 1:20; 1.2:
# numbers, null, booleans).
_RESERVED = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_:]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|"
    r"\.[0-9]+|0x[0-9a-fA-F_]+|0o[0-7]+|0b[01_]+)|"
    r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|"
    r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|"
    r"on|On|ON|off|Off|OFF|null|Null|NULL|~|)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_PLAIN = re.compile(r"^[A-Za-z0-9_./$(][A-Za-z0-9_./:=@$()+, -]*$")


class Comment:
    def __init__(self, value, text):
        self.value = value
        self.text = text


def scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if not isinstance(v, str):
        raise TypeError("yamlout: cannot write %r" % (v,))
    if _RESERVED.match(v) or _DATE.match(v) or not _PLAIN.match(v) or v.endswith(" ") or \
            ": " in v or " #" in v or v.endswith(":"):
        return json.dumps(v, ensure_ascii=False)
    return v


def _block(s, indent):
    """A literal block scalar (|, or |- without a final newline)."""
    head = "|" if s.endswith("\n") else "|-"
    body = s[:-1] if s.endswith("\n") else s
    if body.startswith(" ") or body.startswith("\n"):
        head = head[0] + "2" + head[1:]
    pad = " " * (indent + 2)
    lines = [(pad + ln) if ln else "" for ln in body.split("\n")]
    return head, lines


def _is_scalar(v):
    return not isinstance(v, (dict, list)) or v in ({}, [])


def _inline(v):
    if isinstance(v, Comment):
        return "%s  # %s" % (_inline(v.value), v.text)
    if v == {}:
        return "{}"
    if v == []:
        return "[]"
    return scalar(v)


def _emit(v, indent, out):
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            key = scalar(k)
            if isinstance(x, str) and "\n" in x:
                head, lines = _block(x, indent)
                out.append("%s%s: %s" % (pad, key, head))
                out.extend(lines)
            elif isinstance(x, Comment) or _is_scalar(x):
                out.append("%s%s: %s" % (pad, key, _inline(x)))
            elif isinstance(x, list):
                # Lists in a map are not indented (kubectl's own style).
                out.append("%s%s:" % (pad, key))
                _emit(x, indent, out)
            else:
                out.append("%s%s:" % (pad, key))
                _emit(x, indent + 2, out)
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                sub = []
                _emit(x, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            elif isinstance(x, list) and x:
                sub = []
                _emit(x, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            elif isinstance(x, str) and "\n" in x:
                head, lines = _block(x, indent)
                out.append("%s- %s" % (pad, head))
                out.extend(lines)
            else:
                out.append("%s- %s" % (pad, _inline(x)))
    else:
        out.append(pad + _inline(v))


def dump(obj):
    out = []
    _emit(obj, 0, out)
    return "".join(line + "\n" for line in out)


def comment(text):
    """TEXT as '# ' lines: its paragraphs (split by an empty line) each
    reflowed at 76 columns."""
    out = []
    for i, para in enumerate(text.split("\n\n")):
        if i:
            out.append("#")
        out += ["# " + w for w in textwrap.wrap(
            " ".join(para.split("\n")), 76, break_long_words=False,
            break_on_hyphens=False)]
    return "".join(x + "\n" for x in out)


def dump_all(objs, header=""):
    """Several documents, each after a '---' line, with an optional header
    comment (each line prefixed '# ')."""
    text = comment(header) if header else ""
    parts = []
    for o in objs:
        if isinstance(o, tuple):	# (comment, object)
            c, o = o
            parts.append("---\n" + comment(c) + dump(o))
        else:
            parts.append("---\n" + dump(o))
    return text + "".join(parts)
