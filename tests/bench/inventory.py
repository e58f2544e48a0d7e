"""Benchmark: the proxgate.core.proxmox inventory plugin on a generated cluster (run by `make bench`).

For each cluster size it starts the Proxmox test server in its own process (so it does not share the GIL with
anything measured here) with N generated guests on 3 nodes (70 % running, 80 % of the running VMs with an
agent that answers, 10 % containers) and 20 ms added to every response, then runs the venv's real
`ansible-inventory --list` on a `*.proxmox.yml` file:

1. fresh: no cache configured, every call is made (the time the floor goal is about);
2. fill: with a JSON file cache, reuse_addresses on and --flush-cache, every call is made and the cache written;
3. cached: the same again, the cache answers, no request at all;
4. refresh: the cache's files made 2 hours old (its cache_timeout passed) and run again: one /cluster/resources
   call, every address reused (no guest restarted), the cache written again;

and, to show what ansible-inventory itself costs for that many hosts, once more on the same hosts, variables
and groups written to a static file (no plugin, no API); and once on a static file with one host (starting
ansible-core alone).

Each of these runs --repeat times (3 by default), in rounds (fresh, static, startup, fill, cached, refresh,
again), so a busy moment of a shared machine hits all of them alike. It prints, per run kind, the median and the
range of: wall time, requests the server logged, hosts and hosts with an address, the CPU time of the server
process and of ansible-inventory, the plugin's own timings, and the load average when the runs started. Then, per
size, the goals of issue #18 on the medians:

- floor = the cached run + ceil(per-guest calls / concurrency) x latency (the floor of issue #18: the
  same hosts, groups and variables, plus the calls' latency at `concurrency` at a time); fresh <= 1.05 x floor;
- refresh <= 1.15 x cached, with 1 request (the listing; a token needs no login) + 1 per running guest whose
  agent did not answer last time (an agent not running may start at any time: it is asked again);

and checks on every run: requests <= 1 + guests whose address is needed (fresh, fill), 0 (cached), and for a
refresh 1 + the running guests whose agent did not answer; and that every run of a size made the same inventory
(the same hosts, groups and variables; only the guests' uptime may differ between listings), a cached run exactly
the fill run before it.

    python tests/bench/inventory.py [--guests 1000,5000] [--latency 0.02] [--concurrency 16] [--repeat 3]
                                    [--json FILE] [--strict]

Exit status 1 when a run is wrong (a failed ansible-inventory, too many requests, a cached run that made
requests, hosts or addresses missing); missed time goals only fail with --strict, since they depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.emulators.pve.guests import generate_guests  # noqa: E402 - after the repository is on the path

BIN = Path(sys.executable).parent
COLLECTIONS = REPO / "build" / "collections"
TOKEN_ID = "root@pam!bench"
TOKEN_SECRET = "9d1c6a52-7e0b-4f3a-8c21-5b6e4d3f2a10"
NODES = 3
# Goals of issue #18, on the medians: fresh <= FRESH_GOAL x floor, refresh <= REFRESH_GOAL x cached.
FRESH_GOAL = 1.05
REFRESH_GOAL = 1.15
# fresh: no cache configured; fill: cache on, --flush-cache (reads the API, writes the cache); cached: the cache;
# refresh: the cache expired, reuse_addresses on.
RUNS = ("fresh", "fill", "cached", "refresh")
DEFAULT_CONCURRENCY = 16
# Host variables that may differ between two listings of the same cluster (the runs' outputs are compared
# without them; a cached run must equal its fill run with them).
VOLATILE = ("proxmox_uptime",)
# The plugin asks again a guest that was up for less than its UPTIME_SLACK (10 s) at the last listing: the fill
# runs wait until the generated guests have been up longer than that.
SETTLED = 12


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="1000,5000", help="comma-separated cluster sizes (default 1000,5000)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every response (0.02)")
    parser.add_argument("--concurrency", type=int, help="the plugin's concurrency option (default: its own, 16)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind, the median is reported (3)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a time goal is missed too")
    return parser.parse_args(argv)


# ------------------------------------------------------------------ the machine

def machine():
    cpu = "unknown"
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    ansible = subprocess.run([str(BIN / "ansible-inventory"), "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "ansible_core": re.search(r"\[core ([^\]]+)\]", ansible[0]).group(1) if ansible else "unknown",
            "load_average": [round(value, 2) for value in os.getloadavg()]}


def process_cpu(pid):
    """User + system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ the server

