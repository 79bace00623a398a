# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module secretsops.aws.ecs_task_definition against the emulator: a revision only when
something changed (execution role, cpu, memory count), zero writes when nothing did and in
check mode, no duplicate after a lost RegisterTaskDefinition answer, and two runs at once end
on one revision."""
import os
import subprocess
import sys

import pytest
import yaml

from aws_recorder import Faults

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
FAMILY = "tdtest-api"


def register_task(**overrides):
    args = {
        "family": FAMILY,
        "network_mode": "awsvpc",
        "requires_compatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "execution_role_arn": "arn:aws:iam::123456789012:role/tdtest-exec",
        "container_definitions": [{
            "name": "api", "image": "nginx:1", "essential": True,
            "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
        }],
    }
    args.update(overrides)
    return [{"name": "Register", "secretsops.aws.ecs_task_definition": args, "register": "td"}]


def active_revisions(emulator):
    ecs = emulator.client("ecs")
    return ecs.list_task_definitions(familyPrefix=FAMILY, status="ACTIVE")["taskDefinitionArns"]


def test_register_idempotent_and_every_field_counts(emulator, run_play):
    check = run_play(register_task(), check=True)
    assert check.rc == 0 and check[0]["changed"], check.summary()
    assert emulator.writes() == []

    first = run_play(register_task())
    assert first.rc == 0 and first[0]["changed"], first.summary()
    assert first[0]["task_definition"]["revision"] == 1

    emulator.recorder.reset()
    again = run_play(register_task())
    assert again.rc == 0 and not again[0]["changed"], again.summary()
    assert emulator.writes() == []

    for change in ({"cpu": "512", "memory": "1024"}, {"execution_role_arn": "arn:aws:iam::123456789012:role/other"}):
        changed = run_play(register_task(**change))
        assert changed.rc == 0 and changed[0]["changed"], changed.summary()
    assert len(active_revisions(emulator)) == 3


def test_lost_answer_registers_no_duplicate(emulator, run_play):
    emulator.recorder.set_faults(Faults(rate=1.0, seed=1, kinds=("500",), placement="after",
                                        operations=("RegisterTaskDefinition",), max_in_a_row=1))
    result = run_play(register_task())
    emulator.recorder.set_faults(None)
    assert result.rc == 0 and result[0]["changed"], result.summary()
    assert [call.operation.split(":")[-1] for call in emulator.recorder.injected()] == ["RegisterTaskDefinition"]
    assert len(active_revisions(emulator)) == 1, "the lost answer led to a second identical revision"


def test_register_is_sent_once_then_a_read_decides(emulator, run_play):
    # A throttling answer to a call the emulator applied, twice in a row: an SDK retry of
    # RegisterTaskDefinition would register an identical second revision before any read.
    emulator.recorder.set_faults(Faults(rate=1.0, seed=1, kinds=("throttle",), placement="after",
                                        operations=("RegisterTaskDefinition",), max_in_a_row=2))
    result = run_play(register_task())
    emulator.recorder.set_faults(None)
    assert result.rc == 0 and result[0]["changed"], result.summary()
    registers = [op for op in emulator.calls("") if op.endswith(":RegisterTaskDefinition")]
    assert registers == ["amazonec2containerservicev20141113:RegisterTaskDefinition"], registers
    ecs = emulator.client("ecs")
    assert len(ecs.list_task_definitions(familyPrefix=FAMILY, status="ACTIVE")["taskDefinitionArns"]) == 1
    assert ecs.list_task_definitions(familyPrefix=FAMILY, status="INACTIVE")["taskDefinitionArns"] == []


def test_two_runs_at_once_end_on_one_revision(emulator, tmp_path):
    # Slow reads make both runs see "no revision yet" and both register: a real race.
    emulator.recorder.set_faults(Faults(rate=1.0, seed=1, kinds=("slow",), slow_seconds=4.0,
                                        operations=("DescribeTaskDefinition",)))
    env = emulator.ansible_env(tmp_path)
    procs = []
    for index in range(2):
        play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
                 "vars": {"ansible_python_interpreter": sys.executable}, "tasks": register_task()}]
        path = tmp_path / f"play{index}.yml"
        path.write_text(yaml.safe_dump(play))
        procs.append(subprocess.Popen([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(path)],
                                      env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    emulator.recorder.set_faults(None)
    assert emulator.writes().count(next(op for op in emulator.writes() if op.endswith("RegisterTaskDefinition"))) == 2, \
        "the two runs did not race (each should have registered once)"
    assert all(proc.returncode == 0 for proc in procs), "\n".join(out[-2000:] for out in outputs)
    assert len(active_revisions(emulator)) == 1
