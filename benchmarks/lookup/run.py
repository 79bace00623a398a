#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark: amazon.aws.secretsmanager_secret vs secretsops.aws.secret.

Run from the checkout:  .venv/bin/python benchmarks/lookup/run.py [--repeat 3] [--latency-ms 0 20] [--json FILE]

Starts ONE moto server with a recording proxy (tools/aws_recorder.py) in front, seeds secrets
with boto3 straight against moto (so seeding is not counted), then runs each workload as an
``ansible-playbook`` subprocess N times per plugin and prints the median wall time and the
Secrets Manager API calls the recorder saw.  Every row is measured once per ``--latency-ms``
value (default 0 and 20): the recorder adds that delay to every API call, a model of AWS where a
call costs tens of milliseconds instead of ~5 ms on loopback.  Values are never printed: every task that reads a
secret is a ``set_fact`` with ``no_log: true``.

Workloads (see README.md):
  a  one task, loop of 50 items, one lookup per item (50 different secrets)
  b  one lookup of 50 terms
  c  20 hosts (inventory of local hosts, default forks) x a loop over the same 6 secrets
  c6 20 hosts x one lookup of the same 6 terms (informative, not an issue target)
  d  the trivial-lookup floor: workload (a)'s loop with ansible.builtin.env
  db the floor of (b): one task, one ansible.builtin.env lookup (informative)
  dc the floor of (c): 20 hosts x a loop of 6 ansible.builtin.env lookups (informative)
  and a reference row for (a): the same loop with the least a botocore-based lookup can do
  (sdk_minimum/: one botocore client, one GetSecretValue per term; informative)

The exit status is 0 whether targets are met or not (this is a measurement); it is non-zero
only when a playbook itself fails.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _common  # noqa: E402  pylint: disable=wrong-import-position
from _common import BIN, REGION, ROOT, latency_label, write_yaml  # noqa: E402  pylint: disable=wrong-import-position

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
FLOORS = ("d", "db", "dc")  # floors: the workloads run with FLOOR only


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
        "db": ("bench1", [{"name": "One trivial lookup", "ansible.builtin.set_fact": {"bench_value": floor}}]),
        "dc": ("benchhosts", [loop_task(floor, "bench_shared")]),
    }


def inventory():
    hosts = {f"h{i:02d}": None for i in range(1, N_HOSTS + 1)}
    return {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"bench1": {"hosts": {"h01": None}}, "benchhosts": {"hosts": hosts}},
    }}


# -- running ----------------------------------------------------------------------------------
def run_playbook(path, inv, env):
    elapsed, proc = _common.run([os.path.join(BIN, "ansible-playbook"), "-i", inv, path], env, timeout=600)
    if proc.returncode != 0:
        # The output is no_log'd, so it cannot hold a value; show the tail for diagnosis.
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise RuntimeError(f"{os.path.basename(path)} failed (rc={proc.returncode}):\n{tail}")
    return elapsed


def write_plans(workdir):
    """[(workload, label, playbook path)] for every row."""
    plans = []
    for label, (plugin, extra) in PLUGINS.items():
        for wid, (hosts, tasks) in workloads(plugin, extra).items():
            if wid in FLOORS:
                continue
            path = os.path.join(workdir, f"{wid}-{label.replace(' ', '_')}.yml")
            write_yaml(path, play(hosts, tasks))
            plans.append((wid, label, path))
    hosts, tasks = workloads(SDK_MINIMUM_PLUGIN)["a"]
    path = os.path.join(workdir, "a-sdk-minimum.yml")
    write_yaml(path, play(hosts, tasks))
    plans.append(("a", SDK_MINIMUM, path))
    for wid in FLOORS:
        hosts, tasks = workloads(FLOOR)[wid]
        path = os.path.join(workdir, f"{wid}-floor.yml")
        write_yaml(path, play(hosts, tasks))
        plans.append((wid, "floor", path))
    return plans


