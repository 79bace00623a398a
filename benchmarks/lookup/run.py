#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark: amazon.aws.secretsmanager_secret vs secretsops.aws.secret.

Run from the checkout:  .venv/bin/python benchmarks/lookup/run.py [--repeat 3] [--json FILE]

Starts ONE moto server with a recording proxy (tools/aws_recorder.py) in front, seeds secrets
with boto3 straight against moto (so seeding is not counted), then runs each workload as an
``ansible-playbook`` subprocess N times per plugin and prints the median wall time and the
Secrets Manager API calls the recorder saw.  Values are never printed: every task that reads a
secret is a ``set_fact`` with ``no_log: true``.

Workloads (see README.md):
  a  one task, loop of 50 items, one lookup per item (50 different secrets)
  b  one lookup of 50 terms
  c  20 hosts (inventory of local hosts, default forks) x a loop over the same 6 secrets
  c6 20 hosts x one lookup of the same 6 terms (informative, not an issue target)
  d  the trivial-lookup floor: workload (a)'s loop with ansible.builtin.env
  dc the floor of (c): 20 hosts x a loop of 6 ansible.builtin.env lookups (informative)
  and a reference row for (a): the same loop with the least a botocore-based lookup can do
  (sdk_minimum/: one botocore client, one GetSecretValue per term; informative)

The exit status is 0 whether targets are met or not (this is a measurement); it is non-zero
only when a playbook itself fails.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from aws_recorder import Recorder  # noqa: E402
from emulator import _die_with_parent, ansible_env, free_port, stop, wait_until_up  # noqa: E402

BIN = os.path.dirname(sys.executable)
REGION = "us-east-1"
N_SECRETS = 50
N_HOSTS = 20
N_SHARED = 6
# label -> (lookup plugin, extra lookup arguments)
PLUGINS = {
    "amazon.aws": ("amazon.aws.secretsmanager_secret", ""),
    "secretsops": ("secretsops.aws.secret", ""),
    # The same lookup with its cross-worker cache broker off: per-worker caching only.
    "secretsops shared_cache=false": ("secretsops.aws.secret", ", shared_cache=false"),
}
# Reference row for workload (a) only: the least any botocore-based lookup costs (see
# sdk_minimum/.../get_secret_value.py); informative, not a product.
SDK_MINIMUM = "botocore minimum (reference)"
SDK_MINIMUM_PLUGIN = "benchprobe.sdk.get_secret_value"
SDK_MINIMUM_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sdk_minimum")
LABELS = list(PLUGINS) + [SDK_MINIMUM, "floor"]
FLOOR = "ansible.builtin.env"


def secret_names():
    return [f"bench/app/s{i:02d}" for i in range(N_SECRETS)]


def seed(moto_url):
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    for index, name in enumerate(secret_names()):
        # Random filler, never printed; a JSON object like the guide's secrets.
        value = {"KEY": os.urandom(24).hex(), "INDEX": index, "NESTED": {"a": 1}}
        client.create_secret(Name=name, SecretString=json.dumps(value))


# -- playbooks --------------------------------------------------------------------------------
def play(hosts, tasks, extra_vars=None):
    return [{
        "name": "lookup benchmark",
        "hosts": hosts,
        "gather_facts": False,
        "vars": dict({"bench_names": secret_names(), "bench_shared": secret_names()[:N_SHARED]}, **(extra_vars or {})),
        "tasks": tasks,
    }]


def loop_task(expr, items):
    return {"name": "Read in a loop", "ansible.builtin.set_fact": {"bench_value": expr},
            "loop": "{{ %s }}" % items, "no_log": True}


def workloads(plugin, extra=""):
    """{workload id: (hosts pattern, tasks)} for one lookup plugin (FLOOR for the floors)."""
    one = "{{ lookup('%s', item%s) }}" % (plugin, extra)
    floor = "{{ lookup('%s', 'HOME') }}" % FLOOR
    return {
        "a": ("bench1", [loop_task(one, "bench_names")]),
        "b": ("bench1", [{"name": "Read 50 terms at once", "no_log": True,
                          "ansible.builtin.set_fact": {"bench_value": "{{ lookup('%s', *bench_names%s) }}" % (plugin, extra)}}]),
        "c": ("benchhosts", [loop_task(one, "bench_shared")]),
        "c6": ("benchhosts", [{"name": "Read 6 terms at once", "no_log": True,
                               "ansible.builtin.set_fact": {"bench_value": "{{ lookup('%s', *bench_shared%s) }}" % (plugin, extra)}}]),
        "d": ("bench1", [loop_task(floor, "bench_names")]),
        "dc": ("benchhosts", [loop_task(floor, "bench_shared")]),
    }


