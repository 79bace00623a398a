# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Staged rotation against the moto server, through the recording proxy: the secret_version and
secret_rotation modules, the secret module's version_stages, and the rotate / rollback playbooks
(rotate -> promote -> redeploy -> verify -> roll back on failure).

Values are test strings; assertion messages never print them.  Values are always read with an
explicit ``VersionStage``: moto answers GetSecretValue without a stage (and BatchGetSecretValue)
from the last version *written* as AWSCURRENT, ignoring UpdateSecretVersionStage (AWS follows
the label).
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

from aws_recorder import Faults


pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
NAME = "rottest/shop/jwt"
OLD = {"JWT_SECRET": "test-old-signing-key", "JWT_ISSUER": "test-issuer"}
CLUSTER = "rottest"
SERVICE = "api"
HIDDEN = "a secret value appeared in the output"
QUICK = {"secretsops_redeploy_timeout": 5, "secretsops_redeploy_delay": 1, "secretsops_health_check_retries": 0, "secretsops_health_check_delay": 1}


# -- helpers ----------------------------------------------------------------------------------
def run_playbook(emulator, tmp_path, playbook, extra_vars=None, check=False):
    """ansible-playbook PLAYBOOK against the recorder; returns (rc, stdout, tasks)."""
    env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    vars_file = tmp_path / "extra-vars.yml"
    vars_file.write_text(yaml.safe_dump(dict({"ansible_python_interpreter": sys.executable}, **(extra_vars or {}))))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}",
               os.path.join(ROOT, playbook)]
    if check:
        command.append("--check")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    tasks = []
    start = proc.stdout.find("{")
    if start >= 0:
        data = json.loads(proc.stdout[start:])
        for play in data.get("plays", []):
            for task in play.get("tasks", []):
                result = dict(task.get("hosts", {}).get("localhost", {}))
                result["_task"] = task.get("task", {}).get("name", "")
                tasks.append(result)
    return proc.returncode, proc.stdout + proc.stderr, tasks


def summary(rc, tasks):
    rows = [f"{t['_task']}: changed={t.get('changed')} failed={t.get('failed')} msg={str(t.get('msg', ''))[:400]}" for t in tasks]
    return f"rc={rc}; " + "; ".join(rows)


def task_named(tasks, name):
    found = [t for t in tasks if t["_task"] == name]
    assert found, f"task {name!r} did not run"
    return found[-1]


def value(emulator, stage="AWSCURRENT", name=NAME):
    response = emulator.client("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)
    return json.loads(response["SecretString"])


def stages(emulator, name=NAME):
    return emulator.client("secretsmanager").describe_secret(SecretId=name)["VersionIdsToStages"]


def holder(emulator, stage, name=NAME):
    found = [vid for vid, labels in stages(emulator, name).items() if stage in labels]
    return found[0] if found else None


def make_secret(emulator):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=NAME, SecretString=json.dumps(OLD))
    return holder(emulator, "AWSCURRENT")