class Server:
    """python -m tests.emulators.pve in its own process, with a request log."""

    def __init__(self, workdir, count, latency):
        self.log = workdir / "requests.log"
        self.cert_dir = workdir / "pki"
        command = [sys.executable, "-m", "tests.emulators.pve", "--guests", f"generate:{count}:{NODES}",
                   "--latency", str(latency), "--cert-dir", str(self.cert_dir), "--token",
                   f"{TOKEN_ID}={TOKEN_SECRET}", "--request-log", str(self.log)]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        line = self._read_line(60)
        if not line.startswith("fakepve listening on "):
            self.stop()
            raise RuntimeError(f"the test server did not start: {line!r}")
        self.url = line.split()[-1]

    def _read_line(self, timeout):
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        try:
            return self.process.stdout.readline() if selector.select(timeout) else ""
        finally:
            selector.close()

    @property
    def certfile(self):
        return self.cert_dir / "fakepve.crt"

    def requests(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def cpu(self):
        return process_cpu(self.process.pid)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process.stdout.close()


# ------------------------------------------------------------------ one run

def write_config(workdir, server, concurrency, cache):
    lines = ["plugin: proxgate.core.proxmox", f"api_url: {server.url}", f"api_token_id: '{TOKEN_ID}'",
             f"api_token_secret: {TOKEN_SECRET}", f"ca_path: {server.certfile}"]
    if cache:
        lines += ["cache: true", "cache_plugin: ansible.builtin.jsonfile", f"cache_connection: {workdir / 'cache'}",
                  "cache_timeout: 3600", "reuse_addresses: true"]
    if concurrency:
        lines.append(f"concurrency: {concurrency}")
    source = workdir / ("bench-cached.proxmox.yml" if cache else "bench.proxmox.yml")
    source.write_text("\n".join(lines) + "\n")
    return source


def run_inventory(workdir, source, server, flush):
    output = workdir / "inventory.json"
    output.unlink(missing_ok=True)
    # -vv: the plugin says how long it spent reading the API and making the hosts (on stdout; the
    # inventory goes to --output).
    command = [str(BIN / "ansible-inventory"), "-i", str(source), "--list", "--output", str(output), "-vv"]
    if flush:
        command.append("--flush-cache")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PROXMOX_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(workdir / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"), ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
               ANSIBLE_NOCOLOR="1")
    seen, server_cpu, own_cpu = len(server.requests()), server.cpu(), children_cpu()
    load = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - started
    result = {"wall": round(wall, 2), "load": load, "rc": proc.returncode, "requests": len(server.requests()) - seen,
              "server_cpu": round(server.cpu() - server_cpu, 2),
              "inventory_cpu": round(children_cpu() - own_cpu, 2)}
    if proc.returncode != 0:
        result["error"] = proc.stderr[-2000:]
        return result
    text = output.read_text()
    data = json.loads(text)
    hostvars = data["_meta"]["hostvars"]
    result.update(hosts=len(hostvars), with_address=sum(1 for hv in hostvars.values() if "ansible_host" in hv),
                  exact=hashlib.sha256(text.encode()).hexdigest()[:16], same=sameness(data))
    fetch = re.search(r"from the API in ([0-9.]+)s", proc.stdout)
    populate = re.search(r"made the hosts and groups in ([0-9.]+)s", proc.stdout)
    result.update(plugin_fetch=float(fetch.group(1)) if fetch else None,
                  plugin_hosts=float(populate.group(1)) if populate else None)
    return result


def sameness(listing):
    """A digest of an inventory's hosts, groups and variables, but for the VOLATILE ones."""
    for variables in listing["_meta"]["hostvars"].values():
        for key in VOLATILE:
            variables.pop(key, None)
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()[:16]


def expire_cache(workdir):
    """The cache's timeout has passed: its files are 2 hours old (cache_timeout is 1 hour)."""
    old = time.time() - 7200
    for path in (workdir / "cache").iterdir():
        os.utime(path, (old, old))


def static_inventory(listing):
    """The same hosts, variables and groups as a static inventory for the yaml plugin (JSON is YAML)."""
    hostvars = listing["_meta"]["hostvars"]
    children = {name: {"hosts": dict.fromkeys(group.get("hosts", []))}
                for name, group in listing.items() if name not in ("_meta", "all", "ungrouped")}
    return {"all": {"hosts": {host: unwrap(variables) for host, variables in hostvars.items()},
                    "children": children}}


def unwrap(value):
    """ansible-inventory's {"__ansible_unsafe": "x"} back to "x" (the static file's strings are plain)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def run_static(workdir, inventory=None):
    """ansible-inventory --list on the fresh run's inventory from a static file: what ansible-inventory itself
    costs for that many hosts (start, variables, output), with no plugin and no API. With `inventory`, that
    inventory instead (the one-host file that shows what starting ansible-core costs)."""
    source = workdir / "static.json"
    listing = inventory or static_inventory(json.loads((workdir / "inventory.json").read_text()))
    source.write_text(json.dumps(listing))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PROXMOX_"))}
    env.update(ANSIBLE_HOME=str(workdir / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"))
    own_cpu, load = children_cpu(), round(os.getloadavg()[0], 2)
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list", "--output",
                           str(workdir / "static-out.json")], capture_output=True, text=True, env=env, check=False)
    return {"wall": round(time.monotonic() - started, 2), "load": load, "rc": proc.returncode,
            "inventory_cpu": round(children_cpu() - own_cpu, 2)}


def bench(count, latency, concurrency, repeat):
    guests = generate_guests(count, nodes=NODES)
    running = sum(1 for guest in guests if guest.get("status") == "running")
    answering = sum(1 for guest in guests if guest.get("status") == "running"
                    and (guest.get("type") == "lxc" or guest.get("agent")))
    runs = {name: [] for name in (*RUNS, "static", "startup")}
    with tempfile.TemporaryDirectory(prefix="proxgate-bench-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir, count, latency)
        started = time.monotonic()
        try:
            fresh_source = write_config(workdir, server, concurrency, cache=False)
            cached_source = write_config(workdir, server, concurrency, cache=True)
            for _round in range(repeat):
                fresh = run_inventory(workdir, fresh_source, server, flush=False)
                runs["fresh"].append(fresh)
                if fresh["rc"] == 0:
                    runs["static"].append(run_static(workdir))
                runs["startup"].append(run_static(workdir, {"all": {"hosts": {"one": {}}}}))
                time.sleep(max(0.0, SETTLED - (time.monotonic() - started)))
                runs["fill"].append(run_inventory(workdir, cached_source, server, flush=True))
                runs["cached"].append(run_inventory(workdir, cached_source, server, flush=False))
                expire_cache(workdir)
                runs["refresh"].append(run_inventory(workdir, cached_source, server, flush=False))
        finally:
            server.stop()
    return {"guests": count, "needs_address": running, "can_answer": answering, "max_requests": 1 + running,
            "runs": runs}


def median(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    if not values:
        return None
    middle = statistics.median(values)
    return int(middle) if all(isinstance(value, int) for value in values) and middle == int(middle) \
        else round(middle, 2)


def spread(runs, key):
    values = [run[key] for run in runs if run.get(key) is not None]
    if not values:
        return "-"
    return f"{min(values):g}" if min(values) == max(values) else f"{min(values):g}-{max(values):g}"


def floor(result, latency, concurrency):
    """What a fresh run cannot beat: the plugin's own cached run of the same cluster (the same hosts, groups and
    variables, no API call) + the per-guest calls at `concurrency` at a time (calls / concurrency, rounded up,
    x latency)."""
    cached = median(result["runs"]["cached"], "wall")
    if cached is None:
        return None
    calls = result["max_requests"] - 1
    return round(cached + -(-calls // (concurrency or DEFAULT_CONCURRENCY)) * latency, 2)


def goals(result, latency, concurrency):
    """fresh, cached, floor, fresh/floor, refresh, refresh/cached (medians), or None where a run failed."""
    fresh, cached, refresh = (median(result["runs"][name], "wall") for name in ("fresh", "cached", "refresh"))
    bottom = floor(result, latency, concurrency)
    return {"fresh": fresh, "cached": cached, "floor": bottom, "refresh": refresh,
            "fresh_floor": round(fresh / bottom, 3) if fresh and bottom else None,
            "refresh_cached": round(refresh / cached, 3) if refresh and cached else None}


# ------------------------------------------------------------------ report

def problems_of(result):
    """What is wrong with a result (not the time goals), on every run."""
    problems = []
    for name in RUNS:
        for run in result["runs"][name]:
            if run["rc"] != 0:
                problems.append(f"{name} run failed: {run.get('error', '')}")
            elif run["hosts"] != result["guests"]:
                problems.append(f"{name} run has {run['hosts']} hosts, not {result['guests']}")
            elif run["with_address"] != result["can_answer"]:
                problems.append(f"{name} run: {run['with_address']} hosts with an address, expected "
                                f"{result['can_answer']} (the running guests whose agent or container answers)")
    for name in ("fresh", "fill"):
        for run in result["runs"][name]:
            if run["requests"] > result["max_requests"]:
                problems.append(f"{name} run: {run['requests']} requests, more than 1 + {result['needs_address']}")
    for run in result["runs"]["cached"]:
        if run["requests"] != 0:
            problems.append(f"a cached run made {run['requests']} requests")
    for run in result["runs"]["refresh"]:
        if run["rc"] == 0 and run["requests"] != refresh_requests(result):
            problems.append(f"a refresh run made {run['requests']} requests, not {refresh_requests(result)} (the "
                            "listing and the running guests whose agent did not answer)")
    for name in ("static", "startup"):
        problems.extend(f"the {name} run failed" for run in result["runs"][name] if run["rc"] != 0)
    made = {(name, index): run["same"] for name in RUNS for index, run in enumerate(result["runs"][name])
            if run.get("same")}
    if len(set(made.values())) > 1:
        first = next(iter(made.values()))
        problems.append("the runs made different inventories: " + ", ".join(
            f"{name} {index + 1}" for (name, index), same in made.items() if same != first) + " differ from the first")
    for index, (fill, cached) in enumerate(zip(result["runs"]["fill"], result["runs"]["cached"], strict=False)):
        if fill.get("exact") and cached.get("exact") and fill["exact"] != cached["exact"]:
            problems.append(f"cached run {index + 1} is not exactly its fill run's inventory")
    return problems


def dash(value):
    return "-" if value is None else value


def refresh_requests(result):
    """A refresh where no guest restarted: the listing, and the running guests whose agent did not answer last
    time (an agent that is not running may start at any time, so they are asked again; their number is the
    generator's, the same in every run)."""
    return 1 + result["needs_address"] - result["can_answer"]


def expected_requests(name, result):
    return {"cached": 0, "refresh": refresh_requests(result)}.get(name, result["max_requests"])


def report(info, results, latency, concurrency, repeat):
    print(f"proxgate.core.proxmox inventory benchmark, {info['date']}")
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, ansible-core "
          f"{info['ansible_core']}, load average before {info['load_average']}")
    print(f"server: {latency * 1000:.0f} ms per response, concurrency {concurrency or 'default (16)'}; "
          f"median (and range) of {repeat} runs each")
    print(f"{'guests':>7} {'run':>7} {'wall s':>7} {'range':>11} {'requests':>9} {'max':>6} {'hosts':>6} "
          f"{'w/ addr':>8} {'server cpu s':>13} {'inventory cpu s':>16} {'plugin API s':>13} {'plugin hosts s':>15} "
          f"{'load':>10}")
    for result in results:
        for name in (*RUNS, "static", "startup"):
            runs = result["runs"][name]
            if not runs:
                continue
            plugin = name in RUNS
            print(f"{result['guests']:>7} {name:>7} {median(runs, 'wall'):>7} {spread(runs, 'wall'):>11} "
                  f"{spread(runs, 'requests') if plugin else '':>9} "
                  f"{expected_requests(name, result) if plugin else '':>6} "
                  f"{dash(median(runs, 'hosts')) if plugin else '':>6} "
                  f"{dash(median(runs, 'with_address')) if plugin else '':>8} "
                  f"{dash(median(runs, 'server_cpu')) if plugin else '':>13} {median(runs, 'inventory_cpu'):>16} "
                  f"{dash(median(runs, 'plugin_fetch')) if plugin else '':>13} "
                  f"{dash(median(runs, 'plugin_hosts')) if plugin else '':>15} {spread(runs, 'load'):>10}")
    print()
    print(f"goals (medians; floor = cached + ceil(calls / {concurrency or DEFAULT_CONCURRENCY}) x "
          f"{latency * 1000:.0f} ms): fresh <= {FRESH_GOAL} x floor, refresh <= {REFRESH_GOAL} x cached, with 1 "
          "listing + the running guests whose agent did not answer")
    print(f"{'guests':>7} {'fresh s':>8} {'cached s':>9} {'floor s':>8} {'fresh/floor':>12} {'refresh s':>10} "
          f"{'refresh/cached':>15} {'requests fresh/cached/refresh':>30} {'load (1 min)':>13}")
    missed = []
    for result in results:
        found = goals(result, latency, concurrency)
        result["goals"] = found
        requests = "/".join(spread(result["runs"][name], "requests") for name in ("fresh", "cached", "refresh"))
        loads = [run["load"] for name in RUNS for run in result["runs"][name]]
        load = f"{min(loads):g}-{max(loads):g}" if loads else "-"
        marks = {}
        for key, goal in (("fresh_floor", FRESH_GOAL), ("refresh_cached", REFRESH_GOAL)):
            value = found[key]
            marks[key] = "-" if value is None else f"{value:.2f} " + ("ok" if value <= goal else "MISS")
            if value is not None and value > goal:
                missed.append(f"{result['guests']} guests: {key.replace('_', '/')} {value:.2f} (goal <= {goal})")
        print(f"{result['guests']:>7} {dash(found['fresh']):>8} {dash(found['cached']):>9} {dash(found['floor']):>8} "
              f"{marks['fresh_floor']:>12} {dash(found['refresh']):>10} {marks['refresh_cached']:>15} "
              f"{requests:>30} {load:>13}")
    return missed


