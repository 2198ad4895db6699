"""Several replicas of every service behind a real load balancer, as on
Kubernetes (issue 14 §4): haproxy in TCP mode stands in for each
Service (kube-proxy balances connections, not requests, and passes TLS
through), with a health check on every replica's /readyz over TLS, like a
readiness probe. The services reach each other through it: a replica's
NAME_PORT is the balancer's frontend, its own port INSTANCE_PORT
(platform/stack/service.sh)."""

import json
import os
import socket
import subprocess

from conftest import ENV, REPO, RUN, stack, wait_for

DECLS = json.loads(subprocess.run(
    [os.path.join(REPO, "platform", "tools", "service-decl"), "json"],
    check=True, stdout=subprocess.PIPE, text=True).stdout)
_OFF = int(os.environ.get("ITEST_PORT_OFFSET", "0"))


def stem(name):
    return name.upper().replace("-", "_")


class Cluster:
    """N replicas of every declared service and one haproxy."""

    def __init__(self, replicas=2, base=18600):
        self.n = replicas
        self.names = sorted(DECLS)
        self.front = {}
        self.port = {}
        for k, name in enumerate(self.names):
            self.front[name] = base + _OFF + k
            for i in range(1, replicas + 1):
                self.port[name, i] = base + _OFF + 100 * i + k
        self.dir = os.path.join(RUN, "balancer")
        self.sock = os.path.join(self.dir, "admin.sock")
        self.pidfile = os.path.join(self.dir, "haproxy.pid")
        self.env = dict(ENV, **{stem(n) + "_PORT": str(p)
                                for n, p in self.front.items()})
        # Every replica sees the balancer's address as its client's: the
        # per-address rate limit would throttle the whole test's load.
        self.env.update(RATE_LIMIT_RATE="100000", RATE_LIMIT_BURST="100000")

    # --- the balancer ---------------------------------------------------

    def config(self):
        ca = os.path.join(RUN, "pki", "ca.pem")
        out = ["global",
               "\tmaxconn 4096",
               "\tstats socket %s mode 600 level admin" % self.sock,
               "\tpidfile %s" % self.pidfile,
               "defaults",
               "\tmode tcp",
               "\ttimeout connect 2s",
               "\ttimeout client 60s",
               "\ttimeout server 60s",
               # A connection refused by a replica going away is tried on
               # another one (nothing was sent on it yet).
               "\tretries 3",
               "\toption redispatch"]
        for name in self.names:
            out += ["frontend %s" % name,
                    "\tbind 127.0.0.1:%d" % self.front[name],
                    "\tdefault_backend %s" % name,
                    "backend %s" % name,
                    "\tbalance roundrobin",
                    "\toption httpchk",
                    "\thttp-check send meth GET uri /readyz ver HTTP/1.1 "
                    "hdr Host 127.0.0.1",
                    "\thttp-check expect status 200",
                    "\tdefault-server check check-ssl verify required "
                    "ca-file %s inter 300ms fall 1 rise 2" % ca]
            for i in range(1, self.n + 1):
                out.append("\tserver r%d 127.0.0.1:%d" % (i,
                                                          self.port[name, i]))
        return "\n".join(out) + "\n"

    def start_balancer(self):
        os.makedirs(self.dir, exist_ok=True)
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(self.config())
        subprocess.run(["haproxy", "-c", "-q", "-f", cfg], check=True)
        subprocess.run(["haproxy", "-D", "-f", cfg], check=True, timeout=30)

    def stop_balancer(self):
        try:
            with open(self.pidfile) as f:
                os.kill(int(f.read().split()[0]), 15)
        except (OSError, ValueError):
            pass

    def admin(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall((cmd + "\n").encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.decode()

    def states(self):
        """{(service, replica): 'UP'|'DOWN'|...} as the balancer sees them."""
        lines = self.admin("show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("svname", "").startswith("r"):
                out[row["pxname"], int(row["svname"][1:])] = \
                    row["status"].split()[0]
        return out

    def wait_up(self, pairs=None, timeout=30):
        pairs = pairs or [(n, i) for n in self.names
                          for i in range(1, self.n + 1)]
        return wait_for(lambda: all(self.states().get(p) == "UP"
                                    for p in pairs), timeout=timeout)

    # --- the replicas -----------------------------------------------------

    def replica_env(self, name, i):
        return dict(self.env, INSTANCE=str(i),
                    INSTANCE_PORT=str(self.port[name, i]))

    def run(self, cmd, name, i, check=True):
        return stack("service.sh", cmd, name, env=self.replica_env(name, i),
                     check=check)

    def start(self):
        self.start_balancer()
        for name in self.names:
            for i in range(1, self.n + 1):
                self.run("start", name, i)
        assert self.wait_up(), self.states()

    def stop(self):
        for name in self.names:
            for i in range(1, self.n + 1):
                self.run("stop", name, i, check=False)
        self.stop_balancer()

    def log(self, name, i):
        return os.path.join(RUN, "logs", "%s.%d.log" % (name, i))
