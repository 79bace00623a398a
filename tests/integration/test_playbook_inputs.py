# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every playbook validates its variables before its first AWS call
(playbooks/tasks/validate_inputs.yml against playbooks/vars/<playbook>_spec.yml).

A table of bad inputs, each run through the recording proxy: the run fails, the message names the
variable, there is no Python traceback, no value given for the bad variable shows up, and the
recorder saw no call at all (so no write either). Two rows are the measured bugs: a string for
``secretsops_rotate_keys`` exited 0 and added one key per character, and a string for
``secretsops_ecs_services`` wrote, promoted and rolled back a version before failing.
"""
import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
# A marker for values that must never be echoed back in a message.
VALUE = "never-printed-7f3a"

APP = {"secretsops_env": "prod", "secretsops_app": "shop"}
SECRETS = [{"category": "database", "json": {"DB_USER": "shop"}, "generate": ["DB_PASSWORD"]}]
PROVISION = dict(APP, secretsops_secrets=SECRETS)
ROTATE = dict(APP, secretsops_rotate_category="jwt", secretsops_rotate_keys=["JWT_SECRET"])
ROLLBACK = dict(APP, secretsops_rollback_category="jwt")
REDEPLOY = {"secretsops_ecs_cluster": "shop-prod", "secretsops_ecs_services": ["shop-api"]}
AUDIT = dict(APP, secretsops_expected_categories=["database"])
DOTENV = {"secretsops_app": "shop", "secretsops_dotenv_path": "/tmp/secretsops-never-written.env"}
TEARDOWN = dict(APP)


def without(base, name):
    return {key: value for key, value in base.items() if key != name}


# (id, playbook, variables, the name the message must contain)
CASES = [
    # provision
    ("provision-no-secrets", "provision", without(PROVISION, "secretsops_secrets"), "secretsops_secrets"),
    ("provision-no-env", "provision", without(PROVISION, "secretsops_env"), "secretsops_env"),
    ("provision-secrets-string", "provision", dict(PROVISION, secretsops_secrets="database"), "secretsops_secrets"),
    ("provision-generate-string", "provision",
     dict(PROVISION, secretsops_secrets=[{"category": "jwt", "generate": "JWT_SECRET"}]), "secretsops_secrets[0].generate"),
    ("provision-json-string", "provision",
     dict(PROVISION, secretsops_secrets=[{"category": "app", "json": f"KEY={VALUE}"}]), "secretsops_secrets[0].json"),
    ("provision-no-category", "provision", dict(PROVISION, secretsops_secrets=[{"json": {"A": "b"}}]), "category"),
    ("provision-task-string", "provision", dict(PROVISION, secretsops_task="family=shop-api"), "secretsops_task"),
    ("provision-task-port", "provision",
     dict(PROVISION, secretsops_task={"family": "shop-api", "image": "nginx", "container_port": "http"}), "container_port"),
    ("provision-endpoint-subnets-string", "provision",
     dict(PROVISION, secretsops_vpc_endpoint={"vpc_id": "vpc-1", "subnet_ids": "subnet-1", "security_group_ids": ["sg-1"]}),
     "secretsops_vpc_endpoint.subnet_ids"),
    ("provision-alarm-not-bool", "provision", dict(PROVISION, secretsops_trail_alarm="sometimes"), "secretsops_trail_alarm"),
    ("provision-role-names-string", "provision", dict(PROVISION, secretsops_role_names="shop-task"), "secretsops_role_names"),
    # rotate
    ("rotate-keys-string", "rotate", dict(ROTATE, secretsops_rotate_keys="JWT_SECRET"), "secretsops_rotate_keys"),
    ("rotate-keys-number", "rotate", dict(ROTATE, secretsops_rotate_keys=5), "secretsops_rotate_keys"),
    ("rotate-services-string", "rotate",
     dict(ROTATE, secretsops_ecs_cluster="shop-prod", secretsops_ecs_services="shop-api"), "secretsops_ecs_services"),
    ("rotate-category-list", "rotate", dict(ROTATE, secretsops_rotate_category=["jwt"]), "secretsops_rotate_category"),
    ("rotate-no-category", "rotate", without(ROTATE, "secretsops_rotate_category"), "secretsops_rotate_category"),
    ("rotate-values-string", "rotate", dict(ROTATE, secretsops_rotate_values=f"JWT_SECRET={VALUE}"), "secretsops_rotate_values"),
    ("rotate-nothing-to-rotate", "rotate", dict(ROTATE, secretsops_rotate_keys=[]), "secretsops_rotate_keys"),
    ("rotate-timeout-not-int", "rotate", dict(ROTATE, secretsops_redeploy_timeout="soon"), "secretsops_redeploy_timeout"),
    ("rotate-services-without-cluster", "rotate", dict(ROTATE, secretsops_ecs_services=["shop-api"]), "secretsops_ecs_cluster"),
    ("rotate-no-prefix", "rotate", without(without(ROTATE, "secretsops_env"), "secretsops_app"), "secretsops_prefix"),
    ("rotate-prefix-empty", "rotate", dict(ROTATE, secretsops_prefix=""), "secretsops_prefix"),
    # rollback
    ("rollback-no-category", "rollback", without(ROLLBACK, "secretsops_rollback_category"), "secretsops_rollback_category"),
    ("rollback-services-string", "rollback",
     dict(ROLLBACK, secretsops_ecs_cluster="shop-prod", secretsops_ecs_services="shop-api"), "secretsops_ecs_services"),
    ("rollback-always-not-bool", "rollback", dict(ROLLBACK, secretsops_rollback_redeploy_always="perhaps"),
     "secretsops_rollback_redeploy_always"),
    # redeploy
    ("redeploy-services-csv", "redeploy", dict(REDEPLOY, secretsops_ecs_services="shop-api,shop-worker"), "secretsops_ecs_services"),
    ("redeploy-no-cluster", "redeploy", without(REDEPLOY, "secretsops_ecs_cluster"), "secretsops_ecs_cluster"),
    ("redeploy-no-services", "redeploy", without(REDEPLOY, "secretsops_ecs_services"), "secretsops_ecs_services"),
    # audit
    ("audit-categories-string", "audit", dict(AUDIT, secretsops_expected_categories="database"), "secretsops_expected_categories"),
    ("audit-families-string", "audit", dict(AUDIT, secretsops_audit_task_families="shop-api"), "secretsops_audit_task_families"),
    ("audit-max-age-not-int", "audit", dict(AUDIT, secretsops_rotation_max_age_days="ninety"), "secretsops_rotation_max_age_days"),
    ("audit-no-app", "audit", without(AUDIT, "secretsops_app"), "secretsops_app"),
    # dotenv
    ("dotenv-no-path", "dotenv", without(DOTENV, "secretsops_dotenv_path"), "secretsops_dotenv_path"),
    ("dotenv-path-list", "dotenv", dict(DOTENV, secretsops_dotenv_path=["/tmp/a.env"]), "secretsops_dotenv_path"),
    ("dotenv-allow-not-bool", "dotenv", dict(DOTENV, secretsops_dotenv_allow_non_dev="if needed"), "secretsops_dotenv_allow_non_dev"),
    # teardown
    ("teardown-services-string", "teardown",
     dict(TEARDOWN, secretsops_ecs_cluster="shop-prod", secretsops_ecs_services="shop-api"), "secretsops_ecs_services"),
    ("teardown-recovery-window", "teardown", dict(TEARDOWN, secretsops_recovery_window=3), "secretsops_recovery_window"),
    ("teardown-task-string", "teardown", dict(TEARDOWN, secretsops_task="shop-api"), "secretsops_task"),
    ("teardown-no-prefix", "teardown", {}, "secretsops_prefix"),
]


def run_playbook(emulator, tmp_path, playbook, variables, cwd=ROOT, **env_overrides):
    """ansible-playbook playbooks/PLAYBOOK.yml with VARIABLES from a vars file (so types are
    exactly as written) against the recorder; returns the CompletedProcess."""
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(dict({"ansible_python_interpreter": sys.executable}, **variables)))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}",
               os.path.join(ROOT, "playbooks", playbook + ".yml")]
    return subprocess.run(command, capture_output=True, text=True, env=emulator.ansible_env(tmp_path, **env_overrides),
                          cwd=cwd, timeout=300, check=False)


@pytest.mark.parametrize("playbook, variables, named", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_fails_before_any_aws_call(emulator, tmp_path, playbook, variables, named):
    proc = run_playbook(emulator, tmp_path, playbook, variables)
    output = proc.stdout + proc.stderr
    failed = [line for line in output.splitlines() if "FAILED" in line or "ERROR" in line or "msg:" in line]
    assert proc.returncode != 0, "\n".join(failed) or output[-2000:]
    assert named in output, "\n".join(failed) or output[-2000:]
    assert "Traceback" not in output
    assert VALUE not in output
    assert emulator.recorder.calls() == [], "\n".join(failed)


def test_the_table_covers_every_playbook():
    playbooks = {name[:-4] for name in os.listdir(os.path.join(ROOT, "playbooks")) if name.endswith(".yml")}
    assert {"provision", "rotate", "rollback", "redeploy", "audit", "dotenv", "teardown"} <= {case[1] for case in CASES}
    assert len(CASES) >= 20
    for playbook in playbooks:  # each has its spec next to it and names it in its header
        assert os.path.exists(os.path.join(ROOT, "playbooks", "vars", playbook + "_spec.yml"))
        with open(os.path.join(ROOT, "playbooks", playbook + ".yml"), encoding="utf-8") as handle:
            assert f"vars/{playbook}_spec.yml" in handle.read()
