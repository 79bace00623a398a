# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guide's whole job under a failing API: provision -> lookup -> rotate with 25% of the
calls answered by throttling, 500, 503, a closed connection or a slow answer -- injected by
the recording proxy before the request reaches the emulator or after it was applied (a lost
answer) -- with three fixed seeds.  Each run must converge in a single attempt, and then:
no duplicate secret versions, no duplicate task definition revisions, values intact, and a
fault-free re-run reports changed=0 with zero write calls.

Values are compared by fingerprint; no assertion message prints one."""
import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from aws_recorder import Faults

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = os.path.dirname(sys.executable)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
SEEDS = (11, 23, 42)
FAULTS = dict(rate=0.25, kinds=("throttle", "500", "503", "close", "slow"), placement="both",
              slow_seconds=0.5, max_in_a_row=2)
APP = {
    "secretsops_env": "fault",
    "secretsops_app": "shop",
    "secretsops_secrets": [
        {"category": "database", "json": {"DB_HOST": "db.internal", "DB_USER": "shop"}, "generate": ["DB_PASSWORD"]},
        {"category": "jwt", "generate": ["JWT_SECRET"]},
        {"category": "stripe", "json": {"STRIPE_SECRET_KEY": "sk_test_fault_value"}},
    ],
    "secretsops_task": {
        "family": "fault-shop-api",
        "image": "public.ecr.aws/docker/library/node:22-alpine",
        "secrets": {"DB_PASSWORD": "database:DB_PASSWORD", "JWT_SECRET": "jwt:JWT_SECRET"},
    },
    "secretsops_trail_bucket": "fault-shop-trail-logs",
}
NAMES = [f"fault/shop/{item['category']}" for item in APP["secretsops_secrets"]]


def playbook(emulator, tmp_path, name, extra=None, check=False):
    """ansible-playbook playbooks/NAME with the app's variables (from a vars file, never -e)."""
    vars_file = tmp_path / f"vars-{name}.yml"
    vars_file.write_text(yaml.safe_dump(dict(APP, ansible_python_interpreter=sys.executable, **(extra or {}))))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}",
               os.path.join(ROOT, "playbooks", name)]
    if check:
        command.append("--check")
    env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def tail(output, lines=25):
    """The end of a run's output for an assertion message (no task prints a value)."""
    return "\n".join(output.splitlines()[-lines:])


def recap_changed(output):
    for line in output.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no play recap in the output")


def fingerprint(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def version_values(emulator, name):
    """{version_id: fingerprint} of every version of a secret, deprecated ones included."""
    sm = emulator.client("secretsmanager")
    versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return {v["VersionId"]: fingerprint(sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"])
            for v in versions}


def current(emulator, name):
    response = emulator.client("secretsmanager").get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
    return json.loads(response["SecretString"])


def lookup_play(tmp_path):
    """A play reading every key through the lookup and checking it against AWS (no output of values)."""
    terms = ", ".join(f"'{name}'" for name in NAMES)
    return [{
        "name": "Read every secret through the lookup",
        "ansible.builtin.set_fact": {"read_back": f"{{{{ lookup('secretsops.aws.secret', {terms}, wantlist=true, cache_ttl=0) }}}}"},
        "no_log": True,
    }, {
        "name": "Publish fingerprints only",
        "ansible.builtin.set_fact": {"prints": "{{ read_back | map('to_json', sort_keys=true) | map('hash', 'sha256') | list }}"},
    }]


def assert_no_duplicates(emulator):
    for name in NAMES:
        values = version_values(emulator, name)
        assert len(set(values.values())) == len(values), f"{name}: two versions hold the same value ({len(values)} versions)"
    ecs = emulator.client("ecs")
    arns = ecs.list_task_definitions(familyPrefix="fault-shop-api")["taskDefinitionArns"]
    bodies = []
    for arn in arns:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        fields = ("containerDefinitions", "taskRoleArn", "executionRoleArn", "cpu", "memory", "networkMode")
        bodies.append(json.dumps({k: definition.get(k) for k in fields}, sort_keys=True, default=str))
    assert len(set(bodies)) == len(bodies), f"identical task definition revisions registered: {len(bodies)} revisions"


@pytest.mark.parametrize("seed", SEEDS)
def test_provision_lookup_rotate_converge_under_faults(emulator, run_play, tmp_path, seed):
    emulator.recorder.set_faults(Faults(seed=seed, **FAULTS))
    rc, out = playbook(emulator, tmp_path, "provision.yml")
    assert rc == 0, f"provision did not converge under faults (seed {seed}):\n{tail(out)}"
    generated = {name: current(emulator, name) for name in NAMES}
    assert all(generated["fault/shop/database"].get(k) for k in ("DB_HOST", "DB_USER", "DB_PASSWORD"))

    read = run_play(lookup_play(tmp_path))
    assert read.rc == 0, f"lookup failed under faults (seed {seed}): {read.summary()}"
    expected = [hashlib.sha256(json.dumps(generated[name], sort_keys=True).encode()).hexdigest() for name in NAMES]
    assert read.by_name("Publish fingerprints only")["ansible_facts"]["prints"] == expected

    rc, out = playbook(emulator, tmp_path, "rotate.yml", {"secretsops_rotate_category": "jwt",
                                                          "secretsops_rotate_keys": ["JWT_SECRET"]})
    assert rc == 0, f"rotate did not converge under faults (seed {seed}):\n{tail(out)}"
    rotated = current(emulator, "fault/shop/jwt")
    assert rotated["JWT_SECRET"] != generated["fault/shop/jwt"]["JWT_SECRET"], "rotation reported done but AWSCURRENT unchanged"
    faults = emulator.recorder.injected()
    emulator.recorder.set_faults(None)
    assert len(faults) > 10, f"only {len(faults)} faults were injected"

    assert_no_duplicates(emulator)
    for name in ("fault/shop/database", "fault/shop/stripe"):
        assert current(emulator, name) == generated[name], f"{name} changed although nothing asked for it"

    emulator.recorder.reset()
    rc, out = playbook(emulator, tmp_path, "provision.yml")
    assert rc == 0, tail(out)
    assert recap_changed(out) == 0, f"fault-free re-run changed something:\n{tail(out)}"
    assert emulator.writes() == [], f"fault-free re-run wrote: {emulator.writes()}"


def test_two_provisions_at_once_both_succeed(emulator, tmp_path):
    """Two pipelines run the same provision at the same moment: both succeed (creates that find
    the resource made by the other converge), and the account ends with one of everything."""
    env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    procs = []
    for index in range(2):
        vars_file = tmp_path / f"vars-{index}.yml"
        vars_file.write_text(yaml.safe_dump(dict(APP, ansible_python_interpreter=sys.executable)))
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}",
             os.path.join(ROOT, "playbooks", "provision.yml")], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [proc.communicate(timeout=900)[0] for proc in procs]
    for proc, out in zip(procs, outputs):
        assert proc.returncode == 0, f"one of two provisions at once failed:\n{tail(out)}"
    assert_no_duplicates(emulator)
    for name in NAMES:
        assert len(version_values(emulator, name)) == 1, f"{name}: two provisions made {len(version_values(emulator, name))} versions"

    emulator.recorder.reset()
    rc, out = playbook(emulator, tmp_path, "provision.yml")
    assert rc == 0 and recap_changed(out) == 0, tail(out)
    assert emulator.writes() == []