def make_service(emulator):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    arn = ecs.register_task_definition(
        family="rottest-api", networkMode="bridge",
        containerDefinitions=[{"name": "api", "image": "nginx:1", "memory": 128, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, desiredCount=1, launchType="EC2")


def rotate_vars(**extra):
    out = {
        "secretsops_env": "rottest",
        "secretsops_app": "shop",
        "secretsops_rotate_category": "jwt",
        "secretsops_rotate_keys": ["JWT_SECRET"],
        "secretsops_ecs_cluster": CLUSTER,
        "secretsops_ecs_services": [SERVICE],
    }
    out.update(QUICK)
    out.update(extra)
    return out


def redeploys(emulator):
    """ECS UpdateService calls (the recorder names ECS by its X-Amz-Target service prefix)."""
    return ["ecs:UpdateService" for op in emulator.writes() if op.endswith(":UpdateService")]


@pytest.fixture
def app(emulator):
    """A secret with one version and an ECS service that reads it."""
    old_version = make_secret(emulator)
    make_service(emulator)
    emulator.recorder.reset()
    return old_version


# -- rotate / rollback playbooks --------------------------------------------------------------
def test_rotate_check_mode_writes_nothing(emulator, app, tmp_path):
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml", rotate_vars(), check=True)
    assert rc == 0, summary(rc, tasks)
    assert emulator.writes() == [], f"check mode made write calls: {emulator.writes()}"
    assert stages(emulator) == {app: ["AWSCURRENT"]}


def test_rotate_then_rollback_twice(emulator, app, tmp_path):
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml", rotate_vars())
    assert rc == 0, summary(rc, tasks)
    assert OLD["JWT_SECRET"] not in out, HIDDEN
    new = value(emulator)
    assert new["JWT_SECRET"] != OLD["JWT_SECRET"], "AWSCURRENT still holds the old key"
    assert len(new["JWT_SECRET"]) == 64, "the new key is not 48 random bytes in base64"
    assert new["JWT_ISSUER"] == OLD["JWT_ISSUER"], "the other keys were not kept"
    assert value(emulator, "AWSPREVIOUS") == OLD, "AWSPREVIOUS does not hold the old value"
    assert holder(emulator, "AWSPREVIOUS") == app
    assert holder(emulator, "AWSPENDING") is None, "AWSPENDING left behind after promotion"
    new_version = holder(emulator, "AWSCURRENT")
    assert redeploys(emulator) == ["ecs:UpdateService"], emulator.writes()
    writes = [op for op in emulator.writes() if op.startswith("secretsmanager:")]
    assert writes == ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
                      "secretsmanager:UpdateSecretVersionStage"], writes

    rollback_vars = {k: v for k, v in rotate_vars().items() if k != "secretsops_rotate_keys"}
    emulator.recorder.reset()
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rollback.yml", rollback_vars)
    assert rc == 0, summary(rc, tasks)
    moved = task_named(tasks, "Put AWSCURRENT back on the previous (or the given) version")
    assert moved["changed"] is True
    assert (moved["previous_version_id"], moved["version_id"]) == (new_version, app)
    assert value(emulator) == OLD, "rollback did not restore the old value"
    assert holder(emulator, "AWSPREVIOUS") == new_version
    assert redeploys(emulator) == ["ecs:UpdateService"], "rollback did not redeploy"

    emulator.recorder.reset()
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rollback.yml", rollback_vars)
    assert rc == 0, summary(rc, tasks)
    assert not any(t.get("changed") for t in tasks), f"second rollback changed something: {summary(rc, tasks)}"
    assert emulator.writes() == [], f"second rollback made write calls: {emulator.writes()}"
    assert value(emulator) == OLD, "second rollback flipped back to the new value"

    # Roll forward explicitly, then a rollback is possible again.
    emulator.recorder.reset()
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rollback.yml",
                                  dict(rollback_vars, secretsops_rollback_version_id=new_version))
    assert rc == 0, summary(rc, tasks)
    assert holder(emulator, "AWSCURRENT") == new_version
    assert "SECRETSOPS_ROLLED_BACK" not in sum(stages(emulator).values(), []), "roll forward kept the rollback label"


def test_failed_health_check_rolls_back(emulator, app, tmp_path):
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml",
                                  rotate_vars(secretsops_health_check_command="/bin/false"))
    assert rc != 0, "the play must fail when the health check fails"
    assert OLD["JWT_SECRET"] not in out, HIDDEN
    failed = task_named(tasks, "Fail with what was rolled back")
    message = failed["msg"]
    assert "ROLLED BACK" in message and "Run the health check command" in message, message
    assert f"back to version {app}" in message, message
    assert "redeployed on the previous value" in message, message
    assert value(emulator) == OLD, "the old value is not current after the rollback"
    assert holder(emulator, "AWSCURRENT") == app
    assert holder(emulator, "AWSPENDING") is None, "AWSPENDING left on the failed version"
    assert redeploys(emulator) == ["ecs:UpdateService", "ecs:UpdateService"], "expected a redeploy, then one after the rollback"


