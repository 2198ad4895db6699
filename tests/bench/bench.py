#!/usr/bin/python3
"""bench.py smoke|full - the performance harness of issue 5 (`make bench`,
`make bench-smoke`). Every figure is a ratio against a reference measured in
the same run on the same machine (docs/performance.md):

  https  nginx answering a fixed 120-byte JSON over TLS 1.3 (nginx.conf.in),
         driven by the very same wrk script and settings as the case;
  db     pgbench -M prepared running the SQL the service runs for the case
         (pgbench/<script>), with as many clients as the service's pools.

Steps: start what the cases need (stack(): the full run as `make up` does,
in containers, through ./build.sh MODE=container: images of the current
executables, a registry of its own, podman; the smoke run the same
executables natively), seed 100 000 products with one statement, measure
start to /readyz 200 (measure_ready(); in containers from container.sh's
`podman run`, split into podman's and the service's part) and idle PSS,
start nginx, then per round every case and its reference (wrk on
keep-alive HTTPS connections to 127.0.0.1 only), PSS sampled under load;
stop everything it started, print the table (with the images' sizes in
the container stack), write bench/results/latest.json (smoke: smoke.json).

A case is one file cases/NN-name.json; a case whose services are not built
or whose pgbench script does not exist yet is reported as pending. Besides
service, path, wrk script, connections, reference and target a case may
say: "ok_status" (the successes, e.g. ["201"]; default any 2xx);
"allowed_status" (answers the contract names under overload, e.g. ["202",
"503", "429"]: counted by kind, not errors); "openloop" {"capacity_of": a
case file that runs before it, "load": 0.5} (a constant offered rate of
that share of the median req/s of the other case's rounds: the open-loop
cases run after all of them, see capacity(); wrk/openloop.lua: latency
from when each request was due); no
"reference" (none run, no ratio); "smoke": false (not in the smoke run),
"smoke_connections" (its connections in the smoke run, default at most
BENCH_CONNECTIONS); "sample_pss": false (no PSS under its load: an
overload case is not held to the PSS target; such cases run after all the
others, in rounds of their own, and the PSS they leave is reported apart).

Environment (defaults in brackets):
  BUILD [repo/build]  BIN_DIR [$BUILD/musl/bin]  BENCH_RUN [$BUILD/bench]
  BENCH_STACK         container | native [full container, smoke native]
  BENCH_CONTAINER_PREFIX   container names PREFIX-NAME [crm-bench]
  BENCH_REGISTRY      the container stack's own registry [127.0.0.1:BASE+5]
  BENCH_PORT_BASE     crm-api, order-, inventory-, logistics-service on
                      BASE..BASE+3, nginx on BASE+4 [19443]
  BENCH_NGINX_PORT    [BASE+4]      BENCH_PG_PORT [55632]
  BENCH_DURATION      seconds per measured run [full 10, smoke 2]
  BENCH_WARMUP        seconds of warm-up per case and reference [2, 0]
  BENCH_RUNS          rounds; medians are reported [3, 1]
  BENCH_OPENLOOP_WARMUP  seconds of the same rate right before each
                      measured open-loop run, not counted [full 3, smoke 0]
  BENCH_CONNECTIONS   wrk connections of cases without their own [32, 4]
  BENCH_THREADS       wrk threads / pgbench jobs [2]
  BENCH_CASES         comma-separated file name parts to run only those
  BENCH_RATE_LIMIT_RATE, BENCH_RATE_LIMIT_BURST   the services' rate limit
                      for the run (RATE_LIMIT_RATE/BURST) [1000000 each]
  BENCH_FRESH         1: a new PostgreSQL cluster [full 1, smoke 0]
  BENCH_DEADLINE      seconds after which the whole run is aborted and
                      cleaned up [full 1800, smoke 240]
"""

import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import worker_deaths as worker_log  # noqa: E402 (tests/worker_deaths.py)
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
STACK_DIR = os.path.join(REPO, "platform", "stack")
# podman as platform/stack/container.sh runs it.
CONTAINERS_CONF = os.path.join(REPO, "images", "containers.conf")
PGBIN = "/usr/lib/postgresql/15/bin"
# wrk's socket errors, as its BENCH_JSON line names them.
SOCKET_ERROR_KINDS = ("connect", "read", "write", "timeout")

SERVICES = ["crm-api", "order-service", "inventory-service",
            "logistics-service"]
PORT_VARS = ["CRM_API_PORT", "ORDER_SERVICE_PORT", "INVENTORY_SERVICE_PORT",
             "LOGISTICS_SERVICE_PORT"]
# The HTTPS reference's body: 120 bytes of JSON.
REF_BODY = ('{"status":"ok","service":"bench-reference",'
            '"note":"fixed body of the HTTPS reference","pad":"'
            + "x" * 25 + '"}')
assert len(REF_BODY) == 120
# Seeded products: ids 100000..199999 (valid product ids, and the SQL of
# the pgbench scripts binds them exactly as the service does).
SEED_SQL = ("INSERT INTO inventory.products (product_id, quantity) "
            "SELECT g::text, 1000000000 FROM generate_series(100000, 199999) g "
            "ON CONFLICT (product_id) DO UPDATE SET quantity = excluded.quantity")
# Seeded customers: 10 000 with ids 00000000-0000-4000-8000-000000000001..
# ...000000010000 (wrk/common.lua bench.customer(), pgbench/order_flow.sql),
# so concurrent orders do not all share one customer's row.
SEED_CUSTOMER_SQL = ("INSERT INTO crm.customers (id, name, email) "
                     "SELECT ('00000000-0000-4000-8000-' || "
                     "lpad(g::text, 12, '0'))::uuid, 'Bench Customer ' || g, "
                     "'bench-' || g || '@example.com' "
                     "FROM generate_series(1, 10000) g ON CONFLICT DO NOTHING")
# The bench's cluster counts every statement, also those inside the
# PL/pgSQL functions (pg_stat_statements: the database work per order).
PG_CONF_EXTRA = ("shared_preload_libraries = 'pg_stat_statements'\n"
                 "pg_stat_statements.track = all\n"
                 "pg_stat_statements.max = 10000")
# The frozen reference (issue 16): the order flow's SQL as it was before
# the saga's steps were recorded together (pgbench/order_flow.sql), on a
# frozen copy of the migrations of then (pgbench/frozen/), in a database
# of its own on the same cluster, so that it keeps running whatever the
# live schema becomes.
FROZEN_DB = "crm_supply_frozen"
FROZEN_DIR = os.path.join(HERE, "pgbench", "frozen")
# An open-loop run's first request is due this long after its first
# connection is up (wrk/openloop.lua): the client's own connection set-up
# is not what the case measures.
OPENLOOP_START_MS = 1000
TARGET_PSS_KB = 24 * 1024
TARGET_READY_MS = 300


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def env_num(name, default, kind=int):
    v = os.environ.get(name, "")
    return kind(v) if v != "" else default


