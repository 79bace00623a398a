# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup's cache is shared by the forked workers of one ansible-playbook run: 20 hosts
reading the same 6 secrets cost one BatchGetSecretValue, not 20 (amazon.aws: 120 calls).
The broker process exits with the run and leaves no socket behind."""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)

SECRETS = {f"bench/shop/s{i}": {"KEY": f"shared-cache-test-{i}"} for i in range(6)}


def ansible_playbook(emulator, tmp_path, hosts, tasks, **env_extra):
    """Run one play of ``tasks`` on ``hosts`` local hosts; the output is checked, never a value."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {f"h{i:02d}": {} for i in range(hosts)},
                                             "vars": {"ansible_connection": "local",
                                                      "ansible_python_interpreter": sys.executable}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    env = emulator.ansible_env(tmp_path, **env_extra)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


def run_hosts(emulator, tmp_path, shared, hosts=20, **env_extra):
    terms = ", ".join(repr(name) for name in SECRETS)
    emulator.recorder.reset()
    ansible_playbook(emulator, tmp_path, hosts, [{
        "name": "read six secrets on every host",
        "ansible.builtin.assert": {"quiet": True, "that": [
            f"lookup('secretsops.aws.secret', {terms}, shared_cache={shared}, wantlist=true) | length == 6"]},
    }], **env_extra)
    return [op for op in emulator.calls() if "SecretValue" in op]


@pytest.fixture
def seeded(emulator):
    client = emulator.client("secretsmanager")
    for name, value in SECRETS.items():
        client.create_secret(Name=name, SecretString=json.dumps(value))
    return emulator


def test_twenty_hosts_share_one_read(seeded, tmp_path):
    calls = run_hosts(seeded, tmp_path, shared=True)
    assert calls == ["secretsmanager:BatchGetSecretValue"]


def test_without_sharing_each_worker_reads(seeded, tmp_path):
    calls = run_hosts(seeded, tmp_path, shared=False)
    assert len(calls) == 20


def test_broker_exits_with_the_run(seeded, tmp_path):
    run_hosts(seeded, tmp_path, shared=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        procs = subprocess.run(["pgrep", "-f", "_cache_broker.py /"], capture_output=True, text=True, check=False).stdout.split()
        # Other test sessions may run brokers of their own; ours served a finished controller.
        alive = [pid for pid in procs if _owner_gone(pid)]
        if not alive:
            break
        time.sleep(0.2)
    assert not alive


def _owner_gone(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            owner = int(handle.read().split(b"\0")[-2])
    except (OSError, ValueError, IndexError):
        return False
    return not os.path.exists(f"/proc/{owner}")


def test_a_later_task_reads_again_after_a_write(emulator, tmp_path):
    """Sharing is scoped to one task: a value written by a module is seen by the next task
    (two hosts, so the broker is in use)."""
    emulator.client("secretsmanager").create_secret(Name="bench/shop/rw", SecretString=json.dumps({"K": "old-value"}))
    tasks = [
        {"name": "first read", "ansible.builtin.assert": {"that": ["lookup('secretsops.aws.secret', 'bench/shop/rw:K') == 'old-value'"]}},
        {"name": "write", "secretsops.aws.secret": {"name": "bench/shop/rw", "json_secret": {"K": "new-value"}}, "run_once": True},
        {"name": "second read", "ansible.builtin.assert": {"that": ["lookup('secretsops.aws.secret', 'bench/shop/rw:K') == 'new-value'"]}},
    ]
    ansible_playbook(emulator, tmp_path, 2, tasks)


def test_a_single_host_play_starts_no_broker(seeded, tmp_path):
    """One host: each task runs in one worker, nothing to share, so no broker is started (its
    socket directory is never even created).  Two hosts in the same set-up do start one."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    broker_dir = runtime / f"secretsops-aws-{os.getuid()}"
    calls = run_hosts(seeded, tmp_path, shared=True, hosts=1, XDG_RUNTIME_DIR=str(runtime))
    assert calls == ["secretsmanager:BatchGetSecretValue"]
    assert not broker_dir.exists()
    calls = run_hosts(seeded, tmp_path, shared=True, hosts=2, XDG_RUNTIME_DIR=str(runtime))
    assert calls == ["secretsmanager:BatchGetSecretValue"]
    assert broker_dir.is_dir()
