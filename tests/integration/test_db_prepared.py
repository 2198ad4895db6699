"""Statements run as named prepared statements, once per pool connection
(platform/src/db.c, Kore's pgsql-prepared-statements.patch), checked where
it happens: in PostgreSQL's own statement log, per server process (one per
connection), and prepared again when a migration changed what one
returns."""

import collections
import concurrent.futures

from conftest import (StatementLog, assert_error, new_product, pg_log_size,
                      pg_log_since, pg_phases, psql, start_service,
                      stop_service, wait_for)

STOCK_GET_SQL = "SELECT product_id, quantity, reserved, version, "


def phases(text):
    """[(pid, phase, statement name, sql)] of inventory_service's lines."""
    return pg_phases(text, "inventory_service")


def put(inv, pid, qty):
    status, _, doc = inv.call("PUT", "/inventory/" + pid, {"quantity": qty})
    assert status in (200, 201), doc


def test_statements_are_prepared_once_per_connection(inventory):
    pid = new_product()
    put(inventory, pid, 4)
    with StatementLog() as log:
        n = 60
        for _ in range(n):
            status, _, doc = inventory.call("GET", "/inventory/" + pid)
            assert status == 200 and doc["quantity"] == 4, doc

        def executed():
            return [p for p in phases(log.text())
                    if p[1] == "execute" and p[3].startswith(STOCK_GET_SQL)]
        # The reload reaches each server process at its next message.
        assert wait_for(lambda: len(executed()) >= n - 8, timeout=10)

    lines = [p for p in phases(log.text())
             if p[3].startswith(STOCK_GET_SQL)]
    # PostgreSQL runs it under its name, never as an unnamed statement...
    assert {name for _, _, name, _ in lines} == {"stock_get"}, lines[:5]
    # ...and parses it at most once per connection, however often it runs.
    parses = collections.Counter(p for p, phase, _, _ in lines
                                 if phase == "parse")
    execs = collections.Counter(p for p, phase, _, _ in lines
                                if phase == "execute")
    assert all(c == 1 for c in parses.values()), parses
    assert sum(execs.values()) >= n - 8 > len(parses), (parses, execs)
    assert max(execs.values()) >= 2, execs


def test_failed_prepare_is_not_remembered(inventory):
    # Fresh connections: nothing is prepared on them yet.
    stop_service("inventory-service")
    start_service("inventory-service")
    pid = new_product()
    put(inventory, pid, 9)
    offset = pg_log_size()

    # stock_get cannot be prepared while its table is away: 500, and the
    # name must stay unprepared on those connections.
    psql("ALTER TABLE inventory.products RENAME TO products_away")
    try:
        for _ in range(4):
            assert_error(*inventory.call("GET", "/inventory/" + pid),
                         500, "internal")
    finally:
        psql("ALTER TABLE inventory.products_away RENAME TO products")

    # Every request after that succeeds at once, on every connection: had
    # a failed prepare been remembered, its connection would execute a
    # statement the server never created.
    for _ in range(40):
        status, _, doc = inventory.call("GET", "/inventory/" + pid)
        assert status == 200 and doc["quantity"] == 9, doc
    text = pg_log_since(offset)
    assert "relation \"inventory.products\" does not exist" in text, text
    assert "prepared statement" not in text, text



def ts_returns(sqltype):
    """inventory.ts() redefined to return SQLTYPE, as a migration would
    (one transaction: the function is never missing). stock_get selects
    it: its prepared plans' result type changes under the running
    workers."""
    psql("""DROP FUNCTION inventory.ts(timestamptz);
        CREATE FUNCTION inventory.ts(t timestamptz) RETURNS %s
        LANGUAGE sql STABLE AS $$
            SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        $$;
        GRANT EXECUTE ON FUNCTION inventory.ts(timestamptz)
            TO inventory_service""" % sqltype)


def replanned(inv):
    status, _, data = inv.raw("GET", "/metrics")
    assert status == 200
    n = 0
    for line in data.decode().splitlines():
        if line.startswith("db_queries_total{") and \
                'statement="stock_get"' in line and \
                'outcome="replanned"' in line:
            n += int(float(line.split()[-1]))
    return n


def test_a_changed_result_type_is_prepared_again(inventory):
    """A migration changes what a prepared statement returns while the
    service runs (issue 14 §4: a rollout's new code expands the schema under
    the old replicas): PostgreSQL answers the old plans "cached plan must
    not change result type" (0A000), and the service prepares them again
    and runs them once more instead of failing the request."""
    pid = new_product()
    put(inventory, pid, 3)
    # stock_get prepared on as many of the pool's connections as it gets.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for status, _, doc in pool.map(
                lambda _: inventory.call("GET", "/inventory/" + pid),
                range(48)):
            assert status == 200, doc
    before = replanned(inventory)
    offset = pg_log_size()

    for sqltype in ("varchar", "text"):
        ts_returns(sqltype)
        for _ in range(40):
            status, _, doc = inventory.call("GET", "/inventory/" + pid)
            assert status == 200 and doc["quantity"] == 3, doc
            assert doc["updated_at"].endswith("Z"), doc

    text = pg_log_since(offset)
    assert "cached plan must not change result type" in text, text[-2000:]
    assert replanned(inventory) > before