class Settings:
    def __init__(self, mode):
        full = mode == "full"
        self.mode = mode
        self.build = os.environ.get("BUILD", os.path.join(REPO, "build"))
        self.bin_dir = os.environ.get("BIN_DIR",
                                      os.path.join(self.build, "musl", "bin"))
        self.run = os.path.abspath(os.environ.get(
            "BENCH_RUN", os.path.join(self.build, "bench")))
        # The full run measures what `make up` runs (containers); the
        # smoke run, part of `make test`, the same executables natively
        # (docs/performance.md, "Container or native").
        self.stack = os.environ.get("BENCH_STACK",
                                    "container" if full else "native")
        self.prefix = os.environ.get("BENCH_CONTAINER_PREFIX", "crm-bench")
        if self.stack not in ("native", "container"):
            raise BenchError("BENCH_STACK must be native or container")
        base = env_num("BENCH_PORT_BASE", 19443)
        self.ports = {s: base + i for i, s in enumerate(SERVICES)}
        self.nginx_port = env_num("BENCH_NGINX_PORT", base + 4)
        # A registry of its own (container stack): the user's (REGISTRY,
        # 127.0.0.1:5000) is neither used nor stopped.
        self.registry = os.environ.get("BENCH_REGISTRY",
                                       "127.0.0.1:%d" % (base + 5))
        self.pg_port = env_num("BENCH_PG_PORT", 55632)
        self.duration = env_num("BENCH_DURATION", 10 if full else 2)
        self.warmup = env_num("BENCH_WARMUP", 2 if full else 0)
        self.runs = env_num("BENCH_RUNS", 3 if full else 1)
        self.openloop_warmup = env_num("BENCH_OPENLOOP_WARMUP", 3 if full else 0)
        self.connections = env_num("BENCH_CONNECTIONS", 32 if full else 4)
        self.threads = env_num("BENCH_THREADS", 2)
        self.only = [c for c in os.environ.get("BENCH_CASES", "").split(",")
                     if c]
        self.rate = os.environ.get("BENCH_RATE_LIMIT_RATE", "1000000")
        self.burst = os.environ.get("BENCH_RATE_LIMIT_BURST", "1000000")
        self.fresh = env_num("BENCH_FRESH", 1 if full else 0) == 1
        self.deadline = env_num("BENCH_DEADLINE", 1800 if full else 240)
        # wrk's socket timeout: generous, a slow answer is a latency, not
        # an error; under it a stuck request counts as an error.
        self.wrk_timeout = "5s" if full else "10s"
        self.results = os.path.join(REPO, "bench", "results",
                                    "latest.json" if full else "smoke.json")

    def stack_env(self, **extra):
        """The environment of the platform/stack scripts and build.sh."""
        env = dict(os.environ, RUN=self.run, BUILD=self.build,
                   BIN_DIR=self.bin_dir, PG_PORT=str(self.pg_port),
                   RATE_LIMIT_RATE=self.rate, RATE_LIMIT_BURST=self.burst,
                   REGISTRY=self.registry, CONTAINER_PREFIX=self.prefix,
                   MODE=self.stack, PG_CONF_EXTRA=PG_CONF_EXTRA)
        for s, var in zip(SERVICES, PORT_VARS):
            env[var] = str(self.ports[s])
        env.update(extra)
        return env


S = None		# Settings of this run


def sh(cmd, env=None, timeout=180, check=True, input_text=None):
    p = subprocess.run(cmd, env=env or S.stack_env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout,
                       input=input_text)
    if check and p.returncode != 0:
        raise BenchError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                   p.stdout[-3000:]))
    return p.stdout


def script(name, *args, **kw):
    return sh([os.path.join(STACK_DIR, name), S.run, *args], **kw)


# --- what the bench runs on ------------------------------------------------

def stack(action, names=(), env=None):
    """The one place that starts and stops what the bench measures.
    action: up (PostgreSQL, migrations, NAMES, stack.env), down (NAMES and
    PostgreSQL), start / stop (NAMES). PKI, PostgreSQL and migrations are
    the platform/stack scripts in BENCH_RUN in both modes; then
    BENCH_STACK=native runs the static executables with service.sh, and
    container goes through ./build.sh with MODE=container, as `make up`
    does: images of the current executables built into $BUILD/images,
    pushed to the bench's own registry, run as containers named
    BENCH_CONTAINER_PREFIX-NAME. ENV: extra environment of start."""
    container = S.stack == "container"
    build_sh = os.path.join(REPO, "build.sh")
    if action == "up":
        # The services' logs of earlier runs (a full run writes GBs of
        # request lines): BENCH_RUN is the bench's own.
        for n in SERVICES:
            try:
                os.unlink(os.path.join(S.run, "logs", n + ".log"))
            except FileNotFoundError:
                pass
        script("pki.sh")
        if S.fresh:
            script("postgres.sh", "destroy", check=False)
        script("postgres.sh", "start")
        try:
            script("migrate.sh")
        except BenchError:
            # A kept cluster whose applied migrations were edited since:
            # start over from an empty one.
            log("migrations do not apply to the kept cluster; recreating it")
            script("postgres.sh", "destroy", check=False)
            script("postgres.sh", "start")
            script("migrate.sh")
        if container and names:
            # The rest of `make up`: registry, images, containers, stack.env
            # (PKI, PostgreSQL and migrations are left as they are now).
            sh([build_sh, "up"], env=S.stack_env(SERVICES=" ".join(names)),
               timeout=900)
            return
        for n in names:
            script("service.sh", "start", n)
        script("env.sh")
    elif action == "down":
        if container and names:
            # The bench's containers, registry and PostgreSQL (build.sh
            # down stops what runs under RUN=BENCH_RUN only), then its
            # tags of the images in podman's storage.
            sh([build_sh, "down"], env=S.stack_env(SERVICES=" ".join(names)),
               timeout=300, check=False)
            sh(["podman", "rmi", "--ignore"]
               + ["%s/%s:latest" % (S.registry, n) for n in names],
               env=S.stack_env(CONTAINERS_CONF=CONTAINERS_CONF), check=False)
            return
        for n in reversed(list(names)):
            script("service.sh", "stop", n, check=False)
        script("postgres.sh", "stop", check=False)
    else:
        for n in names:
            if container:
                sh([build_sh, "svc", action, n], env=S.stack_env(**(env or {})),
                   timeout=300)
            else:
                script("service.sh", action, n)


def master_pid(name):
    """The PID (on this host) of the service's master process, or None."""
    if S.stack == "container":
        pid = podman_inspect(name, "{{.State.Pid}}") or ""
    else:
        try:
            with open(os.path.join(S.run, "svc", name + ".pid")) as f:
                pid = f.read().strip()
        except OSError:
            return None
    return int(pid) if pid.isdigit() and int(pid) > 0 else None


