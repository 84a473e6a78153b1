"""Shared pieces of bench/compare and bench/mesh: the processes they start (stopped by pid on
every exit path), their private loopback block, CPU and memory read from /proc, and clusters
with real certificates made by the project's own scripts (make-cluster-ca, request_ssl_key.sh,
sign-response and the response script, as an admin makes them)."""

import atexit
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
LON_PORT = 5663


class Deadline(Exception):
    """The tool's global deadline passed."""


def die(msg, code=2):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------------------------------------
# Processes: everything started goes into one registry and is stopped by pid at exit, on TERM,
# INT and HUP too (the handlers turn those into SystemExit so the finally/atexit paths run).

_started = []  # (pid, start time from /proc, Popen or None)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def proc_stat(pid):
    """Fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state), or
    None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()


def start_time(pid):
    s = proc_stat(pid)
    return int(s[19]) if s else None


def alive(pid):
    s = proc_stat(pid)
    return s is not None and s[0] not in ("Z", "X")


def spawn(argv, stdout=None, stderr=None, **kw):
    """Starts argv (stdin from /dev/null) and records it for the clean-up."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, **kw)
    _started.append((p.pid, start_time(p.pid), p))
    return p


def note_pid(pid):
    """Records a process we did not spawn ourselves (a daemon's child) for the clean-up."""
    st = start_time(pid)
    if st is not None:
        _started.append((pid, st, None))


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = proc_stat(int(name))
            if s:
                kids.setdefault(int(s[1]), []).append(int(name))
    return kids


def descendants(pids, kids=None):
    kids = kids if kids is not None else children_map()
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _same(pid, st):
    return st is not None and start_time(pid) == st


def stop_all():
    """TERM every recorded process (and every descendant it still has), wait up to 5 s in
    all, then KILL what is left; reaps our own children."""
    entries = list(_started)
    _started.clear()
    extra = [(d, start_time(d), None) for d in descendants([pid for pid, _, _ in entries])]
    entries += extra
    for pid, st, _ in entries:
        if _same(pid, st):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    end = time.monotonic() + 5
    for pid, st, p in entries:
        while time.monotonic() < end:
            if p is not None and p.poll() is not None:
                break
            if p is None and not (_same(pid, st) and alive(pid)):
                break
            time.sleep(0.02)
    for pid, st, p in entries:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        elif p is None and _same(pid, st) and alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


atexit.register(stop_all)


def cpu_seconds(pids):
    """CPU (user + system) used so far by the processes `pids`, their live descendants, and
    the children they have already reaped."""
    total = 0
    kids = children_map()
    for pid in set(pids) | set(descendants(pids, kids)):
        s = proc_stat(pid)
        if s:
            total += int(s[11]) + int(s[12]) + int(s[13]) + int(s[14])
    return total / CLK_TCK


def machine_busy_seconds():
    """CPU seconds the whole machine has been busy (every field of /proc/stat's cpu line but
    idle and iowait), summed over all cores: the difference over a window is the work done
    in it, whoever did it."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def machine_steal_seconds():
    """CPU seconds the hypervisor has taken from this guest's cores (/proc/stat's steal,
    summed over all cores): time a process here was ready to run and no core ran it."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (fields[7] if len(fields) > 7 else 0) / CLK_TCK


def private_kib(pid):
    """Private_Clean + Private_Dirty of a process in KiB (None when gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            total = 0
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
            return total
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# Loopback block: 127.210-219.<b>.x, held with a lock file for the whole run, so two bench runs
# never share addresses; tests use 127.100-199, the demo 127.0.0.x, bench/run-e2e.sh 127.200-209.

_lock_fd = None


def claim_block():
    """Returns '127.A.B' (A in 210..219) whose lock this process now holds."""
    global _lock_fd
    start = os.getpid()
    for k in range(10 * 250):
        n = (start + k) % (10 * 250)
        net = f"127.{210 + n // 250}.{1 + n % 250}"
        fd = os.open(f"/tmp/lonlink-bench-{net}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _lock_fd = fd
        return net
    die("every loopback block 127.210-219.x is in use by another bench run", 1)


# ---------------------------------------------------------------------------------------------
# Tools and clusters.

def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binaries(build):
    b = {
        "lond": os.path.join(build, "daemons/lond/lond"),
        "lonc": os.path.join(build, "daemons/lonc/lonc"),
        "lonload": os.path.join(build, "bench/lonload"),
        "lonecho": os.path.join(build, "bench/lonecho"),
        "bindfloor": os.path.join(build, "bench/bindfloor"),
    }
    for path in b.values():
        if not os.access(path, os.X_OK):
            die(f"missing {path}: build first (BUILD_DIR=build ./scripts/build.sh)", 1)
    return b


def ensure_stunnel():
    """The stunnel binary; installs Debian's stunnel4 when missing (as root), else says how."""
    for name in ("stunnel4", "stunnel"):
        path = shutil.which(name)
        if path:
            return path
    line = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y stunnel4"
    if os.geteuid() != 0:
        die(f"stunnel is not installed; as root run:\n  {line}", 1)
    print(f"installing stunnel4: {line}", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "stunnel4"], check=False,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                   stdout=subprocess.DEVNULL, timeout=300)
    if not shutil.which("stunnel4") and not shutil.which("stunnel"):
        subprocess.run(["bash", "-c", line], check=False, stdout=subprocess.DEVNULL, timeout=600)
    for name in ("stunnel4", "stunnel"):
        path = shutil.which(name)
        if path:
            return path
    die("could not install stunnel4", 1)