def inventory():
    hosts = {f"h{i:02d}": None for i in range(1, N_HOSTS + 1)}
    return {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"bench1": {"hosts": {"h01": None}}, "benchhosts": {"hosts": hosts}},
    }}


def write_yaml(path, data):
    import yaml

    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


# -- running ----------------------------------------------------------------------------------
def run_playbook(path, inv, env):
    start = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inv, path],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        # The output is no_log'd, so it cannot hold a value; show the tail for diagnosis.
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise RuntimeError(f"{os.path.basename(path)} failed (rc={proc.returncode}):\n{tail}")
    return elapsed


def make_env(endpoint, workdir, collections_path):
    return ansible_env(endpoint, os.path.join(workdir, "ansible-tmp"), REGION,
                       ANSIBLE_COLLECTIONS_PATH=collections_path + os.pathsep + SDK_MINIMUM_PATH,
                       ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")


def measure(repeat, collections_path, only=None):
    moto = os.path.join(BIN, "moto_server")
    port = free_port()
    moto_url = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix="secretsops-bench-")
    log = open(os.path.join(workdir, "moto.log"), "ab")
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,
                            start_new_session=True, preexec_fn=_die_with_parent)
    recorder = None
    try:
        wait_until_up(moto_url, proc)
        recorder = Recorder(moto_url)
        # The recorder answers with two writes (headers, then body); with Nagle's algorithm on,
        # the body waits for the client's delayed ACK, ~40 ms per call on Linux loopback. That
        # would add a fixed cost per API call that AWS does not have, so switch it off here
        # (TCP_NODELAY; the proxy then costs ~1 ms a call). See README.md.
        recorder.server.RequestHandlerClass.disable_nagle_algorithm = True
        recorder.start()
        seed(moto_url)
        env = make_env(recorder.url, workdir, collections_path)
        inv = os.path.join(workdir, "inventory.yml")
        write_yaml(inv, inventory())
        plans = []  # (workload, label, playbook path)
        for label, (plugin, extra) in PLUGINS.items():
            for wid, (hosts, tasks) in workloads(plugin, extra).items():
                if wid in ("d", "dc"):
                    continue
                path = os.path.join(workdir, f"{wid}-{label.replace(' ', '_')}.yml")
                write_yaml(path, play(hosts, tasks))
                plans.append((wid, label, path))
        hosts, tasks = workloads(SDK_MINIMUM_PLUGIN)["a"]
        path = os.path.join(workdir, "a-sdk-minimum.yml")
        write_yaml(path, play(hosts, tasks))
        plans.append(("a", SDK_MINIMUM, path))
        for wid in ("d", "dc"):
            hosts, tasks = workloads(FLOOR)[wid]
            path = os.path.join(workdir, f"{wid}-floor.yml")
            write_yaml(path, play(hosts, tasks))
            plans.append((wid, "floor", path))
        if only:
            plans = [plan for plan in plans if plan[0] in only]
        # Warm-up: the first ansible-playbook run pays for cold imports/page cache.
        run_playbook(plans[-1][2], inv, env)
        times = {(plan[0], plan[1]): [] for plan in plans}
        calls = {}
        # Interleave rounds so slow drift in machine load hits every row alike.
        for _round in range(repeat):
            for wid, label, path in plans:
                recorder.reset()
                times[(wid, label)].append(run_playbook(path, inv, env))
                ops = [op for op in recorder.calls() if op.startswith("secretsmanager:")]
                calls[(wid, label)] = ops  # identical every round (cache is per process)
        return {key: {"median": statistics.median(vals), "runs": vals,
                      "calls": len(calls[key]),
                      "ops": {op: calls[key].count(op) for op in sorted(set(calls[key]))}}
                for key, vals in times.items()}
    finally:
        if recorder is not None:
            recorder.stop()
        stop(proc)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