def proc_stat(pid):
    """(ppid, starttime in clock ticks since boot) of PID."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[1]), int(rest[19])


def process_tree(root):
    """ROOT and all its descendants (master, key manager, workers)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                kids.setdefault(proc_stat(int(d))[0], []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, queue = [], [root]
    while queue:
        p = queue.pop()
        out.append(p)
        queue.extend(kids.get(p, []))
    return out


def pss_kb(name):
    """Sum of Pss over the service's processes (smaps_rollup), in KiB."""
    pid = master_pid(name)
    if pid is None:
        return None
    total = 0
    for p in process_tree(pid):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


# --- HTTPS helpers -------------------------------------------------------------

def tls_context():
    return ssl.create_default_context(cafile=os.path.join(S.run, "pki",
                                                           "ca.pem"))


def https(port, method, path, body=None, token=None, timeout=2.0, ctx=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                       context=ctx or tls_context())
    try:
        h = {}
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def podman_inspect(name, fmt):
    """podman container inspect -f FMT of the service's container, or
    None."""
    p = subprocess.run(["podman", "container", "inspect", "-f", fmt,
                        S.prefix + "-" + name],
                       env=dict(os.environ, CONTAINERS_CONF=CONTAINERS_CONF),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=30)
    return p.stdout.strip() if p.returncode == 0 else None


def await_ready(name, starter):
    """Runs STARTER() in a thread while polling the service's /readyz
    every 2 ms; returns (CLOCK_REALTIME, CLOCK_BOOTTIME) of the first 200
    and the wall time of STARTER in ms."""
    port = S.ports[name]
    ctx = tls_context()
    result = {}

    def start():
        t0 = time.monotonic()
        try:
            starter()
        except (BenchError, OSError, subprocess.SubprocessError) as e:
            result["error"] = str(e)
        result["command_ms"] = (time.monotonic() - t0) * 1000

    t = threading.Thread(target=start)
    t.start()
    ready_at = None
    end = time.monotonic() + 30
    while time.monotonic() < end and "error" not in result:
        try:
            if https(port, "GET", "/readyz", timeout=0.5, ctx=ctx)[0] == 200:
                ready_at = (time.time(),
                            time.clock_gettime(time.CLOCK_BOOTTIME))
                break
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.002)
    t.join(60)
    if ready_at is None:
        raise BenchError("%s: no /readyz 200 within 30 s: %s"
                         % (name, result.get("error", "")))
    return ready_at, result.get("command_ms", 0)


def master_started(name):
    """CLOCK_BOOTTIME (s) at which the service's master process started
    (/proc/PID/stat, clock ticks). In a container that is the fork of
    runc's init, which later execs the service (same PID)."""
    return proc_stat(master_pid(name))[1] / os.sysconf("SC_CLK_TCK")


def measure_ready(name):
    """Start to ready of a service, in ms; it is stopped and started again
    for it, with /readyz polled every 2 ms (await_ready()).
    Native: ready_ms from the start of the master process to the first
    200. Container: ready_ms from `podman start` of the service's
    container (created by container.sh, then stopped) to the first 200:
    the container's start, what the target is about; and run_ready_ms
    from the `podman run` of container.sh (the time a PATH shim of podman
    records: create and start) to the first 200, split at the container's
    Created and StartedAt and at the master's start. start_command_ms:
    the whole start command (container: pull, run, its health wait)."""
    stack("stop", [name])
    if S.stack != "container":
        (_, ready), cmd_ms = await_ready(
            name, lambda: stack("start", [name]))
        return {"ready_ms": round((ready - master_started(name)) * 1000, 1),
                "start_command_ms": round(cmd_ms, 1)}

    shim = os.path.join(S.run, "podman-shim")
    stamp = os.path.join(shim, "run-at")
    os.makedirs(shim, exist_ok=True)
    with open(os.path.join(shim, "podman"), "w") as f:
        f.write('#!/bin/bash\n'
                '# bench.py: when container.sh calls `podman run`\n'
                '[ "$1" = run ] && printf "%%s\\n" "$EPOCHREALTIME" >"%s"\n'
                'exec %s "$@"\n' % (stamp, shutil.which("podman")))
        os.fchmod(f.fileno(), 0o755)
    if os.path.exists(stamp):
        os.unlink(stamp)
    path = shim + os.pathsep + os.environ.get("PATH", "")
    (ready_rt, ready_bt), cmd_ms = await_ready(
        name, lambda: stack("start", [name], env={"PATH": path}))
    ms = (lambda a, b: round((b - a) * 1000, 1))
    with open(stamp) as f:
        run_at = float(f.read())
    created = int(podman_inspect(name, "{{.Created.UnixNano}}")) / 1e9
    started = int(podman_inspect(name, "{{.State.StartedAt.UnixNano}}")) / 1e9
    # The master's start on the realtime clock.
    master = master_started(name) + (
        time.time() - time.clock_gettime(time.CLOCK_BOOTTIME))
    r = {"run_ready_ms": ms(run_at, ready_rt),
         "start_command_ms": round(cmd_ms, 1),
         "ready_split_ms": {
             "podman_run_to_created": ms(run_at, created),
             "created_to_master_fork": ms(created, master),
             "master_fork_to_started": ms(master, started),
             "started_to_ready": ms(started, ready_rt)},
         "master_ready_ms": ms(master_started(name), ready_bt)}
    # The same container stopped and started again: `podman start` only.
    cname = S.prefix + "-" + name
    env = S.stack_env(CONTAINERS_CONF=CONTAINERS_CONF)
    sh(["podman", "stop", "--time", "10", cname], env=env, timeout=60)
    t0 = time.time()
    (ready_rt, _), _ = await_ready(
        name, lambda: sh(["podman", "start", cname], env=env, timeout=60))
    r["ready_ms"] = ms(t0, ready_rt)
    return r


def ready_median(samples):
    """One start-to-ready record of several measure_ready() ones: the
    median of every figure, and the ready_ms of each start."""
    def merge(xs):
        if isinstance(xs[0], dict):
            return {k: merge([x[k] for x in xs]) for k in xs[0]}
        return round(statistics.median(xs), 1)
    r = merge(samples)
    r["ready_ms_each"] = [x["ready_ms"] for x in samples]
    return r


# --- the HTTPS reference: nginx ----------------------------------------------------

class Nginx:
    def __init__(self):
        self.dir = os.path.join(S.run, "nginx")
        self.proc = None

    def start(self):
        for d in ("tmp",):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        script("pki.sh", "bench-reference")
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            conf = f.read()
        pki = os.path.join(S.run, "pki")
        for k, v in (("@DIR@", self.dir), ("@PORT@", str(S.nginx_port)),
                     ("@CERT@", os.path.join(pki, "bench-reference.pem")),
                     ("@KEY@", os.path.join(pki, "bench-reference.key")),
                     ("@BODY@", REF_BODY)):
            conf = conf.replace(k, v)
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        errlog = os.path.join(self.dir, "error.log")
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c", path, "-e", errlog],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError("nginx exited at start; see " + errlog)
            try:
                st, body = https(S.nginx_port, "GET", "/", timeout=1)
                if st == 200 and body == REF_BODY.encode():
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise BenchError("nginx did not answer within 10 s; see " + errlog)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()		# SIGTERM: fast shutdown
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# --- load generators ---------------------------------------------------------------

PLATFORM_ROUTES = ("/healthz", "/readyz", "/metrics")


def worker_deaths():
    """The lines of the services' logs (this run's: stack("up") removes
    the last run's) that say a worker process died. No case kills one: each
    is a crash, and a failure of the run (tests/worker_deaths.py)."""
    return worker_log.since(os.path.join(S.run, "logs"))


def scrape(port):
    """GET /metrics on PORT; a connection the service resets or does not
    answer fails the run, with what the parent logged if a worker died
    (a reset once came from a worker that died: curl-socket-close.patch)."""
    try:
        return https(port, "GET", "/metrics", timeout=10)
    except OSError as e:
        dead = worker_deaths()
        raise BenchError("GET /metrics on %d: %s%s" % (
            port, e, "; a worker died:\n  " + "\n  ".join(dead[-10:])
            if dead else ""))