def make_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    if os.environ.get("BENCH_KEEP"):
        print(f"BENCH_KEEP: keeping {d} (logs, configs, certificates)", file=sys.stderr)
    else:
        atexit.register(shutil.rmtree, d, True)
    return d


def run_script(argv, timeout=60, bin_dir=None):
    """Runs a project script; `bin_dir` (the folder holding lond) is handed over as
    LONLINK_BIN_DIR when the caller's environment has none: a response script runs from the
    responses folder, where it cannot find the build's lond by its own path."""
    env = dict(os.environ)
    if bin_dir and not env.get("LONLINK_BIN_DIR"):
        env["LONLINK_BIN_DIR"] = bin_dir
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        die(f"{' '.join(argv)} took more than {timeout} s", 1)
    if r.returncode != 0:
        die(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}", 1)
    return r.stdout


class Cluster:
    """Hosts <prefix>1..N on <net>.11.., each with a folder and config under `root`."""

    def __init__(self, root, net, n, prefix, lond_yaml="", lonc_yaml="", extra_yaml=""):
        self.root, self.net, self.n, self.prefix = root, net, n, prefix
        self.lond_procs, self.lonc_procs = {}, {}
        with open(os.path.join(root, "hosts.yaml"), "w") as f:
            f.write("hosts:\n")
            for i in range(n):
                f.write(f"  - {{ id: {self.id(i)}, address: {self.address(i)}, port: {LON_PORT} }}\n")
        for i in range(n):
            d = self.dir(i)
            os.makedirs(d, exist_ok=True)
            with open(self.config(i), "w") as f:
                f.write(f"host_id: {self.id(i)}\n"
                        f"hosts_file: {root}/hosts.yaml\n"
                        f"listen: {{ address: {self.address(i)}, port: {LON_PORT} }}\n"
                        f"paths: {{ cert_dir: {d}/certs, socket_dir: {d}/sockets, "
                        f"run_dir: {d}/run, log_dir: {d}/log, spool_dir: {d}/spool, "
                        f"state_dir: {d}/state }}\n"
                        "socket_group: null\n"
                        + (f"lond: {lond_yaml}\n" if lond_yaml else "")
                        + (f"lonc: {lonc_yaml}\n" if lonc_yaml else "")
                        + extra_yaml)

    def id(self, i):
        return f"{self.prefix}{i + 1}"

    def address(self, i):
        return f"{self.net}.{11 + i}"

    def dir(self, i):
        return os.path.join(self.root, self.id(i))

    def config(self, i):
        return os.path.join(self.dir(i), "lonlink.yaml")

    def socket(self, frm, to):
        return os.path.join(self.dir(frm), "sockets", self.id(to))

    def cert_dir(self, i):
        return os.path.join(self.dir(i), "certs")

    def issue_certificates(self, scripts, hosts=None, jobs=1, bin_dir=None):
        """The CA once, then per host: request_ssl_key.sh, sign-response, the response script
        (as tests/integration/harness.cpp does). Keys and response scripts run `jobs` hosts at
        a time; signing runs one at a time (sign-response holds the CA's lock for each)."""
        ca = os.path.join(self.root, "ca")
        out = os.path.join(self.root, "responses")
        os.makedirs(out, exist_ok=True)
        # Every script reads the configuration through lond: hand them the build's lond (a
        # checkout's build/ is only their last resort, and --build may name another folder).
        run_script(["bash", f"{scripts}/make-cluster-ca", "--ca-dir", ca,
                    "--name", f"lonlink bench {self.prefix}"], bin_dir=bin_dir)
        hosts = list(range(self.n)) if hosts is None else hosts

        def key(i):
            run_script(["bash", f"{scripts}/request_ssl_key.sh", "--config", self.config(i)],
                       bin_dir=bin_dir)

        def sign(i):
            run_script(["bash", f"{scripts}/sign-response", "--ca-dir", ca, "--hosts",
                        f"{self.root}/hosts.yaml", "--out-dir", out,
                        os.path.join(self.cert_dir(i), "lonhost.csr")], bin_dir=bin_dir)

        def install(i):
            run_script(["bash", os.path.join(out, f"{self.id(i)}.response.sh"), "--config",
                        self.config(i)], bin_dir=bin_dir)

        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max(1, jobs)) as ex:
            list(ex.map(key, hosts))
            for i in hosts:
                sign(i)
            list(ex.map(install, hosts))
        return ca

    def start(self, bins, i, which):
        """Starts lond or lonc of host i in the foreground (stderr to a file) and waits until
        it wrote its own pid into its pid file."""
        errf = open(os.path.join(self.dir(i), f"{which}.err"), "w")
        p = spawn([bins[which], "--config", self.config(i), "--foreground"], stdout=errf,
                  stderr=errf)
        (self.lond_procs if which == "lond" else self.lonc_procs)[i] = p
        return p

    def wait_ready(self, i, which, timeout=20):
        p = (self.lond_procs if which == "lond" else self.lonc_procs)[i]
        pidfile = os.path.join(self.dir(i), "run", f"{which}.pid")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if p.poll() is not None:
                break
            try:
                with open(pidfile) as f:
                    if f.readline().strip() == str(p.pid):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        with open(os.path.join(self.dir(i), f"{which}.err")) as f:
            die(f"{which} of {self.id(i)} did not get ready:\n{f.read()[-2000:]}", 1)

    def daemon_pids(self):
        return [p.pid for p in list(self.lond_procs.values()) + list(self.lonc_procs.values())]


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": os.uname().release,
            "loadavg_at_start": os.getloadavg()}


def verdict(ok):
    return "PASS" if ok else "MISS"