DESCRIPTIONS = {
    "a": "(a) 50 lookups in a loop",
    "b": "(b) one lookup of 50 terms",
    "c": "(c) 20 hosts x loop of 6",
    "c6": "(c') 20 hosts x one 6-term lookup",
    "d": "(d) floor: env lookup loop of 50",
    "dc": "(d') floor: 20 hosts x env loop of 6",
}


def table(results):
    lines = ["| workload | plugin | median s | runs s | API calls | operations |",
             "|---|---|---:|---|---:|---|"]
    for wid in DESCRIPTIONS:
        for label in LABELS:
            row = results.get((wid, label))
            if row is None:
                continue
            runs = ", ".join(f"{v:.2f}" for v in row["runs"])
            ops = ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in row["ops"].items()) or "-"
            lines.append(f"| {DESCRIPTIONS[wid]} | {label} | {row['median']:.2f} | {runs} | {row['calls']} | {ops} |")
    return "\n".join(lines)


def targets(results):
    def t(wid, label):
        return results[(wid, label)]["median"]

    def c(wid, label):
        return results[(wid, label)]["calls"]

    checks = [
        ("(a) <= 1.5x the floor", t("a", "secretsops") / t("d", "floor"), "x floor", lambda v: v <= 1.5),
        ("(a) >= 3.5x faster than amazon.aws", t("a", "amazon.aws") / t("a", "secretsops"), "x faster", lambda v: v >= 3.5),
        ("(b) <= 3 API calls", c("b", "secretsops"), "calls", lambda v: v <= 3),
        ("(c) <= 6 API calls", c("c", "secretsops"), "calls", lambda v: v <= 6),
        ("(c) >= 2x faster than amazon.aws", t("c", "amazon.aws") / t("c", "secretsops"), "x faster", lambda v: v >= 2),
    ]
    if ("a", SDK_MINIMUM) in results:
        minimum = t("a", SDK_MINIMUM) / t("d", "floor")
        checks.append(("(a) reference: botocore minimum vs the floor", minimum, "x floor", lambda v: v <= 1.5))
    lines = []
    for label, value, unit, ok in checks:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"| {label} | {shown} {unit} | {'PASS' if ok(value) else 'FAIL'} |")
    return "| target | measured | result |\n|---|---|---|\n" + "\n".join(lines)


def environment():
    import boto3
    import botocore
    import moto

    def collection_version(name):
        import importlib

        try:
            base = list(importlib.import_module(f"ansible_collections.{name}").__path__)[0]
            with open(os.path.join(base, "MANIFEST.json"), encoding="utf-8") as handle:
                return json.load(handle)["collection_info"]["version"]
        except (ImportError, OSError, KeyError, ValueError):
            return "unknown"

    from ansible.release import __version__ as core

    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "plugins"], capture_output=True, text=True, check=False).stdout.strip()
        commit = (commit or "unknown") + (" (plugins/ modified)" if dirty else "")
    except OSError:
        commit = "unknown"
    load = os.getloadavg()
    return (f"date {time.strftime('%Y-%m-%d %H:%M %Z')}; secretsops.aws checkout {commit}; ansible-core {core}; amazon.aws {collection_version('amazon.aws')}; "
            f"moto {moto.__version__}; boto3 {boto3.__version__}; botocore {botocore.__version__}; "
            f"python {sys.version.split()[0]}; nproc {os.cpu_count()}; "
            f"load average before run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload and plugin (median reported)")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--collections-path", default=os.path.join(ROOT, ".collections"),
                        help="ANSIBLE_COLLECTIONS_PATH holding secretsops.aws (default: this checkout via .collections)")
    parser.add_argument("--only", nargs="+", choices=sorted(DESCRIPTIONS), help="run only these workloads (no target check)")
    args = parser.parse_args(argv)
    header = environment()
    print(header, flush=True)
    results = measure(args.repeat, args.collections_path, args.only)
    after = os.getloadavg()
    print(f"load average after run {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; repeat {args.repeat}\n")
    print(table(results))
    if not args.only:
        print()
        print(targets(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"environment": header, "results": [
                dict(workload=wid, plugin=label, **row) for (wid, label), row in results.items()]}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