def main(argv=None):
    args = parse_args(argv)
    info = machine()
    counts = [int(text) for text in args.guests.split(",") if text.strip()]
    if args.repeat < 1:
        raise SystemExit("--repeat must be 1 or more")
    results = [bench(count, args.latency, args.concurrency, args.repeat) for count in counts]
    missed = report(info, results, args.latency, args.concurrency, args.repeat)
    problems = [f"{result['guests']} guests: {problem}" for result in results for problem in problems_of(result)]
    for result in results:
        made = {run["same"] for name in RUNS for run in result["runs"][name] if run.get("same")}
        runs = sum(len(result["runs"][name]) for name in RUNS)
        exact = all(fill.get("exact") == cached.get("exact")
                    for fill, cached in zip(result["runs"]["fill"], result["runs"]["cached"], strict=False))
        print(f"{result['guests']} guests: {'the same' if len(made) == 1 else 'NOT the same'} hosts, groups and "
              f"variables in all {runs} plugin runs (uptime aside); each cached run "
              f"{'exactly' if exact else 'NOT exactly'} its fill run's")
    for line in problems:
        print(f"WRONG: {line}")
    for line in missed:
        print(f"time goal missed: {line}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "latency": args.latency, "concurrency": args.concurrency,
                                         "repeat": args.repeat, "results": results}, indent=2) + "\n")
    return 1 if problems or (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
