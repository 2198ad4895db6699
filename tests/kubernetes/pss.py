"""pss.py - the Pod Security Standards, "baseline" and "restricted", as
kubernetes.io/docs/concepts/security/pod-security-standards/ defines them
(the controls of the current version, "latest"), checked on an object's
pod template. violations(obj, level) lists what breaks the level; an empty
list is a pass.

Baseline: no HostProcess; no host namespaces; no privileged container;
capabilities added only from the baseline's list; no hostPath volume; no
host port; AppArmor only RuntimeDefault/Localhost; SELinux only the
container types, no user or role; /proc mount Default; seccomp not
Unconfined; only the safe sysctls.
Restricted, in addition: only the core volume types; no privilege
escalation (allowPrivilegeEscalation false); runAsNonRoot true; no uid 0;
seccomp RuntimeDefault or Localhost, set; capabilities drop ALL and add at
most NET_BIND_SERVICE.
"""

BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID",
                 "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                 "SETPCAP", "SETUID", "SYS_CHROOT"}
RESTRICTED_CAPS = {"NET_BIND_SERVICE"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir",
                      "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
                "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t",
                 "container_engine_t"}
APPARMOR_TYPES = {"RuntimeDefault", "Localhost"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}
LEVELS = ("baseline", "restricted")


def pod_template(obj):
    """(metadata, spec) of the pod an object runs, or None."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("metadata") or {}, obj.get("spec") or {}
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    elif kind not in ("Deployment", "StatefulSet", "DaemonSet",
                      "ReplicaSet", "Job", "ReplicationController"):
        return None
    t = spec.get("template") or {}
    return t.get("metadata") or {}, t.get("spec") or {}


def _containers(spec):
    for k in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(k) or []:
            yield "%s[%s]" % (k, c.get("name")), c


def _baseline(meta, spec, out):
    psc = spec.get("securityContext") or {}
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        out.append("spec.securityContext.windowsOptions.hostProcess")
    for f in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(f):
            out.append("spec.%s" % f)
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            out.append("spec.volumes[%s].hostPath" % v.get("name"))
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            out.append("spec.securityContext.sysctls %s" % s.get("name"))
    ctxs = [("spec.securityContext", psc)]
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        ctxs.append(("%s.securityContext" % where, sc))
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            out.append("%s.securityContext.windowsOptions.hostProcess" %
                       where)
        if sc.get("privileged"):
            out.append("%s.securityContext.privileged" % where)
        added = set((sc.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPS:
            out.append("%s.securityContext.capabilities.add %s" % (
                where, sorted(added - BASELINE_CAPS)))
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append("%s.ports.hostPort %s" % (where, p["hostPort"]))
        if sc.get("procMount", "Default") != "Default":
            out.append("%s.securityContext.procMount" % where)
    for where, sc in ctxs:
        t = (sc.get("appArmorProfile") or {}).get("type")
        if t is not None and t not in APPARMOR_TYPES:
            out.append("%s.appArmorProfile %s" % (where, t))
        se = sc.get("seLinuxOptions") or {}
        if se.get("type", "") not in SELINUX_TYPES:
            out.append("%s.seLinuxOptions.type %s" % (where, se["type"]))
        for f in ("user", "role"):
            if se.get(f):
                out.append("%s.seLinuxOptions.%s" % (where, f))
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            out.append("%s.seccompProfile Unconfined" % where)
    for k, v in (meta.get("annotations") or {}).items():
        if k.startswith("container.apparmor.security.beta.kubernetes.io/") \
                and v != "runtime/default" and not v.startswith(
                    "localhost/"):
            out.append("annotation %s: %s" % (k, v))


def _restricted(meta, spec, out):
    psc = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if kinds - RESTRICTED_VOLUMES:
            out.append("spec.volumes[%s] type %s" % (
                v.get("name"), sorted(kinds - RESTRICTED_VOLUMES)))
    if psc.get("runAsUser") == 0:
        out.append("spec.securityContext.runAsUser 0")
    pod_nonroot = psc.get("runAsNonRoot") is True
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type") in SECCOMP_OK
    for where, c in _containers(spec):
        sc = c.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append("%s.securityContext.allowPrivilegeEscalation not "
                       "false" % where)
        nonroot = sc.get("runAsNonRoot")
        if nonroot is False or (nonroot is None and not pod_nonroot):
            out.append("%s: runAsNonRoot not true" % where)
        if sc.get("runAsUser") == 0:
            out.append("%s.securityContext.runAsUser 0" % where)
        t = (sc.get("seccompProfile") or {}).get("type")
        if (t is None and not pod_seccomp) or (t is not None and
                                               t not in SECCOMP_OK):
            out.append("%s: seccompProfile not RuntimeDefault/Localhost" %
                       where)
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append("%s.securityContext.capabilities.drop lacks ALL" %
                       where)
        added = set(caps.get("add") or [])
        if added - RESTRICTED_CAPS:
            out.append("%s.securityContext.capabilities.add %s "
                       "(restricted)" % (where,
                                         sorted(added - RESTRICTED_CAPS)))


def violations(obj, level):
    if level not in LEVELS:
        raise ValueError(level)
    pt = pod_template(obj)
    if pt is None:
        return []
    meta, spec = pt
    out = []
    _baseline(meta, spec, out)
    if level == "restricted":
        _restricted(meta, spec, out)
    return out