def metrics_statuses(port):
    """{status: count} of the answers the service has counted so far (all
    workers: http_requests_total in its /metrics) on every route but the
    platform's own (the harness itself calls those). 499 (client closed)
    is left out: wrk closes its connections at the end of a run with up
    to one request in flight on each."""
    st, body = scrape(port)
    if st != 200:
        raise BenchError("GET /metrics on %d: %d" % (port, st))
    out = {}
    for m in re.finditer(r'^http_requests_total\{route="([^"]*)",'
                         r'[^}]*status="(\d+)"[^}]*\}\s+(\d+)',
                         body.decode(), re.M):
        route, status, count = m.group(1), m.group(2), int(m.group(3))
        if status == "499" or route in PLATFORM_ROUTES:
            continue
        out[status] = out.get(status, 0) + count
    return out


def is_ok(status, ok_status):
    """A success of the case: a status in its "ok_status" (e.g. ["201"]),
    without one any 2xx."""
    return status in ok_status if ok_status else status.startswith("2")


def wrk(port, path, lua, conns, duration, token, extra_env=None,
        sample=None, service=False, ok_status=None, allowed=(), rate=None):
    """One wrk run; returns its figures. sample: service names whose PSS
    is read near the end of the run (under load). service: PORT is one of
    ours, whose /metrics counts every answer by status (wrk itself only
    counts status >= 400): "statuses" is what the run added, and each one
    that is neither ok (is_ok()) nor ALLOWED (a case's "allowed_status":
    answers the contract names under overload, 503 and 429, counted by
    kind but not as errors) is an error. rate: open loop at RATE
    requests/s (wrk/openloop.lua around LUA); the latencies are then
    measured from when each request was due."""
    threads = max(1, min(S.threads, conns))
    script_path = os.path.join(HERE, "wrk", "openloop.lua" if rate else lua)
    cmd = ["wrk", "-t", str(threads), "-c", str(conns),
           "-d", "%ds" % duration, "--timeout", S.wrk_timeout,
           "-s", script_path, "https://127.0.0.1:%d%s" % (port, path)]
    env = dict(os.environ, BENCH_WRK_DIR=os.path.join(HERE, "wrk"),
               BENCH_TOKEN=token or "", **(extra_env or {}))
    if rate:
        env.update(BENCH_CASE_SCRIPT=lua, BENCH_RATE="%.3f" % rate,
                   BENCH_OPENLOOP_START_MS=str(OPENLOOP_START_MS),
                   BENCH_THREADS_N=str(threads))
    before = metrics_statuses(port) if service else {}
    pss = {}
    timer = None
    if sample:
        def take():
            for n in sample:
                pss[n] = pss_kb(n)
        timer = threading.Timer(duration * 0.85, take)
        timer.start()
    try:
        # (run() kills wrk on any exception, the deadline's too.)
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=duration + 60)
    except subprocess.TimeoutExpired:
        raise BenchError("wrk did not finish: " + " ".join(cmd))
    finally:
        if timer:
            timer.cancel()
            timer.join()
    m = re.search(r"^BENCH_JSON (.*)$", p.stdout, re.M)
    o = re.search(r"^BENCH_OPENLOOP (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m or (rate and not o):
        raise BenchError("wrk failed (%d): %s %s" % (
            p.returncode, p.stdout[-800:], p.stderr[-800:]))
    w = json.loads(m.group(1))
    secs = w["duration_us"] / 1e6
    dead = worker_deaths()
    if dead:
        raise BenchError("a worker died during %s:\n  %s"
                         % (" ".join(cmd), "\n  ".join(dead[-10:])))
    if service:
        # The scrape after the run is not itself counted (it is in flight,
        # and on a platform route).
        after = metrics_statuses(port)
        statuses = {k: n - before.get(k, 0) for k, n in after.items()
                    if n - before.get(k, 0) > 0}
        non_ok = {k: n for k, n in statuses.items()
                  if not is_ok(k, ok_status)}
        non2xx = sum(non_ok.values())
        bad = sum(n for k, n in non_ok.items() if k not in allowed)
    else:
        statuses, non2xx = {}, w["status"]
        bad = non2xx
    # wrk counts a reply it cannot parse as a read error too.
    kinds = {k: w[k] for k in SOCKET_ERROR_KINDS if w[k]}
    res = {
        "rps": round(w["requests"] / secs, 1) if secs > 0 else 0.0,
        "requests": w["requests"],
        "p50_ms": round(w["p50_us"] / 1000, 3),
        "p99_ms": round(w["p99_us"] / 1000, 3),
        "p999_ms": round(w["p999_us"] / 1000, 3),
        "max_ms": round(w["max_us"] / 1000, 3),
        "statuses": statuses,
        "non2xx": non2xx,
        "socket_errors": sum(kinds.values()),
        "socket_error_kinds": kinds,
        "errors": bad + sum(kinds.values()),
        "pss_kb": pss,
    }
    if rate:
        ol = json.loads(o.group(1))
        # wrk's own figures measure from the actual send: kept aside.
        res["closed_loop_p99_ms"] = res["p99_ms"]
        res.update({
            "offered_rps": round(rate, 1),
            # The schedule starts OPENLOOP_START_MS into the run.
            "rps": round(ol["answered"] / (secs - OPENLOOP_START_MS / 1000),
                         1) if secs > OPENLOOP_START_MS / 1000 else 0.0,
            "p50_ms": round(ol["p50_us"] / 1000, 3),
            "p99_ms": round(ol["p99_us"] / 1000, 3),
            "p999_ms": round(ol["p999_us"] / 1000, 3),
            "max_ms": round(ol["max_us"] / 1000, 3),
            "behind_max_ms": round(ol["behind_max_us"] / 1000, 3)})
    return res


def db_role(role):
    """(user, password) pgbench connects with."""
    if role == "admin":
        return "crm_admin", secret("db_admin")
    return role, secret("db_" + role)


def secret(name):
    with open(os.path.join(S.run, "secrets", name)) as f:
        return f.read().strip()


def pg_env(role, database="crm_supply_db"):
    """libpq's environment for ROLE on the bench's cluster (TLS, verified
    against the stack's CA). The password by environment: never on a
    command line."""
    user, password = db_role(role)
    return dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(S.pg_port),
                PGDATABASE=database, PGUSER=user, PGPASSWORD=password,
                PGSSLMODE="verify-full",
                PGSSLROOTCERT=os.path.join(S.run, "pki", "ca.pem"),
                PGCONNECT_TIMEOUT="10")


def pgbench(sql, clients, duration, role, protocol="prepared",
            database="crm_supply_db"):
    env = pg_env(role, database)
    if role == "admin":
        # The service roles' planner setting (sql/roles.sql), which the
        # admin role does not have: the reference runs the services' SQL as
        # they run it.
        env["PGOPTIONS"] = "-c plan_cache_mode=force_generic_plan"
    cmd = [os.path.join(PGBIN, "pgbench"), "-n", "-M", protocol,
           "-c", str(clients), "-j", str(max(1, min(S.threads, clients))),
           "-T", str(duration), "-f", os.path.join(HERE, "pgbench", sql)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       timeout=duration + 60)
    tps = re.search(r"^tps = ([0-9.]+)", p.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", p.stdout,
                       re.M)
    lat = re.search(r"^latency average = ([0-9.]+) ms", p.stdout, re.M)
    done = re.search(r"^number of transactions actually processed: (\d+)",
                     p.stdout, re.M)
    if p.returncode != 0 or not tps:
        raise BenchError("pgbench %s failed (%d):\n%s"
                         % (sql, p.returncode, p.stdout[-2000:]))
    return {"rps": round(float(tps.group(1)), 1),
            "errors": int(failed.group(1)) if failed else 0,
            "transactions": int(done.group(1)) if done else None,
            "latency_avg_ms": float(lat.group(1)) if lat else None}


