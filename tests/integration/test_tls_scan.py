"""An outside TLS scan of a running service with testssl.sh (Debian's
package): no protocol below TLS 1.2, no CBC, no RSA key exchange, no known
vulnerability, client-initiated renegotiation refused (CONTRACT section 2)."""

import json
import subprocess

from conftest import PORTS

PORT = PORTS["LOGISTICS_SERVICE_PORT"]
BAD = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def test_testssl_finds_nothing(logistics, tmp_path):
    out = tmp_path / "testssl.json"
    # -p protocols, -s cipher categories, -f forward secrecy, -U every
    # vulnerability check, -R renegotiation; the system openssl.
    r = subprocess.run(
        ["testssl", "--quiet", "--color", "0", "--warnings", "off",
         "--openssl", "/usr/bin/openssl", "-p", "-s", "-f", "-U", "-R",
         "--jsonfile", str(out), "127.0.0.1:%s" % PORT],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300)
    assert r.returncode == 0, r.stdout[-2000:]
    found = {e["id"]: e for e in json.loads(out.read_text())}

    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert found[proto]["finding"] == "not offered", found[proto]
    assert found["TLS1_2"]["finding"] == "offered", found["TLS1_2"]
    assert found["TLS1_3"]["finding"].startswith("offered"), found["TLS1_3"]
    for cat in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                "cipherlist_LOW", "cipherlist_3DES_IDEA",
                "cipherlist_AVERAGE"):
        assert found[cat]["finding"] == "not offered", found[cat]
    # LUCKY13 is reported only with a CBC suite; ROBOT names RSA transport.
    assert found["LUCKY13"]["finding"].startswith("not vulnerable")
    assert "no RSA key transport" in found["ROBOT"]["finding"], found["ROBOT"]
    assert found["secure_client_renego"]["finding"] == "not vulnerable"
    assert found["PFS"]["finding"] == "offered"
    bad = [e for e in found.values() if e["severity"] in BAD]
    assert not bad, bad
