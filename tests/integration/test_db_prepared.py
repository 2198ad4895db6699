"""Statements run as named prepared statements, once per pool connection
(platform/src/db.c, Kore patch 0104), checked where it happens: in
PostgreSQL's own statement log, per server process (one per connection)."""

import collections
import os
import re
import subprocess

from conftest import (ENV, RUN, assert_error, new_product, psql,
                      start_service, stop_service, wait_for)

PG_LOG = os.path.join(RUN, "pg", "log", "postgres.log")
# log_line_prefix is '%m [%p] %q%u@%d ': the pid names the connection.
LINE = re.compile(r"\[(\d+)\] inventory_service@\S+ LOG:  duration: \S+ ms"
                  r"  (parse|bind|execute) ([^:]+): (.*)")
STOCK_GET_SQL = "SELECT product_id, quantity, reserved, version, "


def pg_super(sql):
    """SQL as the postgres superuser (peer auth on the cluster's socket):
    the statement-log settings are not crm_admin's to change."""
    base = os.path.realpath(os.path.join(RUN, "pg"))
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-XAtq",
                    "-v", "ON_ERROR_STOP=1", "-h", os.path.join(base, "sock"),
                    "-p", ENV["PG_PORT"], "-d", "postgres", "-c", sql],
                   check=True, stdout=subprocess.PIPE, timeout=30)


def log_size():
    return os.path.getsize(PG_LOG)


def log_since(offset):
    with open(PG_LOG, errors="replace") as f:
        f.seek(offset)
        return f.read()


def phases(text):
    """[(pid, phase, statement name, sql)] of inventory_service's lines."""
    return [m.groups() for m in map(LINE.search, text.splitlines()) if m]


def put(inv, pid, qty):
    status, _, doc = inv.call("PUT", "/inventory/" + pid, {"quantity": qty})
    assert status in (200, 201), doc


def test_statements_are_prepared_once_per_connection(inventory):
    pid = new_product()
    put(inventory, pid, 4)
    offset = log_size()
    pg_super("ALTER SYSTEM SET log_min_duration_statement = 0")
    pg_super("SELECT pg_reload_conf()")
    try:
        n = 60
        for _ in range(n):
            status, _, doc = inventory.call("GET", "/inventory/" + pid)
            assert status == 200 and doc["quantity"] == 4, doc

        def executed():
            return [p for p in phases(log_since(offset))
                    if p[1] == "execute" and p[3].startswith(STOCK_GET_SQL)]
        # The reload reaches each server process at its next message.
        assert wait_for(lambda: len(executed()) >= n - 8, timeout=10)
    finally:
        pg_super("ALTER SYSTEM RESET log_min_duration_statement")
        pg_super("SELECT pg_reload_conf()")

    lines = [p for p in phases(log_since(offset))
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
    offset = log_size()

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
    text = log_since(offset)
    assert "relation \"inventory.products\" does not exist" in text, text
    assert "prepared statement" not in text, text