def conf_value(conf, key, default):
    m = re.search(r"^\s*%s\s+(\d+)" % key, conf, re.M)
    return int(m.group(1)) if m else default


def pool_size(names):
    """Database connections the services hold at most: pgsql_conn_max x
    workers of each (conf/<name>.conf; Kore's defaults when unset)."""
    total = 0
    for n in names:
        try:
            with open(os.path.join(REPO, "conf", n + ".conf")) as f:
                conf = f.read()
        except OSError:		# a service not written yet: its case is pending
            continue
        total += (conf_value(conf, "pgsql_conn_max", 2)
                  * conf_value(conf, "workers", os.cpu_count() or 1))
    return total


# --- cases -------------------------------------------------------------------------

def load_cases():
    cases = []
    d = os.path.join(HERE, "cases")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".json"):
            continue
        if S.only and not any(o in f for o in S.only):
            continue
        with open(os.path.join(d, f)) as fh:
            c = json.load(fh)
        c["file"] = f
        c.setdefault("needs", [c["service"]])
        c.setdefault("target", {})
        if S.mode == "smoke" and c.get("smoke", True) is False:
            continue
        c["conns"] = c.get("connections", S.connections)
        if S.mode == "smoke":
            # An overload case keeps its connections ("smoke_connections"):
            # the smoke run goes through shedding once too.
            c["conns"] = c.get("smoke_connections",
                               min(c["conns"], S.connections))
        cases.append(c)
    files = {c["file"]: c for c in cases}
    for c in cases:
        c["pending"] = pending_reason(c, files)
    return cases


def pending_reason(c, files):
    missing = [n for n in c["needs"]
               if not os.path.exists(os.path.join(S.bin_dir, n))]
    if missing:
        return "not built yet: " + ", ".join(missing)
    ref = c.get("reference")
    if ref and ref["kind"] == "db" and not os.path.exists(
            os.path.join(HERE, "pgbench", ref["script"])):
        return "no reference script tests/bench/pgbench/" + ref["script"]
    if "openloop" in c:
        cap = files.get(c["openloop"]["capacity_of"])
        if cap is None or cap["file"] >= c["file"] or \
                pending_reason(cap, files):
            return "its capacity case %s does not run before it" \
                % c["openloop"]["capacity_of"]
    return None


def token_of(c):
    return secret(c.get("token", "service_token"))


def run_case(c, duration, sample=True, rate=None):
    return wrk(S.ports[c["service"]], c["path"], c["wrk"], c["conns"],
               duration, token_of(c), c["env"],
               sample=c["needs"] if sample and c.get("sample_pss", True)
               else None, service=True, ok_status=c.get("ok_status"),
               allowed=c.get("allowed_status", ()), rate=rate)


def run_reference(c, duration, protocol="prepared"):
    """The case's reference, None when it has none (an open-loop or an
    overload case: what it measures is the service against itself)."""
    ref = c.get("reference")
    if ref is None:
        return None
    if ref["kind"] == "https":
        return wrk(S.nginx_port, c["path"], c["wrk"], c["conns"], duration,
                   token_of(c), c["env"])
    return pgbench(ref["script"], pool_size(ref["pool_of"]), duration,
                   ref["role"], protocol)


def run_frozen(c, duration):
    """The case's frozen reference (its "frozen": {"script"}): pgbench in
    FROZEN_DB with the reference's clients and role; None without one."""
    fr = c.get("frozen")
    if fr is None:
        return None
    ref = c["reference"]
    return pgbench(fr["script"], pool_size(ref["pool_of"]), duration,
                   ref["role"], database=FROZEN_DB)


def capacity(c):
    """What an open-loop case's "load" is a share of: the median req/s of
    its capacity case's measured rounds, the figure the table reports (the
    open-loop cases run after every round of the others); its last run's
    (the warm-up) while it has no round (BENCH_RUNS=0).
    One 10 s round is not a capacity: the order flow's rounds differ by up
    to a third (398 and 514/s in one run), and 90 % of a high one is more
    than the stack carries for long (docs/performance.md)."""
    runs = [r["rps"] for r in c["runs"] if r]
    return statistics.median(runs) if runs else c["last"]["rps"]


def measure(c, duration, files, sample=True):
    """One run of a case; an open-loop one at "load" times the capacity
    of its capacity case ("capacity_of", a case file that runs before
    it)."""
    rate = None
    if "openloop" in c:
        ol = c["openloop"]
        rate = max(1.0, ol["load"] * capacity(files[ol["capacity_of"]]))
    if rate and S.openloop_warmup:
        # Steady state: the services' own connections (to each other,
        # kept 5 s when idle, and to PostgreSQL) are warm again after the
        # references ran, as under a constant stream of orders.
        run_case(c, S.openloop_warmup, False, rate)
    c["last"] = run_case(c, duration, sample, rate)
    return c["last"]


