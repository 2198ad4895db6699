"""The one list of services (apps/*/service.decl, platform/tools/
service-decl): what it derives, and the declarations it refuses."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import PORTS, REPO, RUN, stack

TOOL = os.path.join(REPO, "platform", "tools", "service-decl")


def decl(*args, apps=None):
    cmd = [TOOL] + (["--apps", apps] if apps else []) + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)


def test_the_list_is_the_apps_folders():
    r = decl("list")
    assert r.returncode == 0, r.stderr
    folders = sorted(d for d in os.listdir(os.path.join(REPO, "apps"))
                     if os.path.isdir(os.path.join(REPO, "apps", d)))
    assert r.stdout.split() == folders


def test_callers_and_calls_agree():
    decls = json.loads(decl("json").stdout)
    for name, d in decls.items():
        for a in d["allow"]:
            for c in a["callers"]:
                assert name in decls[c]["calls"], (name, a, c)
        assert d["callers"] == sorted(
            m for m in decls if name in decls[m]["calls"])


def test_stack_env_names_every_declared_service(pg):
    """stack.env has NAME_URL for each service, on NAME_PORT."""
    decls = json.loads(decl("json").stdout)
    stack("env.sh")
    with open(os.path.join(RUN, "stack.env")) as f:
        env = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
    for name in decls:
        stem = name.upper().replace("-", "_")
        assert env[stem + "_URL"] == "https://127.0.0.1:" + \
            PORTS[stem + "_PORT"], name
    urls = [k for k in env if k.endswith("_URL") and k != "DATABASE_URL"]
    assert len(urls) == len(decls)


@pytest.fixture
def apps(tmp_path):
    """A copy of the declarations (and the code their routes are in)."""
    dst = tmp_path / "apps"
    shutil.copytree(os.path.join(REPO, "apps"), dst)
    return dst


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_a_fifth_service_is_one_folder(apps, tmp_path):
    os.makedirs(apps / "stock-ledger")
    write(apps / "stock-ledger" / "service.decl",
          "port 8450\nauth service\nrate 10 20\ndatabase stock_ledger\n"
          "description a ledger\n")
    write(apps / "stock-ledger" / "service.c", "")
    r = decl("bash", apps=str(apps))
    assert r.returncode == 0, r.stderr
    assert "stock-ledger" in r.stdout.splitlines()[0]
    r = decl("c", "stock-ledger", str(tmp_path / "gen"), apps=str(apps))
    assert r.returncode == 0, r.stderr
    c = (tmp_path / "gen" / "decl.c").read_text()
    assert '.name = "stock-ledger"' in c and "SVC_AUTH_SERVICE" in c


@pytest.mark.parametrize("text,why", [
    ("auth service\nrate 1 2\ndescription x\n", "no port"),
    ("port 99999\nauth service\nrate 1 2\ndescription x\n", "port N"),
    ("port 9000\nauth maybe\nrate 1 2\ndescription x\n", "auth api_key"),
    ("port 9000\nauth service\nrate 1\ndescription x\n", "rate RATE BURST"),
    ("port 9000\nauth service\nrate 1 2\ndescription x\ncolour red\n",
     "unknown key"),
    ("port 9000\nauth service\nrate 1 2\ndescription x\ncalls nobody\n",
     "not another service"),
    ("port 9000\nauth service\nrate 1 2\ndescription x\n"
     "allow /x crm-api\n", "does not call it"),
    ("port 8443\nauth service\nrate 1 2\ndescription x\n", "the same port"),
    ("port 9000\nport 9001\nauth service\nrate 1 2\ndescription x\n",
     "given twice"),
    ("port 9000\nauth service\nrate 1 2\ndescription x\ndata nofile\n",
     "no file"),
])
def test_a_bad_declaration_is_refused(apps, text, why):
    os.makedirs(apps / "bad-one")
    write(apps / "bad-one" / "service.decl", text)
    r = decl("list", apps=str(apps))
    assert r.returncode == 2 and why in r.stderr, r.stderr
    assert "bad-one" in r.stderr or "apps/" in r.stderr


def test_an_allowed_route_must_be_in_the_code(apps, tmp_path):
    p = apps / "inventory-service" / "service.decl"
    with open(p, "a") as f:
        f.write("allow /inventory/nowhere order-service\n")
    r = decl("c", "inventory-service", str(tmp_path / "gen"), apps=str(apps))
    assert r.returncode == 2 and "its code does not name" in r.stderr


def test_the_stack_scripts_name_no_service():
    """platform/ reads the list; it names no service (issue 13)."""
    decls = json.loads(decl("json").stdout)
    names = set(decls) | {n.upper().replace("-", "_") for n in decls}
    r = subprocess.run(["git", "-C", REPO, "grep", "-l", "-F"] +
                       sum((["-e", n] for n in sorted(names)), []) +
                       ["--", "platform/src", "platform/include",
                        "platform/stack", "platform/tools", "images",
                        "build.sh", "Makefile", "apps/services.mk"],
                       stdout=subprocess.PIPE, text=True)
    assert r.stdout.split() == [], r.stdout
