# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmark scripts share: paths, the emulator with the recording proxy in front,
per-call latency settings, running ``ansible-playbook``, the environment line and the
PASS/FAIL target table.  Not a product: nothing in the collection imports it.
"""
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
BIN = os.path.dirname(sys.executable)
REGION = "us-east-1"
sys.path.insert(0, os.path.join(ROOT, "tools"))

from aws_recorder import Recorder  # noqa: E402  pylint: disable=wrong-import-position
from emulator import _die_with_parent, ansible_env, free_port, stop, wait_until_up  # noqa: E402  pylint: disable=wrong-import-position

# Per-call latencies (milliseconds) every benchmark measures by default: loopback, and a model
# of AWS where every call costs tens of milliseconds (issue 14).
DEFAULT_LATENCIES_MS = (0.0, 20.0)


class Bench:
    """A moto server on a free loopback port with a ``Recorder`` in front, and a work dir."""

    def __init__(self, moto_url, recorder, workdir):
        self.moto_url = moto_url
        self.recorder = recorder
        self.workdir = workdir

    def reset_moto(self):
        request = urllib.request.Request(self.moto_url + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=60):
            pass

    def env(self, **overrides):
        """``ansible-playbook`` environment pointed at the recorder (see tools/emulator.py)."""
        return ansible_env(self.recorder.url, os.path.join(self.workdir, "ansible-tmp"), REGION, **overrides)

    def path(self, name):
        return os.path.join(self.workdir, name)


@contextlib.contextmanager
def emulator(prefix, **server_env):
    """Start moto (``server_env`` added to its environment) and the recorder; stop both and
    remove the work dir at the end, whatever happens.  The recorder sets TCP_NODELAY itself,
    so proxying costs ~0.1 ms a call (see benchmarks/lookup/README.md)."""
    port = free_port()
    moto_url = f"http://127.0.0.1:{port}"
    workdir = tempfile.mkdtemp(prefix=prefix)
    log = open(os.path.join(workdir, "moto.log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],  # pylint: disable=consider-using-with
                            stdout=log, stderr=log, env=dict(os.environ, **server_env),
                            start_new_session=True, preexec_fn=_die_with_parent)
    recorder = None
    try:
        wait_until_up(moto_url, proc)
        recorder = Recorder(moto_url).start()
        yield Bench(moto_url, recorder, workdir)
    finally:
        if recorder is not None:
            recorder.stop()
        stop(proc)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def run(command, env, timeout):
    """Run ``command`` from the checkout; (wall seconds, CompletedProcess with text output)."""
    start = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False)
    return time.monotonic() - start, proc


def write_yaml(path, data):
    import yaml

    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)


# -- latency ----------------------------------------------------------------------------------
def add_latency_option(parser):
    parser.add_argument("--latency-ms", type=float, nargs="+", default=list(DEFAULT_LATENCIES_MS), metavar="MS",
                        help="per-call latencies the recorder adds, one set of rows each "
                             "(default: %s)" % " ".join(f"{ms:g}" for ms in DEFAULT_LATENCIES_MS))


def latency_label(ms):
    return "loopback" if not ms else f"{ms:g} ms/call"


# -- reporting --------------------------------------------------------------------------------
def collection_version(name):
    try:
        base = list(importlib.import_module(f"ansible_collections.{name}").__path__)[0]
        with open(os.path.join(base, "MANIFEST.json"), encoding="utf-8") as handle:
            return json.load(handle)["collection_info"]["version"]
    except (ImportError, OSError, KeyError, ValueError):
        return "unknown"


def checkout():
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "plugins", "roles", "playbooks"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + (" (plugins/roles/playbooks modified)" if dirty else "")


def environment():
    """One line: date, versions, machine and its load before the run."""
    import boto3
    import botocore
    import moto
    from ansible.release import __version__ as core

    load = os.getloadavg()
    return (f"date {time.strftime('%Y-%m-%d %H:%M %Z')}; secretsops.aws checkout {checkout()}; ansible-core {core}; "
            f"amazon.aws {collection_version('amazon.aws')}; community.aws {collection_version('community.aws')}; "
            f"moto {moto.__version__}; boto3 {boto3.__version__}; botocore {botocore.__version__}; "
            f"python {sys.version.split()[0]}; nproc {os.cpu_count()}; "
            f"load average before run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def load_after():
    after = os.getloadavg()
    return f"load average after run {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}"


def targets_table(checks, digits=2):
    """``checks``: [(label, measured value, unit, predicate)] -> a Markdown PASS/FAIL table."""
    lines = ["| target | measured | result |", "|---|---|---|"]
    for label, value, unit, ok in checks:
        shown = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        lines.append(f"| {label} | {shown} {unit} | {'PASS' if ok(value) else 'FAIL'} |")
    return "\n".join(lines)


def write_json(path, header, results, **extra):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(dict({"environment": header, "results": results}, **extra), handle, indent=2)