def median(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def summarize(c):
    runs, refs = c["runs"], [f for f in c["refs"] if f is not None]
    ratios = [r["rps"] / f["rps"] for r, f in zip(runs, c["refs"])
              if f is not None and f["rps"]]
    statuses = {}
    for r in runs:
        for k, n in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + n
    res = {
        "rps": median([r["rps"] for r in runs]),
        "offered_rps": median([r.get("offered_rps") for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "p999_ms": median([r["p999_ms"] for r in runs]),
        "errors": sum(r["errors"] for r in runs),
        "non2xx": sum(r["non2xx"] for r in runs),
        "statuses": statuses,
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "socket_error_kinds": {k: n for k, n in
                               ((k, sum(r["socket_error_kinds"].get(k, 0)
                                        for r in runs))
                                for k in SOCKET_ERROR_KINDS) if n},
        "reference_rps": median([f["rps"] for f in refs]),
        "reference_errors": sum(f["errors"] for f in refs),
        # Per round (case and reference back to back), then the median.
        "ratio": median(ratios),
    }
    frozen = [f for f in c.get("frozen_runs", ()) if f is not None]
    if frozen:
        res["frozen_rps"] = median([f["rps"] for f in frozen])
        res["frozen_errors"] = sum(f["errors"] for f in frozen)
        res["frozen_ratio"] = median([r["rps"] / f["rps"] for r, f in
                                      zip(runs, c["frozen_runs"])
                                      if f is not None and f["rps"]])
    t = c["target"]
    misses = []
    if "ratio" in t and (res["ratio"] is None or res["ratio"] < t["ratio"]):
        misses.append("ratio %.2f < %.2f" % (res["ratio"] or 0, t["ratio"]))
    if "frozen_ratio" in t and (res.get("frozen_ratio") is None or
                                res["frozen_ratio"] < t["frozen_ratio"]):
        misses.append("%.2f x the frozen reference < %.2f" % (
            res.get("frozen_ratio") or 0, t["frozen_ratio"]))
    if "p99_ms" in t and res["p99_ms"] > t["p99_ms"]:
        misses.append("p99 %.1f ms > %d ms" % (res["p99_ms"], t["p99_ms"]))
    if res["errors"] or res["reference_errors"] or res.get("frozen_errors"):
        verdict = "FAIL"
    elif S.mode == "smoke":
        verdict = "ok"
    else:
        verdict = "MISS" if misses else "PASS"
    res["target_misses"] = misses
    res["verdict"] = verdict
    return res


# --- the run -----------------------------------------------------------------------

def check_tools():
    missing = [t for t in ("wrk", "nginx") if not shutil.which(t)]
    if not os.access(os.path.join(PGBIN, "pgbench"), os.X_OK):
        missing.append("pgbench")
    if S.stack == "container":
        missing += [t for t in ("podman", "buildah", "skopeo",
                                "docker-registry") if not shutil.which(t)]
    if missing:
        raise BenchError("missing %s (./build.sh packages installs them)"
                         % ", ".join(missing))
    if os.geteuid() != 0:
        raise BenchError("must run as root (the stack scripts need it)")


def admin_psql(*sql, timeout=120, database="crm_supply_db"):
    """Run SQL as the database owner; returns psql's unaligned output."""
    env = pg_env("admin", database)
    cmd = [os.path.join(PGBIN, "psql"), "-X", "-q", "-A", "-t",
           "-v", "ON_ERROR_STOP=1"]
    for q in sql:
        cmd += ["-c", q]
    return sh(cmd, env=env, timeout=timeout)


def seed(database="crm_supply_db"):
    admin_psql(SEED_SQL, SEED_CUSTOMER_SQL,
               "VACUUM ANALYZE inventory.products, crm.customers",
               database=database)


def install_frozen():
    """The frozen reference's database: pgbench/frozen/ (the migrations
    of before issue 16, never edited) in FROZEN_DB, applied once (each in
    a transaction, as migrate.sh does), and seeded like the live one. The
    service roles the migrations grant to exist already (migrate.sh)."""
    if not admin_psql("SELECT 1 FROM pg_database WHERE datname = '%s'"
                      % FROZEN_DB, database="postgres").strip():
        admin_psql("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
                   "LOCALE 'C.UTF-8'" % FROZEN_DB, database="postgres")
    if not admin_psql("SELECT to_regclass('public.frozen_installed') "
                      "IS NOT NULL", database=FROZEN_DB).strip() == "t":
        log("installing the frozen reference schema in %s" % FROZEN_DB)
        cmd = [os.path.join(PGBIN, "psql"), "-X", "-q", "-1",
               "-v", "ON_ERROR_STOP=1", "-c", "SET client_min_messages = "
               "warning"]
        for f in sorted(os.listdir(FROZEN_DIR)):
            if f.endswith(".sql"):
                cmd += ["-f", os.path.join(FROZEN_DIR, f)]
        cmd += ["-c", "CREATE TABLE public.frozen_installed ()"]
        sh(cmd, env=pg_env("admin", FROZEN_DB))
    seed(FROZEN_DB)


def db_work():
    """Counters of the database work so far: write transactions (the
    cluster's next transaction id: one per commit that wrote, whichever
    database; the bench measures one thing at a time) and the statements
    pg_stat_statements counted in the live and the frozen database, top
    level (what a client sent) and nested (run inside the functions)."""
    out = admin_psql(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, "
        "coalesce(sum(calls) FILTER (WHERE toplevel), 0), "
        "coalesce(sum(calls) FILTER (WHERE NOT toplevel), 0) "
        "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname IN ('crm_supply_db', '%s')" % FROZEN_DB,
        # The extension's view is in the maintenance database (postgres.sh
        # sql); it shows every database's statements.
        database="postgres")
    x, top, nested = (int(v) for v in out.strip().split("|"))
    return {"xacts": x, "statements": top, "nested": nested}


def per_order(before, after, orders):
    """The database work of one order between two db_work() readings."""
    if not orders:
        return None
    return {k: round((after[k] - before[k]) / orders, 2) for k in before}


def quiesce(c, limit=60):
    """After a run that creates orders (the case, or its reference, which
    pgbench may stop between two statements of an order): wait until
    crm-api's outbox is empty, i.e. every order created is settled, so that
    no straggler (a 202 forwarded later, a half-done reference order that
    the dispatcher forwards) runs into the next case's time and counts."""
    if "crm-api" not in c["needs"]:
        return
    t_end = time.monotonic() + limit
    while True:
        left = int(admin_psql("SELECT count(*) FROM crm.outbox").strip())
        if left == 0:
            return
        if time.monotonic() > t_end:
            log("%d order(s) still unsettled after %d s; going on"
                % (left, limit))
            return
        time.sleep(0.2)


def image_sizes(names):
    """{NAME: (compressed, uncompressed) bytes} of the images the
    container stack ran ($BUILD/images/NAME, built by `./build.sh up`
    from this run's executables): the bytes a pull transfers (manifest,
    config, layer: the registry's manifest lists the same blobs) and the
    layer unpacked. images/sizes.py computes both."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "sizes", os.path.join(REPO, "images", "sizes.py"))
    sizes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sizes)
    out = {}
    for n in names:
        d = os.path.join(S.build, "images", n)
        try:
            with open(os.path.join(d, "version")) as f:
                tag = f.read().strip()
            out[n] = sizes.image_sizes(os.path.join(d, "oci"), tag)[1:]
        except (OSError, ValueError) as e:
            log("%s: no image size: %s" % (n, e))
    return out


def binary_sizes():
    out = {}
    for n in SERVICES:
        p = os.path.join(S.bin_dir, n)
        out[n] = os.path.getsize(p) if os.path.exists(p) else None
    return out


def main(mode):
    global S
    S = Settings(mode)
    check_tools()
    # wrk holds a socket per connection (2000 in the largest case).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 16384:
        resource.setrlimit(resource.RLIMIT_NOFILE, (16384, hard if
                           hard == resource.RLIM_INFINITY or hard >= 16384
                           else 16384))
    t_start = time.monotonic()
    cases = load_cases()
    active = [c for c in cases if not c["pending"]]
    # The full run starts every built service (its start time and PSS are
    # measured even without a case); the smoke run only what its cases need.
    needed = [n for n in SERVICES if any(n in c["needs"] for c in active)
              or (mode == "full"
                  and os.path.exists(os.path.join(S.bin_dir, n)))]
    ports = [S.nginx_port, S.pg_port] + [S.ports[n] for n in needed]
    if S.stack == "container":
        ports.append(int(S.registry.rsplit(":", 1)[1]))
    busy = [p for p in ports if port_open(p)]
    if busy:
        raise BenchError("ports in use: %s (another bench? set "
                         "BENCH_PORT_BASE / BENCH_PG_PORT / BENCH_REGISTRY)"
                         % busy)
    report = {
        "mode": mode, "stack": S.stack,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start":
                    list(os.getloadavg())},
        "settings": {"duration_s": S.duration, "warmup_s": S.warmup,
                     "runs": S.runs, "threads": S.threads,
                     "rate_limit_rate": S.rate, "rate_limit_burst": S.burst},
        "cases": [], "services": {}, "gaps": {}, "db_work": {},
    }
    nginx = Nginx()
    os.makedirs(S.run, exist_ok=True)
    try:
        log("starting PostgreSQL and %s in %s (%s)"
            % (", ".join(needed) or "no service", S.run, S.stack))
        stack("up", needed)
        seed()
        if any("frozen" in c or c.get("db_work") for c in active):
            script("postgres.sh", "sql", input_text="CREATE EXTENSION IF "
                   "NOT EXISTS pg_stat_statements")
            install_frozen()
        for n in needed:
            r = ready_median([measure_ready(n) for _ in range(S.runs)])
            time.sleep(0.3)
            r["pss_idle_kb"] = pss_kb(n)
            report["services"][n] = r
        if any(c.get("reference", {}).get("kind") == "https"
               for c in active):
            nginx.start()
        files = {c["file"]: c for c in active}
        for c in active:
            c["env"] = {}
            c["runs"], c["refs"], c["frozen_runs"] = [], [], []
        # Three groups, each case's rounds within its group: the closed
        # loop cases; the open-loop ones, whose rate is a share of a
        # capacity measured in every round of the first group (capacity());
        # last the overload cases (no PSS under their load): what a burst
        # of thousands of connections leaves allocated stays (Kore's pools
        # and the allocator keep their high-water mark), and would be read
        # as the other cases' PSS under load. What they leave is reported
        # apart.
        pss = [c for c in active if c.get("sample_pss", True)]
        groups = [[c for c in pss if "openloop" not in c],
                  [c for c in pss if "openloop" in c],
                  [c for c in active if not c.get("sample_pss", True)]]
        for group in groups:
            if S.warmup:
                log("warming up")
                for c in group:
                    measure(c, S.warmup, files, sample=False)
                    quiesce(c)
                    run_reference(c, S.warmup)
                    quiesce(c)
                    run_frozen(c, S.warmup)
            for rnd in range(S.runs):
                for c in group:
                    log("round %d/%d: %s" % (rnd + 1, S.runs, c["name"]))
                    count = rnd == 0 and c.get("db_work")
                    w0 = db_work() if count else None
                    c["runs"].append(measure(c, S.duration, files))
                    w1 = db_work() if count else None
                    quiesce(c)
                    w2 = db_work() if count else None
                    c["refs"].append(run_reference(c, S.duration))
                    w3 = db_work() if count else None
                    quiesce(c)
                    w4 = db_work() if count else None
                    c["frozen_runs"].append(run_frozen(c, S.duration))
                    w5 = db_work() if count else None
                    if count:
                        # Per confirmed order: the service's 201s, and one
                        # order per pgbench transaction.
                        ref, frz = c["refs"][-1], c["frozen_runs"][-1]
                        report["db_work"][c["name"]] = {
                            "service": per_order(w0, w1, c["runs"][-1][
                                "statuses"].get("201", 0)),
                            "reference": per_order(
                                w2, w3, ref and ref.get("transactions")),
                            "frozen": per_order(
                                w4, w5, frz and frz.get("transactions"))}
                    if rnd == 0 and c.get("reference", {}).get("kind") == "db":
                        # The same SQL unprepared shows what planning every
                        # statement would cost: Kore 4.1 sends unnamed ones;
                        # Kore's pgsql-prepared-statements.patch prepares
                        # once per connection (docs/performance.md).
                        u = run_reference(c, S.duration, "extended")
                        quiesce(c)
                        report["gaps"][c["name"]] = {
                            "db_prepared_rps": c["refs"][0]["rps"],
                            "db_unnamed_rps": u["rps"],
                            "prepared_over_unnamed": round(
                                c["refs"][0]["rps"] / u["rps"], 2)
                            if u["rps"] else None}
        if groups[2]:
            time.sleep(1)
            for n in needed:
                report["services"][n]["pss_after_overload_kb"] = pss_kb(n)
    finally:
        signal.alarm(0)		# the clean-up runs to its end
        nginx.stop()
        try:
            stack("down", needed)
        except Exception as e:	# still report what was measured
            log("stopping the stack: %s" % e)

    for c in cases:
        row = {"name": c["name"], "file": c["file"], "about": c.get("about"),
               "service": c["service"], "connections": c["conns"],
               "reference": reference_label(c), "target": c["target"]}
        if "allowed_status" in c:
            row["allowed_status"] = c["allowed_status"]
        if c["pending"]:
            row.update(verdict="pending", pending=c["pending"])
        else:
            row.update(summarize(c))
            row["runs"], row["reference_runs"] = c["runs"], c["refs"]
            for r in c["runs"]:
                for n, kb in r["pss_kb"].items():
                    s = report["services"].setdefault(n, {})
                    if kb is not None:
                        s["pss_load_kb"] = max(s.get("pss_load_kb", 0), kb)
        report["cases"].append(row)
    sizes = binary_sizes()
    images = image_sizes(needed) if S.stack == "container" else {}
    for n in SERVICES:
        s = report["services"].setdefault(n, {})
        s["binary_bytes"] = sizes[n]
        c, u = images.get(n, (None, None))
        s["image_compressed_bytes"], s["image_unpacked_bytes"] = c, u
        if sizes[n] is None:
            s["note"] = "not built"
        elif n not in needed:
            s["note"] = "not started (smoke: no runnable case needs it)"
    report["elapsed_s"] = round(time.monotonic() - t_start, 1)
    failed = print_report(report)
    os.makedirs(os.path.dirname(S.results), exist_ok=True)
    with open(S.results, "w") as f:
        json.dump(report, f, indent=1)
    log("results in %s (%.0f s)" % (os.path.relpath(S.results, REPO),
                                     report["elapsed_s"]))
    return 1 if failed else 0


def work_label(x):
    """One per_order() reading as the report prints it."""
    if x is None:
        return "-"
    return "%.2f commits, %.2f / %.1f statements" % (
        x["xacts"], x["statements"], x["nested"])


def reference_label(c):
    ref = c.get("reference")
    if ref is None:
        return "-"
    if ref["kind"] == "https":
        return "https (nginx)"
    return "db %s x%d" % (ref["script"], pool_size(ref["pool_of"]))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_report(r):
    """Prints the tables; returns True when the run failed."""
    failed = False
    print()
    print("bench %s, %s stack, %d s x %d run(s), load average at start %.2f"
          % (r["mode"], r["stack"], S.duration, S.runs,
             r["machine"]["loadavg_at_start"][0]))
    hdr = ("%-22s %5s %9s %8s %8s %8s %6s  %-28s %9s %6s %9s  %s"
           % ("case", "conns", "req/s", "p50 ms", "p99 ms", "p99.9", "errors",
              "reference", "ref/s", "ratio", "target", "verdict"))
    print(hdr)
    print("-" * len(hdr))
    for c in r["cases"]:
        t = c["target"]
        tgt = ",".join(([">=%.2f" % t["ratio"]] if "ratio" in t else [])
                       + (["frz>=%.1f" % t["frozen_ratio"]]
                          if "frozen_ratio" in t else [])
                       + (["p99<=%d" % t["p99_ms"]] if "p99_ms" in t
                          else [])) or "-"
        if c["verdict"] == "pending":
            print("%-22s %5d %9s %8s %8s %8s %6s  %-28s %9s %6s %9s  "
                  "pending: %s" % (c["name"], c["connections"], "-", "-", "-",
                                   "-", "-", c["reference"], "-", "-", tgt,
                                   c["pending"]))
            continue
        v = c["verdict"]
        if c["target_misses"] and r["mode"] == "smoke":
            v += " (below target)"
        elif c["target_misses"]:
            v += ": " + "; ".join(c["target_misses"])
        if c["verdict"] in ("FAIL", "MISS"):
            failed = True
        if c["errors"]:
            v += " (%d non-2xx, %d socket errors%s)" % (
                c["non2xx"], c["socket_errors"],
                "".join(", %s %d" % kv
                        for kv in c["socket_error_kinds"].items()))
        if c["reference_errors"]:
            v += " (reference: %d errors)" % c["reference_errors"]
        if c.get("offered_rps") is not None:
            v += " (open loop, offered %.0f/s)" % c["offered_rps"]
        print("%-22s %5d %9s %8s %8s %8s %6d  %-28s %9s %6s %9s  %s"
              % (c["name"], c["connections"], fmt(c["rps"], ".0f"),
                 fmt(c["p50_ms"], ".2f"), fmt(c["p99_ms"], ".2f"),
                 fmt(c["p999_ms"], ".2f"), c["errors"], c["reference"],
                 fmt(c["reference_rps"], ".0f"), fmt(c["ratio"], ".2f"), tgt,
                 v))
    kinds = [c for c in r["cases"] if c["verdict"] != "pending" and
             (c["errors"] or "allowed_status" in c or
              c.get("offered_rps") is not None)]
    if kinds:
        print()
        print("answers by kind (summed over the runs; under overload the "
              "contract allows only successes, 503 unavailable and 429, "
              "each with Retry-After)")
        for c in kinds:
            st = c["statuses"]
            print("  %-22s %s; socket errors %d%s" % (
                c["name"], ", ".join("%s: %d" % (k, st[k])
                                     for k in sorted(st)) or "none",
                c["socket_errors"],
                "".join(" (%s %d)" % kv
                        for kv in c["socket_error_kinds"].items())))
    print()
    hdr = ("%-18s %10s %15s %16s %13s %20s"
           % ("service", "binary MiB", "image MiB gz/un", "ready ms (<=300)",
              "PSS idle MiB", "PSS load MiB (<=24)"))
    print(hdr)
    print("-" * len(hdr))
    for n in SERVICES:
        s = r["services"][n]
        ready, load = s.get("ready_ms"), s.get("pss_load_kb")
        notes = []
        if ready is not None and ready > TARGET_READY_MS:
            notes.append("slow start")
        if load is not None and load > TARGET_PSS_KB:
            notes.append("PSS over target")
        if notes and r["mode"] == "full":
            failed = True
        mib = (lambda kb: None if kb is None else kb / 1024)
        mb = (lambda b: None if b is None else b / 1048576)
        image = "-" if s.get("image_compressed_bytes") is None else \
            "%.2f/%.2f" % (mb(s["image_compressed_bytes"]),
                           mb(s["image_unpacked_bytes"]))
        print("%-18s %10s %15s %16s %13s %20s  %s"
              % (n, fmt(mb(s["binary_bytes"]), ".2f"),
                 image, fmt(ready, ".0f"), fmt(mib(s.get("pss_idle_kb")),
                                               ".1f"),
                 fmt(mib(load), ".1f"), ", ".join(notes) or s.get("note", "")))
    after = [(n, r["services"][n]["pss_after_overload_kb"]) for n in SERVICES
             if r["services"][n].get("pss_after_overload_kb") is not None]
    if after:
        print()
        print("PSS after the overload cases, idle (MiB; no target: what a "
              "burst of thousands of connections leaves allocated stays, "
              "Kore's pools and the allocator keep their high-water mark): "
              + ", ".join("%s %.1f" % (n, kb / 1024) for n, kb in after))
    split = [(n, r["services"][n]) for n in SERVICES
             if "ready_split_ms" in r["services"][n]]
    if split:
        print()
        print("start to ready in a container (ms): start = `podman start` of "
              "the created container (the target's figure), run = "
              "container.sh's `podman run` (create and start), split")
        print("  %-18s %6s %6s %14s %14s %13s %11s %10s %8s"
              % ("service", "start", "run", "run->created", "created->fork",
                 "fork->started", "started->ok", "master->ok", "command"))
        for n, s in split:
            x = s["ready_split_ms"]
            print("  %-18s %6.0f %6.0f %14.0f %14.0f %13.0f %11.0f %10.0f "
                  "%8.0f" % (n, s["ready_ms"], s["run_ready_ms"],
                             x["podman_run_to_created"],
                             x["created_to_master_fork"],
                             x["master_fork_to_started"],
                             x["started_to_ready"], s["master_ready_ms"],
                             s["start_command_ms"]))
    frozen = [c for c in r["cases"] if c.get("frozen_rps") is not None]
    if frozen:
        print()
        print("against the frozen reference: the order flow's SQL and "
              "schema of before issue 16 (pgbench/order_flow.sql on "
              "pgbench/frozen/, database %s), same run" % FROZEN_DB)
        for c in frozen:
            t = c["target"].get("frozen_ratio")
            print("  %-22s service %s/s; now %s %s/s; frozen %s/s%s: "
                  "service x%s of the frozen reference%s"
                  % (c["name"], fmt(c["rps"], ".0f"), c["reference"],
                     fmt(c["reference_rps"], ".0f"),
                     fmt(c["frozen_rps"], ".0f"),
                     " (%d errors)" % c["frozen_errors"]
                     if c["frozen_errors"] else "",
                     fmt(c["frozen_ratio"], ".2f"),
                     " (target >= %.2f)" % t if t else ""))
    if r["db_work"]:
        print()
        print("database work per confirmed order (first round; write "
              "transactions by transaction id, statements by "
              "pg_stat_statements: sent / run inside functions)")
        for name, w in r["db_work"].items():
            print("  %-22s %s" % (name, "; ".join(
                "%s %s" % (k, work_label(w.get(k)))
                for k in ("service", "reference", "frozen"))))
    if r["gaps"]:
        print()
        print("statement planning: prepared vs unnamed, what Kore's "
              "pgsql-prepared-statements.patch saves (Kore 4.1 alone "
              "sends unnamed statements)")
        for name, g in r["gaps"].items():
            print("  %-22s pgbench prepared %8.0f/s, unnamed %8.0f/s: x%s"
                  % (name, g["db_prepared_rps"], g["db_unnamed_rps"],
                     g["prepared_over_unnamed"]))
    print()
    return failed


def log_tails(n=15):
    """After a failure: what each service said besides its request lines
    (Kore's processes, warnings, errors), the last N lines of each, so a
    failed run elsewhere (CI) can be read without its machine."""
    for name in SERVICES:
        try:
            with open(os.path.join(S.run, "logs", name + ".log"),
                      errors="replace") as f:
                lines = [l.rstrip() for l in f
                         if '"level":"info"' not in l]
        except (FileNotFoundError, NameError, AttributeError):
            continue
        if lines:
            log("%s, last %d lines but info:\n  %s"
                % (name, min(n, len(lines)), "\n  ".join(lines[-n:])))


def on_signal(signum, frame):
    raise BenchError("aborted by signal %d" % signum)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("smoke", "full"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    mode = sys.argv[1]
    signal.alarm(env_num("BENCH_DEADLINE", 1800 if mode == "full" else 240))
    try:
        sys.exit(main(mode))
    except BenchError as e:
        log("FAILED: %s" % e)
        log_tails()
        sys.exit(1)
    except Exception:
        log_tails()
        raise
