"""Benchmark: publishing N Proxmox guests through the guacamole_sync role (run by `make bench`; issue #17).

For each size it writes a static inventory of N guests with the host variables the proxgate.core.proxmox
plugin gives them (3 nodes, 4 pools, a Windows guest in 5, a container in 10, tags that map to user groups),
starts the Guacamole emulator in its own process with 20 ms added to every response, and runs the venv's real
`ansible-playbook playbooks/publish.yml` twice: the first run (everything created) and the rerun (nothing to
change). The inventory is a file, so the time is the publish step's own: Ansible, the role's plan and the
module's requests. It prints, per run: the wall time, the time of the role's plan task and of the module's
task, the requests the emulator logged (and how many wrote), and the load average when the run started; and
checks the goal (2,000 guests: each run under 20 s) and that the rerun writes nothing.

    python tests/bench/publish.py [--guests 500,2000] [--latency 0.02] [--json FILE] [--strict]

Exit status 1 when a run is wrong (a failed playbook, a rerun that writes, connections missing); a missed time
goal only fails with --strict, since it depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COLLECTIONS = REPO / "build" / "collections"
GOALS = {2000: 20.0}
POOLS = ("production", "staging", "lab", "")
# The tasks timed on their own, by a part of their name (the callback sees names with the role's prefix).
TASKS = {"plan": "Work out one connection per guest", "module": "Publish the guests below"}
CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started, self.times = {}, {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task.get_name()] = time.monotonic()

    def _done(self, result, *args, **kwargs):
        name = result._task.get_name()
        self.times[name] = self.times.get(name, 0.0) + time.monotonic() - self.started.get(name, time.monotonic())

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _done

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["TASK_TIMES_FILE"], "w") as out:
            json.dump(self.times, out)
'''


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", default="500,2000", help="comma-separated sizes (default 500,2000)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every response (0.02)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a time goal is missed too")
    return parser.parse_args(argv)


def inventory(count):
    """The hosts the proxmox inventory plugin would give a cluster of count guests, as a static inventory."""
    hosts = {}
    for index in range(count):
        vmid = 100 + index
        windows, container = index % 5 == 1, index % 10 == 7
        pool = POOLS[index % len(POOLS)]
        tags = ["windows"] if windows else ["linux"]
        if index % 3 == 0:
            tags.append("web")
        variables = {
            "ansible_host": f"10.{20 + index // 65000}.{index // 250 % 256}.{index % 250 + 1}",
            "proxmox_vmid": vmid, "proxmox_name": f"guest{vmid}", "proxmox_node": f"pve{index % 3 + 1}",
            "proxmox_type": "lxc" if container else "qemu", "proxmox_status": "running", "proxmox_tags": tags,
            "proxmox_config": {"ostype": "win11" if windows else "l26"},
        }
        if pool:
            variables["proxmox_pool"] = pool
        hosts[f"guest{vmid}"] = variables
    return {"all": {"hosts": hosts}}


class Gateway:
    """python -m tests.emulators.guacamole in its own process, with a request log."""

    def __init__(self, workdir, latency):
        self.log = workdir / "requests.log"
        seed = workdir / "seed.json"
        seed.write_text(json.dumps({"user_groups": [{"identifier": name} for name in
                                                    ("operators", "web-team", "desktop-users")]}))
        command = [sys.executable, "-m", "tests.emulators.guacamole", "--latency", str(latency),
                   "--request-log", str(self.log), "--state", str(seed)]
        self.process = subprocess.Popen(command, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
                                        stdout=subprocess.PIPE, text=True)
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        line = self.process.stdout.readline() if selector.select(60) else ""
        selector.close()
        if not line.startswith("guacamole-emulator listening on "):
            self.stop()
            raise RuntimeError(f"the Guacamole emulator did not start: {line!r}")
        self.url = line.split()[-1]

    def requests(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def cpu(self):
        """User + system CPU seconds the emulator has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process.stdout.close()