def test_failed_write_changes_nothing(emulator, app, tmp_path):
    """A failure before the promotion rolls back nothing (AWSCURRENT never moved)."""
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml",
                                  rotate_vars(secretsops_rotate_values={"JWT_SECRET": "x" * 70000}))
    assert rc != 0
    message = task_named(tasks, "Fail with what was rolled back")["msg"]
    assert f"still on version {app}" in message, message
    assert stages(emulator) == {app: ["AWSCURRENT"]}
    assert value(emulator) == OLD


def test_rotate_refuses_while_another_rotation_is_pending(emulator, app, tmp_path):
    pending = emulator.client("secretsmanager").put_secret_value(
        SecretId=NAME, SecretString=json.dumps(dict(OLD, JWT_SECRET="test-someone-elses")), VersionStages=["AWSPENDING"])["VersionId"]
    emulator.recorder.reset()
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml", rotate_vars())
    assert rc != 0
    message = task_named(tasks, "Refuse to start while another rotation is in progress")["msg"]
    assert pending in message and "since" in message and "secretsops_rotate_take_over_pending" in message, message
    assert emulator.writes() == [], f"a refused rotation wrote: {emulator.writes()}"

    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml",
                                  rotate_vars(secretsops_rotate_take_over_pending=True))
    assert rc == 0, summary(rc, tasks)
    assert holder(emulator, "AWSCURRENT") not in (app, pending)
    assert holder(emulator, "AWSPENDING") is None


def test_lost_promote_answer_is_no_failure(emulator, app, tmp_path):
    """UpdateSecretVersionStage applied but its answer lost: the retry finds the label moved and
    the module re-reads: AWSCURRENT already on the new version = success, no rollback."""
    emulator.recorder.set_faults(Faults(rate=1.0, seed=3, kinds=("500",), placement="after",
                                        operations=("UpdateSecretVersionStage",), max_in_a_row=1))
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml", rotate_vars())
    injected = emulator.recorder.injected()
    emulator.recorder.set_faults(None)
    assert injected, "no fault was injected"
    assert rc == 0, summary(rc, tasks)
    assert holder(emulator, "AWSCURRENT") != app and holder(emulator, "AWSPREVIOUS") == app
    assert value(emulator)["JWT_SECRET"] != OLD["JWT_SECRET"]


def test_two_rotations_at_once(emulator, app, tmp_path):
    """Both runs read AWSCURRENT and write their AWSPENDING before either promotes (slow writes):
    one promotes, the other's compare-and-swap fails; it names the winner and touches nothing."""
    emulator.recorder.set_faults(Faults(rate=1.0, seed=5, kinds=("slow",), slow_seconds=4.0, placement="before",
                                        operations=("PutSecretValue",)))
    env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    procs = []
    for index in range(2):
        vars_file = tmp_path / f"rotate-{index}.yml"
        vars_file.write_text(yaml.safe_dump(dict(rotate_vars(secretsops_ecs_services=[]), ansible_python_interpreter=sys.executable)))
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}",
             os.path.join(ROOT, "playbooks/rotate.yml")], env=env, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    emulator.recorder.set_faults(None)
    codes = sorted(proc.returncode for proc in procs)
    assert codes[0] == 0 and codes[1] != 0, f"expected one success and one failure, got {codes}"
    loser = outputs[[proc.returncode for proc in procs].index(codes[1])]
    assert OLD["JWT_SECRET"] not in "".join(outputs), HIDDEN
    winner = holder(emulator, "AWSCURRENT")
    assert winner != app, "AWSCURRENT is back on the value from before both rotations"
    assert "another change moved it" in loser and winner in loser, "the losing run does not name the winner's version"
    assert "NOT rolled back" in loser, "the losing run does not say it left AWSCURRENT alone"
    assert holder(emulator, "AWSPREVIOUS") == app
    assert holder(emulator, "AWSPENDING") is None, "the losing run left its AWSPENDING label"
    assert value(emulator)["JWT_SECRET"] != OLD["JWT_SECRET"]


