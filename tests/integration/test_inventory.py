"""inventory-service against CONTRACT §2 and §5: real TLS, real PostgreSQL,
the static executable."""

import concurrent.futures
import json
import re
import uuid

from conftest import assert_error, new_product
from orderflow import stock, totals


def put(inv, pid, qty, headers=None):
    return inv.call("PUT", "/inventory/" + pid, {"quantity": qty},
                    headers=headers)


def reserve(inv, items, rid=None):
    rid = rid or str(uuid.uuid4())
    return rid, inv.call("POST", "/inventory/reservations",
                         {"reservation_id": rid,
                          "items": [{"product_id": p, "quantity": q}
                                    for p, q in items]})


def test_probes_need_no_token(inventory):
    status, hdrs, doc = inventory.call("GET", "/healthz", token=False)
    assert status == 200 and doc["status"] == "ok"
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", hdrs["x-request-id"])
    status, _, doc = inventory.call("GET", "/readyz", token=False)
    assert status == 200, doc
    status, hdrs, body = inventory.raw("GET", "/metrics")
    assert status == 200
    text = body.decode()
    assert "# TYPE http_requests_total counter" in text
    assert 'route="/healthz"' in text


def test_put_creates_then_updates_with_etag(inventory):
    pid = new_product()
    status, hdrs, doc = put(inventory, pid, 10)
    assert status == 201, doc
    assert doc["product_id"] == pid and doc["quantity"] == 10
    assert doc["reserved"] == 0
    assert hdrs["etag"] == '"%d"' % doc["version"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["updated_at"])

    status, hdrs2, doc2 = put(inventory, pid, 7)
    assert status == 200 and doc2["quantity"] == 7
    assert doc2["version"] > doc["version"]

    status, hdrs3, doc3 = inventory.call("GET", "/inventory/" + pid)
    assert status == 200 and doc3 == doc2
    assert hdrs3["etag"] == hdrs2["etag"]


def test_if_match(inventory):
    pid = new_product()
    _, hdrs, doc = put(inventory, pid, 5)
    assert_error(*put(inventory, pid, 6, {"If-Match": '"999999"'}),
                 412, "precondition_failed")
    assert stock(inventory, pid)["quantity"] == 5
    status, _, doc2 = put(inventory, pid, 6, {"If-Match": hdrs["etag"]})
    assert status == 200 and doc2["quantity"] == 6
    # The old tag no longer matches: the version moved on.
    assert_error(*put(inventory, pid, 9, {"If-Match": hdrs["etag"]}),
                 412, "precondition_failed")
    status, _, _ = put(inventory, pid, 9, {"If-Match": "*"})
    assert status == 200
    # If-Match on a product that does not exist: nothing to match.
    assert_error(*put(inventory, new_product(), 1, {"If-Match": "*"}),
                 412, "precondition_failed")


def test_unknown_and_malformed_ids(inventory):
    assert_error(*inventory.call("GET", "/inventory/" + new_product()),
                 404, "not_found")
    err = assert_error(*inventory.call("GET", "/inventory/bad_id"),
                       400, "validation_failed")
    assert err["details"][0]["field"] == "productId"
    assert_error(*inventory.call("POST",
                                 "/inventory/reservations/not-a-uuid/commit"),
                 400, "validation_failed")
    assert_error(*inventory.call("DELETE", "/inventory/reservations/" +
                                 str(uuid.uuid4())), 404, "not_found")