def publish(workdir, gateway, name):
    times_file = workdir / f"{name}-times.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "GUACAMOLE_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_CALLBACK_PLUGINS=str(workdir / "callbacks"),
               ANSIBLE_CALLBACKS_ENABLED="task_times", TASK_TIMES_FILE=str(times_file),
               GUACAMOLE_URL=gateway.url, GUACAMOLE_USERNAME="guacadmin", GUACAMOLE_PASSWORD="guacadmin",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false")
    before = len(gateway.requests())
    load = os.getloadavg()[0]
    gateway_cpu = gateway.cpu()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu = usage.ru_utime + usage.ru_stime
    started = time.monotonic()
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(workdir / "inventory.json"),
                           str(REPO / "playbooks" / "publish.yml"), "-e", f"@{workdir / 'access.json'}"],
                          cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    ansible_cpu = usage.ru_utime + usage.ru_stime - own_cpu
    gateway_cpu = gateway.cpu() - gateway_cpu
    requests = gateway.requests()[before:]
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    return {"rc": done.returncode, "wall": wall, "load": load, "ansible_cpu": ansible_cpu, "gateway_cpu": gateway_cpu,
            **{part: sum(spent for task, spent in times.items() if TASKS[part] in task) or None for part in TASKS},
            "requests": len(requests), "writes": sum(1 for line in requests
                                                     if line.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
                                                     and "/api/tokens" not in line),
            "tail": (done.stdout + done.stderr)[-2000:] if done.returncode else ""}


def bench(count, latency):
    with tempfile.TemporaryDirectory(prefix="proxgate-bench-publish-") as temp:
        workdir = Path(temp)
        (workdir / "callbacks").mkdir()
        (workdir / "callbacks" / "task_times.py").write_text(CALLBACK)
        (workdir / "inventory.json").write_text(json.dumps(inventory(count)))
        (workdir / "access.json").write_text(json.dumps({
            "guacamole_sync_user_groups_by_pool": {"production": ["operators"]},
            "guacamole_sync_user_groups_by_tag": {"web": ["web-team"], "windows": ["desktop-users"]}}))
        gateway = Gateway(workdir, latency)
        try:
            first = publish(workdir, gateway, "first")
            rerun = publish(workdir, gateway, "rerun")
        finally:
            gateway.stop()
    return {"guests": count, "first": first, "rerun": rerun}


def problems_of(result):
    problems = []
    for name in ("first", "rerun"):
        run = result[name]
        if run["rc"]:
            problems.append(f"{result['guests']} guests, {name} run failed:\n{run['tail']}")
    if result["rerun"]["writes"]:
        problems.append(f"{result['guests']} guests: the rerun wrote {result['rerun']['writes']} times")
    return problems


def seconds(value):
    return "-" if value is None else f"{value:.1f}"


def main(argv=None):
    args = parse_args(argv)
    sizes = [int(size) for size in args.guests.split(",") if size]
    results = [bench(count, args.latency) for count in sizes]
    print(f"publish through the guacamole_sync role, {args.latency * 1000:.0f} ms per response, "
          f"{os.cpu_count()} CPUs")
    print(f"{'guests':>7} {'run':>6} {'wall s':>7} {'plan s':>7} {'module s':>9} {'requests':>9} {'writes':>7} "
          f"{'cpu ansible':>12} {'cpu gateway':>12} {'load':>5} {'goal':>6}")
    missed, problems = [], []
    for result in results:
        goal = GOALS.get(result["guests"])
        for name in ("first", "rerun"):
            run = result[name]
            verdict = "-" if goal is None else ("ok" if run["wall"] < goal else "MISSED")
            if verdict == "MISSED":
                missed.append(f"{result['guests']} {name} {run['wall']:.1f} s >= {goal} s")
            print(f"{result['guests']:>7} {name:>6} {run['wall']:>7.1f} {seconds(run['plan']):>7} "
                  f"{seconds(run['module']):>9} {run['requests']:>9} {run['writes']:>7} {run['ansible_cpu']:>12.1f} "
                  f"{run['gateway_cpu']:>12.1f} {run['load']:>5.2f} {verdict:>6}")
        problems += problems_of(result)
    if len(results) > 1:
        small, large = results[0], results[-1]
        factor = large["guests"] / small["guests"]
        for name in ("first", "rerun"):
            print(f"{name}: {large['guests']} guests took {large[name]['wall'] / small[name]['wall']:.2f} x the time "
                  f"of {small['guests']} ({factor:.0f} x the guests)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    for line in missed:
        print(f"goal missed: {line}", file=sys.stderr)
    return 1 if problems or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