def test_rotate_with_supplied_values(emulator, app, tmp_path):
    rc, out, tasks = run_playbook(emulator, tmp_path, "playbooks/rotate.yml",
                                  rotate_vars(secretsops_rotate_keys=[], secretsops_ecs_services=[],
                                              secretsops_rotate_values={"JWT_SECRET": "test-supplied-key"}))
    assert rc == 0, summary(rc, tasks)
    assert "test-supplied-key" not in out, HIDDEN
    assert value(emulator) == dict(OLD, JWT_SECRET="test-supplied-key"), "supplied value not current"
    assert redeploys(emulator) == []


# -- secret_version -----------------------------------------------------------------------------
def play_task(module, **args):
    return [{"name": "t", f"secretsops.aws.{module}": args}]


def test_secret_version_module(run_play, emulator):
    old_version = make_secret(emulator)
    sm = emulator.client("secretsmanager")
    pending = sm.put_secret_value(SecretId=NAME, SecretString=json.dumps(dict(OLD, JWT_SECRET="test-new")),
                                  VersionStages=["AWSPENDING"])["VersionId"]
    emulator.recorder.reset()

    missing = dict(play_task("secret_version", name=NAME, version_id="0" * 32)[0], ignore_errors=True)
    result = run_play([missing] + play_task("secret_version", name=NAME, version_id=pending), check=True, diff=True)
    assert result[0]["failed"], result.summary()
    assert "0" * 32 in result[0]["msg"] and "does not exist" in result[0]["msg"], result[0]["msg"]
    assert result[1]["changed"], result.summary()
    assert result[1]["diff"]["after"]["version_ids_to_stages"] == {pending: ["AWSCURRENT", "AWSPENDING"], old_version: ["AWSPREVIOUS"]}
    assert emulator.writes() == [], "check mode or a refused version id wrote"

    result = run_play(play_task("secret_version", name=NAME, version_id=pending))
    assert result[0]["changed"] and result[0]["version_id"] == pending and result[0]["previous_version_id"] == old_version
    assert value(emulator)["JWT_SECRET"] == "test-new", "promotion did not make the new value current"

    emulator.recorder.reset()
    result = run_play(play_task("secret_version", name=NAME, version_id=pending))
    assert result[0]["changed"] is False and emulator.writes() == []

    result = run_play(play_task("secret_version", name=NAME, stage="AWSPENDING", state="absent"))
    assert result[0]["changed"] and holder(emulator, "AWSPENDING") is None
    emulator.recorder.reset()
    result = run_play(play_task("secret_version", name=NAME, stage="AWSPENDING", state="absent"))
    assert result[0]["changed"] is False and emulator.writes() == []

    result = run_play(play_task("secret_version", name=NAME, to_previous=True), check=True)
    assert result[0]["changed"] and emulator.writes() == []
    result = run_play(play_task("secret_version", name=NAME, to_previous=True))
    assert result[0]["changed"] and holder(emulator, "AWSCURRENT") == old_version
    assert holder(emulator, "SECRETSOPS_ROLLED_BACK") == pending
    emulator.recorder.reset()
    result = run_play(play_task("secret_version", name=NAME, to_previous=True))
    assert result[0]["changed"] is False and emulator.writes() == [], "second to_previous must be a no-op"


# -- secret: version_stages ------------------------------------------------------------------
def test_secret_version_stages_idempotent(run_play, emulator):
    old_version = make_secret(emulator)
    args = {"name": NAME, "json_secret": dict(OLD, JWT_SECRET="test-staged"), "version_stages": ["AWSPENDING"]}
    emulator.recorder.reset()
    result = run_play(play_task("secret", **args), check=True)
    assert result[0]["changed"] and emulator.writes() == []
    result = run_play(play_task("secret", **args))
    assert result.rc == 0 and result[0]["changed"], result.summary()
    assert holder(emulator, "AWSCURRENT") == old_version, "a staged write must not move AWSCURRENT"
    assert value(emulator) == OLD
    assert value(emulator, "AWSPENDING")["JWT_SECRET"] == "test-staged"
    emulator.recorder.reset()
    result = run_play(play_task("secret", **args))
    assert result[0]["changed"] is False, result.summary()
    assert emulator.writes() == [], f"repeat made write calls: {emulator.writes()}"
    # The value equal to AWSCURRENT is still a change for AWSPENDING (it holds something else).
    result = run_play(play_task("secret", name=NAME, json_secret=OLD, version_stages=["AWSPENDING"]))
    assert result[0]["changed"] is True
    assert value(emulator, "AWSPENDING") == OLD and holder(emulator, "AWSCURRENT") == old_version