def test_bad_bodies(inventory):
    pid = new_product()
    path = "/inventory/" + pid
    h = {"Content-Type": "application/json"}
    assert_error(*inventory.call("PUT", path, b"{not json", headers=h),
                 400, "malformed_json")
    err = assert_error(*inventory.call("PUT", path, {"quantity": -1}),
                       400, "validation_failed")
    assert err["details"][0]["field"] == "quantity"
    err = assert_error(*inventory.call("PUT", path, {"quantity": "3"}),
                       400, "validation_failed")
    err = assert_error(*inventory.call("PUT", path,
                                       {"quantity": 1, "colour": "red"}),
                       400, "validation_failed")
    assert {"field": "colour"}.items() <= err["details"][0].items()
    err = assert_error(*inventory.call(
        "PUT", path, b'{"quantity": 1, "quantity": 2}', headers=h),
        400, "validation_failed")
    assert_error(*inventory.call("PUT", path, b'{"quantity": 1}',
                                 headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")
    big = json.dumps({"quantity": 1, "pad": "x" * 70000})
    assert_error(*inventory.call("PUT", path, big, headers=h),
                 413, "payload_too_large")
    # Larger bodies, repeatedly: the answer is never lost to a reset.
    huge = b"x" * (2 * 1024 * 1024)
    for _ in range(5):
        assert_error(*inventory.call("PUT", path, huge, headers=h),
                     413, "payload_too_large")
    err = assert_error(*reserve(inventory, [(pid, 1), (pid, 2)])[1],
                       400, "validation_failed")
    assert err["details"][0]["field"] == "items[1].product_id"
    err = assert_error(*inventory.call("POST", "/inventory/reservations",
                                       {"reservation_id": "X",
                                        "items": [{"product_id": pid,
                                                   "quantity": 0}]}),
                       400, "validation_failed")
    fields = {d["field"] for d in err["details"]}
    assert fields == {"reservation_id", "items[0].quantity"}
    # Nothing of it reached the database.
    assert_error(*inventory.call("GET", path), 404, "not_found")


def test_http_layer_errors_have_the_contract_shape(inventory):
    assert_error(*inventory.call("GET", "/nowhere"), 404, "not_found")
    status, hdrs, doc = inventory.call("POST", "/inventory/" + new_product(),
                                       {"quantity": 1})
    assert_error(status, hdrs, doc, 405, "method_not_allowed")
    # A GET route answers HEAD too.
    assert set(hdrs["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "PUT"}
    assert_error(*inventory.call("GET", "/inventory/" + "A" * 9000),
                 414, "uri_too_long")
    assert_error(*inventory.call("GET", "/healthz",
                                 headers={"X-Big": "b" * 9000}),
                 431, "headers_too_large")


def test_auth(inventory):
    pid = new_product()
    assert_error(*inventory.call("GET", "/inventory/" + pid, token=False),
                 401, "unauthorized")
    assert_error(*inventory.call("GET", "/inventory/" + pid,
                                 token="Bearer wrong"), 401, "unauthorized")
    assert_error(*inventory.call("GET", "/inventory/" + pid,
                                 token="Basic " + inventory.token),
                 401, "unauthorized")


def test_request_id_kept_or_replaced(inventory):
    _, hdrs, _ = inventory.call("GET", "/healthz",
                                headers={"X-Request-Id": "abc.DEF_123-x"})
    assert hdrs["x-request-id"] == "abc.DEF_123-x"
    _, hdrs, _ = inventory.call("GET", "/healthz",
                                headers={"X-Request-Id": "bad id!"})
    assert hdrs["x-request-id"] != "bad id!"
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", hdrs["x-request-id"])


def test_reserve_commit_release(inventory):
    a, b = new_product("A"), new_product("B")
    put(inventory, a, 10)
    put(inventory, b, 3)

    rid, (status, _, doc) = reserve(inventory, [(a, 4), (b, 3)])
    assert status == 201, doc
    assert doc["reservation_id"] == rid and doc["status"] == "reserved"
    assert sorted((i["product_id"], i["quantity"]) for i in doc["items"]) == \
        sorted([(a, 4), (b, 3)])
    assert stock(inventory, a)["quantity"] == 6
    assert stock(inventory, a)["reserved"] == 4

    # A repeat returns the first result and reserves nothing more.
    _, (status, _, again) = reserve(inventory, [(a, 4), (b, 3)], rid)
    assert status == 201 and again["reservation_id"] == rid
    assert stock(inventory, a)["quantity"] == 6

    status, _, doc = inventory.call(
        "POST", "/inventory/reservations/%s/commit" % rid)
    assert status == 200 and doc["status"] == "committed"
    assert totals(a) == (6, 0, 4)
    status, _, doc = inventory.call(
        "POST", "/inventory/reservations/%s/commit" % rid)
    assert status == 200 and doc["status"] == "committed"
    assert totals(a) == (6, 0, 4)
    assert_error(*inventory.call("DELETE", "/inventory/reservations/" + rid),
                 409, "conflict")
    assert totals(a) == (6, 0, 4)

    rid2, (status, _, _) = reserve(inventory, [(a, 6)])
    assert status == 201
    status, _, doc = inventory.call("DELETE", "/inventory/reservations/" + rid2)
    assert status == 200 and doc["status"] == "released"
    status, _, doc = inventory.call("DELETE", "/inventory/reservations/" + rid2)
    assert status == 200
    assert totals(a) == (6, 0, 4)
    assert_error(*inventory.call(
        "POST", "/inventory/reservations/%s/commit" % rid2), 409, "conflict")
    assert totals(a) == (6, 0, 4)


def test_insufficient_and_unknown(inventory):
    a, b = new_product("A"), new_product("B")
    put(inventory, a, 5)
    put(inventory, b, 1)
    rid, resp = reserve(inventory, [(a, 2), (b, 2)])
    err = assert_error(*resp, 409, "insufficient_stock")
    assert [d["field"] for d in err["details"]] == ["items[1].quantity"]
    assert totals(a) == (5, 0, 0) and totals(b) == (1, 0, 0)
    # The first result stands, even once there would be enough.
    put(inventory, b, 10)
    assert_error(*reserve(inventory, [(a, 2), (b, 2)], rid)[1],
                 409, "insufficient_stock")
    assert totals(b) == (10, 0, 0)

    ghost = new_product("GHOST")
    err = assert_error(*reserve(inventory, [(a, 1), (ghost, 1)])[1],
                       422, "unknown_product")
    assert err["details"][0]["field"] == "items[1].product_id"
    assert totals(a) == (5, 0, 0)


def test_no_oversell_under_concurrency(inventory):
    pid = new_product("HOT")
    put(inventory, pid, 50)

    def one(_):
        return reserve(inventory, [(pid, 1)])

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(one, range(200)))
    codes = [r[1][0] for r in results]
    assert codes.count(201) == 50, codes
    assert codes.count(409) == 150, codes
    assert totals(pid) == (0, 50, 0)

    won = [rid for rid, r in results if r[0] == 201]

    def release(rid):
        return inventory.call("DELETE", "/inventory/reservations/" + rid)[0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        assert set(pool.map(release, won)) == {200}
    assert totals(pid) == (50, 0, 0)


def test_invariant_under_mixed_load(inventory):
    """quantity + reserved + committed stays what was PUT, whatever the
    interleaving of reserve, commit and release."""
    pids = [new_product("MIX") for _ in range(3)]
    for p in pids:
        put(inventory, p, 40)

    def work(i):
        items = [(pids[i % 3], 1 + i % 4), (pids[(i + 1) % 3], 1)]
        rid, (status, _, _) = reserve(inventory, items)
        if status == 201:
            if i % 2:
                inventory.call("POST",
                               "/inventory/reservations/%s/commit" % rid)
            else:
                inventory.call("DELETE", "/inventory/reservations/" + rid)
        return status

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(work, range(120)))
    assert set(statuses) <= {201, 409}
    for p in pids:
        q, r, c = totals(p)
        assert q >= 0 and r == 0 and c >= 0
        assert q + r + c == 40
