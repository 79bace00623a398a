# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration fixtures: a private moto server with a recording proxy in front, and
``run_play`` to run a playbook of tasks against it.

- ``aws`` (session): starts ``moto_server -H 127.0.0.1 -p <free port>`` from the venv with
  ``MOTO_ECS_SERVICE_RUNNING=1`` and a ``Recorder`` in front; both are stopped at the end of the
  session (the server runs in its own process group, so no moto process outlives pytest).
- ``emulator`` (function): resets moto (``POST /moto-api/reset``) and the recorder before the test,
  and returns the session object (``.url``, ``.moto_url``, ``.recorder``, ``.client(service)``).
- ``run_play`` (function): ``run_play(tasks, check=False, diff=False, extra_env=None, vars=None)``
  writes the tasks into a playbook (localhost, local connection, no facts) and runs
  ``ansible-playbook`` with the ``ansible.posix.json`` callback (``extra_env`` is added to the
  environment; a ``None`` value removes that variable); returns a ``PlayResult`` with
  ``.rc``, ``.stdout``, ``.stderr`` and ``.tasks`` (the ``hosts.localhost`` result of each task,
  in order, each with the task name added as ``_task``).
"""
import json
import os
import subprocess
import sys
import urllib.request

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from aws_recorder import Recorder  # noqa: E402
from emulator import _die_with_parent, ansible_env, free_port, server_command, server_env, stop, wait_until_up  # noqa: E402

BIN = os.path.dirname(sys.executable)
REGION = "us-east-1"


class Emulator:
    def __init__(self, moto_url, recorder, proc):
        self.moto_url = moto_url
        self.recorder = recorder
        self.proc = proc
        self.url = recorder.url

    def client(self, service, region=REGION, direct=True):
        """A boto3 client for test setup/inspection.  ``direct=True`` (default) talks to moto
        itself, so setup calls do not show up in the recorder."""
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.moto_url if direct else self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def reset(self):
        request = urllib.request.Request(self.moto_url + "/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30):
            pass
        self.recorder.reset()
        self.recorder.rewrite = None
        self.recorder.set_faults(None)
        self.recorder.latency = 0.0

    def ansible_env(self, tmp_path, **overrides):
        """Environment for an ``ansible-playbook`` run against this emulator: AWS_* pointing at
        the recorder with dummy credentials (no profile or session token from the caller), this
        checkout's collections and ansible.cfg, the venv first on PATH, a private local temp
        dir; ``overrides`` (e.g. ``ANSIBLE_STDOUT_CALLBACK``) win."""
        return ansible_env(self.url, tmp_path / "ansible-tmp", REGION,
                           ANSIBLE_PYTHON_INTERPRETER=sys.executable, **overrides)

    def rotation_lambda(self, name):
        """ARN of a new (never invoked) Python Lambda function and its role, for rotation set-up;
        moto creates functions without Docker but cannot invoke them."""
        import io
        import zipfile

        role = self.client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }))["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("rotate.py", "def handler(event, context):\n    return None\n")
        return self.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="rotate.handler",
            Code={"ZipFile": buf.getvalue()})["FunctionArn"]

    def calls(self, prefix="secretsmanager:"):
        return [op for op in self.recorder.calls() if op.startswith(prefix)]

    def writes(self):
        return self.recorder.writes()


@pytest.fixture(scope="session")
def aws(tmp_path_factory):
    port = free_port()
    moto_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = server_env(running_tasks=1)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(server_command(port), stdout=log, stderr=log,
                                env=env, start_new_session=True, preexec_fn=_die_with_parent)
    recorder = None
    try:
        wait_until_up(moto_url, proc)
        recorder = Recorder(moto_url).start()
        yield Emulator(moto_url, recorder, proc)
    finally:
        if recorder is not None:
            recorder.stop()
        stop(proc)


@pytest.fixture
def emulator(aws):
    aws.reset()
    return aws


class PlayResult:
    def __init__(self, rc, stdout, stderr, tasks):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.tasks = tasks

    def __getitem__(self, index):
        return self.tasks[index]

    def __len__(self):
        return len(self.tasks)

    def by_name(self, name):
        matches = [task for task in self.tasks if task["_task"] == name]
        assert len(matches) == 1, f"task {name!r} ran {len(matches)} times"
        return matches[0]

    def summary(self):
        """A value-free description for assertion messages: rc, task names and their
        changed/failed flags and (module) messages -- never task results or stdout."""
        rows = [f"{t['_task']}: changed={t.get('changed')} failed={t.get('failed')} msg={str(t.get('msg', ''))[:300]}"
                for t in self.tasks]
        return f"rc={self.rc}; " + "; ".join(rows)


def _parse_json_output(stdout):
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except ValueError:
        return None


@pytest.fixture
def run_play(emulator, tmp_path):
    counter = {"n": 0}

    def run(tasks, check=False, diff=False, extra_env=None, vars=None):
        if isinstance(tasks, str):
            tasks = yaml.safe_load(tasks)
        play = [{
            "name": "secretsops integration test",
            "hosts": "localhost",
            "gather_facts": False,
            "connection": "local",
            "vars": dict({"ansible_python_interpreter": sys.executable}, **(vars or {})),
            "tasks": tasks,
        }]
        counter["n"] += 1
        path = tmp_path / f"play{counter['n']}.yml"
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", **(extra_env or {}))
        env = {key: value for key, value in env.items() if value is not None}  # extra_env None: unset
        command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(path)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
        data = _parse_json_output(proc.stdout)
        tasks_out = []
        if data:
            for play_out in data.get("plays", []):
                for task in play_out.get("tasks", []):
                    result = dict(task.get("hosts", {}).get("localhost", {}))
                    result["_task"] = task.get("task", {}).get("name", "")
                    tasks_out.append(result)
        return PlayResult(proc.returncode, proc.stdout, proc.stderr, tasks_out)

    return run