def measure(repeat, collections_path, latencies, only=None):
    """{(latency ms, workload, label): row}; every latency gets every row, rounds interleaved."""
    with _common.emulator("secretsops-bench-") as bench:
        seed(bench.moto_url)
        env = bench.env(ANSIBLE_COLLECTIONS_PATH=collections_path + os.pathsep + SDK_MINIMUM_PATH,
                        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
        inv = bench.path("inventory.yml")
        write_yaml(inv, inventory())
        plans = write_plans(bench.workdir)
        if only:
            plans = [plan for plan in plans if plan[0] in only]
        # Warm-up: the first ansible-playbook run pays for cold imports/page cache.
        run_playbook(plans[-1][2], inv, env)
        times = {(ms, plan[0], plan[1]): [] for ms in latencies for plan in plans}
        calls = {}
        # Interleave rounds so slow drift in machine load hits every row alike.
        for _round in range(repeat):
            for ms in latencies:
                bench.recorder.latency = ms / 1000.0
                for wid, label, path in plans:
                    bench.recorder.reset()
                    times[(ms, wid, label)].append(run_playbook(path, inv, env))
                    ops = [op for op in bench.recorder.calls() if op.startswith("secretsmanager:")]
                    calls[(ms, wid, label)] = ops  # identical every round (cache is per process)
        return {key: {"median": statistics.median(vals), "runs": vals,
                      "calls": len(calls[key]),
                      "ops": {op: calls[key].count(op) for op in sorted(set(calls[key]))}}
                for key, vals in times.items()}


DESCRIPTIONS = {
    "a": "(a) 50 lookups in a loop",
    "b": "(b) one lookup of 50 terms",
    "c": "(c) 20 hosts x loop of 6",
    "c6": "(c') 20 hosts x one 6-term lookup",
    "d": "(d) floor: env lookup loop of 50",
    "db": "(d'') floor of (b): one env lookup",
    "dc": "(d') floor: 20 hosts x env loop of 6",
}


def table(results, latencies):
    lines = ["| workload | latency | plugin | median s | runs s | API calls | operations |",
             "|---|---|---|---:|---|---:|---|"]
    for wid in DESCRIPTIONS:
        for ms in latencies:
            for label in LABELS:
                row = results.get((ms, wid, label))
                if row is None:
                    continue
                runs = ", ".join(f"{v:.2f}" for v in row["runs"])
                ops = ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in row["ops"].items()) or "-"
                lines.append(f"| {DESCRIPTIONS[wid]} | {latency_label(ms)} | {label} | {row['median']:.2f} | {runs} | "
                             f"{row['calls']} | {ops} |")
    return "\n".join(lines)


def targets(results, latencies):
    """Issue 14's targets (PASS/FAIL), then informative ratios (no target).

    (a) against the reference row and amazon.aws, and the API call counts, on the first latency
    given (loopback by default); (b) and (c) against amazon.aws at 20 ms/call, when measured."""
    def t(ms, wid, label):
        return results[(ms, wid, label)]["median"]

    def c(ms, wid, label):
        return results[(ms, wid, label)]["calls"]

    base = latencies[0]
    at = "" if not base else f" at {latency_label(base)}"
    checks = [
        (f"(a) <= 1.10x the botocore minimum (reference){at}", t(base, "a", "secretsops") / t(base, "a", SDK_MINIMUM),
         "x reference", lambda v: v <= 1.10),
        (f"(a) >= 4x faster than amazon.aws{at}", t(base, "a", "amazon.aws") / t(base, "a", "secretsops"), "x faster", lambda v: v >= 4),
        ("(b) <= 3 API calls", c(base, "b", "secretsops"), "calls", lambda v: v <= 3),
        ("(c) <= 6 API calls", c(base, "c", "secretsops"), "calls", lambda v: v <= 6),
    ]
    slow = 20.0 if 20.0 in latencies else None
    if slow is not None:
        for wid in ("b", "c"):
            checks.append((f"({wid}) >= 5x faster than amazon.aws at {latency_label(slow)}",
                           t(slow, wid, "amazon.aws") / t(slow, wid, "secretsops"), "x faster", lambda v: v >= 5))
    info = [
        (f"(a) vs the floor (d){at} (issue 4's <= 1.5x)", t(base, "a", "secretsops") / t(base, "d", "floor"), "x floor"),
        (f"(a) reference vs the floor (d){at}", t(base, "a", SDK_MINIMUM) / t(base, "d", "floor"), "x floor"),
        (f"(c) faster than amazon.aws{at} (issue 4's >= 2x)", t(base, "c", "amazon.aws") / t(base, "c", "secretsops"), "x faster"),
    ]
    if slow is not None:
        # The most any lookup could gain: amazon.aws against Ansible alone doing the same tasks.
        info += [(f"(b) ceiling at {latency_label(slow)}: amazon.aws vs the floor of (b) (d'')",
                  t(slow, "b", "amazon.aws") / t(slow, "db", "floor"), "x faster"),
                 (f"(c) ceiling at {latency_label(slow)}: amazon.aws vs the floor of (c) (d')",
                  t(slow, "c", "amazon.aws") / t(slow, "dc", "floor"), "x faster")]
    lines = [_common.targets_table(checks, digits=2)]
    lines += [f"| {label} | {value:.2f} {unit} | info |" for label, value, unit in info]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload and plugin (median reported)")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--collections-path", default=os.path.join(ROOT, ".collections"),
                        help="ANSIBLE_COLLECTIONS_PATH holding secretsops.aws (default: this checkout via .collections)")
    parser.add_argument("--only", nargs="+", choices=sorted(DESCRIPTIONS), help="run only these workloads (no target check)")
    _common.add_latency_option(parser)
    args = parser.parse_args(argv)
    header = _common.environment()
    print(header, flush=True)
    results = measure(args.repeat, args.collections_path, args.latency_ms, args.only)
    print(f"{_common.load_after()}; repeat {args.repeat}; per-call latency "
          + ", ".join(latency_label(ms) for ms in args.latency_ms) + "\n")
    print(table(results, args.latency_ms))
    if not args.only:
        print()
        print(targets(results, args.latency_ms))
    if args.json:
        _common.write_json(args.json, header, [dict(latency_ms=ms, workload=wid, plugin=label, **row)
                                               for (ms, wid, label), row in results.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
