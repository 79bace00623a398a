# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A clean provision of the demo app, its audit and its teardown print no warning at all with
Ansible's default settings (deprecation warnings on; the emulator's ansible_env turns them off for
the other tests), on the versions of this venv; and no EC2 instance profile is ever created.

amazon.aws.iam_role printed deprecation warnings on every call (amazon.aws 10 and 11); the roles
and teardown now use secretsops.aws.iam_service_role."""
import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)
SHOP = os.path.join(ROOT, "playbooks", "demo", "shop.yml")
WARNING = re.compile(r"^\s*\[(DEPRECATION WARNING|WARNING)\]", re.MULTILINE)


def run_quiet(emulator, tmp_path, playbook, extra_vars):
    env = emulator.ansible_env(tmp_path)
    env.pop("ANSIBLE_DEPRECATION_WARNINGS", None)  # Ansible's default: shown
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               os.path.join(ROOT, "playbooks", playbook), "-e", "@" + SHOP, "-e", json.dumps(extra_vars)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if WARNING.match(line)]
    assert warnings == [], f"{playbook} printed warnings:\n" + "\n".join(warnings)
    return proc


def test_provision_audit_teardown_print_no_warning(emulator, tmp_path):
    # The conftest emulator does not load AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES).
    extra = {"iam_secret_access_execution_role_managed_policies": []}
    iam = emulator.client("iam")
    # An existing role to attach the read policy to (the role checks it exists first).
    iam.create_role(RoleName="shop-worker", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    run_quiet(emulator, tmp_path, "provision.yml", dict(extra, secretsops_role_names=["shop-worker"]))
    attached = iam.list_attached_role_policies(RoleName="shop-worker")["AttachedPolicies"]
    assert [policy["PolicyName"] for policy in attached] == ["secretsops-prod-shop-read"]
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert {"prod-shop-task", "prod-shop-execution"} <= {role["RoleName"] for role in iam.list_roles()["Roles"]}

    run_quiet(emulator, tmp_path, "audit.yml", dict(extra, secretsops_audit_report_dir=str(tmp_path / "report")))
    iam.detach_role_policy(RoleName="shop-worker", PolicyArn=attached[0]["PolicyArn"])  # not teardown's
    run_quiet(emulator, tmp_path, "teardown.yml", dict(extra, secretsops_ecs_services=[]))
    assert not {"prod-shop-task", "prod-shop-execution"} & {role["RoleName"] for role in iam.list_roles()["Roles"]}