# -- secret_rotation --------------------------------------------------------------------------


@pytest.fixture
def rotation_setup(emulator):
    make_secret(emulator)
    arn = emulator.rotation_lambda("rottest-rotation")
    emulator.recorder.reset()
    return arn


def step(run_play, emulator, args, changed, check=False):
    emulator.recorder.reset()
    result = run_play(play_task("secret_rotation", **args), check=check)
    assert result.rc == 0, result.summary()
    assert result[0]["changed"] is changed, result.summary()
    writes = [op for op in emulator.writes() if op.startswith("secretsmanager:")]
    if check or not changed:
        assert writes == [], f"unexpected write calls: {writes}"
    return result[0], writes


def test_secret_rotation_lifecycle(run_play, emulator, rotation_setup):
    args = {"name": NAME, "rotation_lambda_arn": rotation_setup, "rotation_interval_days": 30}
    step(run_play, emulator, args, changed=True, check=True)
    assert not emulator.client("secretsmanager").describe_secret(SecretId=NAME).get("RotationEnabled")
    res, writes = step(run_play, emulator, args, changed=True)
    assert writes == ["secretsmanager:RotateSecret"]
    assert res["secret"]["rotation_enabled"] and res["secret"]["rotation_rules"]["automatically_after_days"] == 30
    step(run_play, emulator, args, changed=False, check=True)
    step(run_play, emulator, args, changed=False)

    changed_args = dict(args, rotation_interval_days=60)
    step(run_play, emulator, changed_args, changed=True, check=True)
    res, writes = step(run_play, emulator, changed_args, changed=True)
    assert writes == ["secretsmanager:RotateSecret"]
    assert res["secret"]["rotation_rules"]["automatically_after_days"] == 60
    step(run_play, emulator, changed_args, changed=False)

    absent = {"name": NAME, "state": "absent"}
    step(run_play, emulator, absent, changed=True, check=True)
    res, writes = step(run_play, emulator, absent, changed=True)
    assert writes == ["secretsmanager:CancelRotateSecret"] and res["secret"]["rotation_enabled"] is False
    step(run_play, emulator, absent, changed=False)


def test_secret_rotation_invalid_input(run_play, emulator, rotation_setup):
    cases = (
        ({"rotation_lambda_arn": rotation_setup, "rotation_interval_days": 1001}, "rotation_interval_days"),
        ({"rotation_lambda_arn": rotation_setup, "schedule_expression": "every day"}, "schedule_expression"),
        ({"rotation_lambda_arn": rotation_setup, "rotation_interval_days": 7, "duration": "3 hours"}, "duration"),
        ({"rotation_interval_days": 7}, "rotation_lambda_arn"),
    )
    tasks = [dict(play_task("secret_rotation", name=NAME, **args)[0], ignore_errors=True) for args, _option in cases]
    result = run_play(tasks)
    assert len(result) == len(cases), result.summary()
    for (args, option), res in zip(cases, result.tasks):
        assert res.get("failed") and option in res["msg"], result.summary()
    assert emulator.writes() == []


@pytest.mark.xfail(strict=True, reason="moto 5.2 does not store RotationRules.ScheduleExpression (nor Duration): "
                   "DescribeSecret answers AutomaticallyAfterDays 0 and RotationEnabled false, so the re-run "
                   "sees a difference. AWS returns the stored expression (ENVIRONMENT.md).")
def test_secret_rotation_schedule_expression_rerun(run_play, emulator, rotation_setup):
    args = {"name": NAME, "rotation_lambda_arn": rotation_setup, "schedule_expression": "rate(10 days)", "duration": "3h"}
    res, writes = step(run_play, emulator, args, changed=True)
    assert writes == ["secretsmanager:RotateSecret"]
    step(run_play, emulator, args, changed=False)
