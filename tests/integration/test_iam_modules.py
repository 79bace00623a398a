# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Modules secretsops.aws.iam_service_role and secretsops.aws.iam_managed_policy_info against the
emulator: the amazon.aws rhythm (check-mode create, create, check-mode repeat, repeat with zero
writes, update, delete), never an EC2 instance profile, no warning; the policy document and
attachments read back as data, a missing policy as exists=false, and both the region option and
AWS_REGION alone are enough."""
import json
import os
import subprocess
import sys

import pytest
import yaml
from aws_recorder import Faults

pytestmark = pytest.mark.integration

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
READ = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
     "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/*"}]}
ROLE = "imtest-task"


def role_task(**overrides):
    args = {"name": ROLE, "assume_role_policy_document": TRUST, "description": "imtest task role",
            "tags": {"Environment": "prod"}}
    args.update(overrides)
    return [{"name": "Role", "secretsops.aws.iam_service_role": args, "register": "role"}]


@pytest.fixture
def policy_arn(emulator):
    return emulator.client("iam").create_policy(
        PolicyName="imtest-read", PolicyDocument=json.dumps(READ), Description="read prod/shop")["Policy"]["Arn"]


def test_service_role_lifecycle(emulator, run_play, policy_arn):
    iam = emulator.client("iam")

    result = run_play(role_task(managed_policies=[policy_arn]), check=True, diff=True)
    assert result.rc == 0, result.summary()
    assert result[0]["changed"] is True and result[0]["iam_role"] == {}
    assert emulator.writes() == []

    result = run_play(role_task(managed_policies=[policy_arn]))
    assert result.rc == 0, result.summary()
    role = result[0]["iam_role"]
    assert result[0]["changed"] is True
    assert role["role_name"] == ROLE and role["arn"].endswith(":role/" + ROLE)
    assert role["assume_role_policy_document"] == TRUST
    assert role["tags"] == {"Environment": "prod"}
    assert [p["policy_arn"] for p in role["attached_policies"]] == [policy_arn]
    assert iam.list_instance_profiles_for_role(RoleName=ROLE)["InstanceProfiles"] == []
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert "[WARNING]" not in result.stderr and "DEPRECATION" not in result.stderr

    emulator.recorder.reset()
    result = run_play(role_task(managed_policies=[policy_arn]), check=True)
    assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    result = run_play(role_task(managed_policies=[policy_arn], assume_role_policy_document=json.dumps(TRUST)))
    assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    assert emulator.writes() == []

    # Update: trust policy, description, tags; another policy attached, the first one kept.
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Principal"]["Service"] = "cloudtrail.amazonaws.com"
    other = iam.create_policy(PolicyName="imtest-other", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    result = run_play(role_task(assume_role_policy_document=trust, description="changed",
                                tags={"Team": "secops"}, managed_policies=[other]), diff=True)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    role = result[0]["iam_role"]
    assert role["assume_role_policy_document"] == trust and role["description"] == "changed"
    assert role["tags"] == {"Team": "secops"}
    assert sorted(p["policy_arn"] for p in role["attached_policies"]) == sorted([policy_arn, other])
    assert result[0]["diff"]["before"]["description"] == "imtest task role"
    assert result[0]["diff"]["after"]["tags"] == {"Team": "secops"}

    # Attach only (no trust policy given): the trust policy stays; purge_policies detaches the rest.
    result = run_play([{"name": "Attach", "secretsops.aws.iam_service_role": {
        "name": ROLE, "managed_policies": [other], "purge_policies": True}, "register": "role"}])
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert [p["policy_arn"] for p in result[0]["iam_role"]["attached_policies"]] == [other]
    assert result[0]["iam_role"]["assume_role_policy_document"] == trust

    # Delete (an inline policy and an instance profile do not stop it; the profile stays).
    iam.put_role_policy(RoleName=ROLE, PolicyName="inline", PolicyDocument=json.dumps(READ))
    iam.create_instance_profile(InstanceProfileName="imtest-old-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="imtest-old-profile", RoleName=ROLE)
    absent = [{"name": "Delete", "secretsops.aws.iam_service_role": {"name": ROLE, "state": "absent"}}]
    result = run_play(absent, check=True)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert iam.get_role(RoleName=ROLE)["Role"]
    result = run_play(absent)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert ROLE not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert iam.get_instance_profile(InstanceProfileName="imtest-old-profile")["InstanceProfile"]["Roles"] == []
    emulator.recorder.reset()
    result = run_play(absent)
    assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    assert emulator.writes() == []


def test_service_role_needs_a_trust_policy_to_create(emulator, run_play):
    result = run_play([{"name": "Attach", "secretsops.aws.iam_service_role": {
        "name": "imtest-missing", "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}}])
    assert result.rc != 0
    assert "assume_role_policy_document is needed to create it" in result[0]["msg"]
    assert emulator.writes() == []


def test_managed_policy_info_reads_document_and_attachments(emulator, run_play, policy_arn):
    iam = emulator.client("iam")
    iam.create_role(RoleName="imtest-reader", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="imtest-reader", PolicyArn=policy_arn)
    iam.create_user(UserName="imtest-user")
    iam.attach_user_policy(UserName="imtest-user", PolicyArn=policy_arn)
    newer = dict(READ, Statement=[dict(READ["Statement"][0], Sid="Newer")])
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(newer), SetAsDefault=True)

    tasks = [
        {"name": "By ARN", "secretsops.aws.iam_managed_policy_info": {"arn": policy_arn}},
        {"name": "By name", "secretsops.aws.iam_managed_policy_info": {"name": "imtest-read"}},
        {"name": "Missing", "secretsops.aws.iam_managed_policy_info": {"arn": policy_arn + "-gone"}},
    ]
    result = run_play(tasks, check=True)
    assert result.rc == 0, result.summary()
    by_arn, by_name, missing = result.tasks
    assert by_arn["exists"] is True and by_arn["changed"] is False
    policy = by_arn["policy"]
    assert policy["arn"] == policy_arn and policy["default_version_id"] == "v2"
    assert policy["document"] == newer  # the default version, as data
    assert policy["roles"] == ["imtest-reader"] and policy["users"] == ["imtest-user"] and policy["groups"] == []
    assert policy["description"] == "read prod/shop"
    assert by_name["policy"] == policy
    assert missing["exists"] is False and missing["policy"] == {}
    assert emulator.writes() == []


@pytest.mark.parametrize("how", ["region option", "AWS_REGION only"])
def test_managed_policy_info_region_sources(emulator, policy_arn, tmp_path, how):
    """No AWS_DEFAULT_REGION (which plain boto3 needs) and no config file: the region option or
    AWS_REGION alone is enough."""
    args = {"arn": policy_arn}
    env = emulator.ansible_env(tmp_path, AWS_CONFIG_FILE=str(tmp_path / "none"))
    env.pop("AWS_DEFAULT_REGION")
    if how == "region option":
        args["region"] = "eu-west-1"
        env.pop("AWS_REGION")
    else:
        env["AWS_REGION"] = "eu-west-1"
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable},
             "tasks": [{"name": "Read", "secretsops.aws.iam_managed_policy_info": args, "register": "info"},
                       {"name": "Check", "ansible.builtin.assert": {"that": ["info.exists"]}}]}]
    path = tmp_path / "region.yml"
    path.write_text(yaml.safe_dump(play))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           str(path)], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_iam_secret_access_checks_every_role_before_attaching_to_any(emulator, run_play):
    """The role reads the roles to attach to with iam_service_role in check mode (no
    amazon.aws.iam_role_info and its deprecation warning): a missing one fails the run, naming it,
    before the policy is attached to the existing one."""
    iam = emulator.client("iam")
    iam.create_role(RoleName="imtest-worker", AssumeRolePolicyDocument=json.dumps(TRUST))
    result = run_play([{"name": "Grant", "ansible.builtin.include_role": {"name": "secretsops.aws.iam_secret_access"},
                        "vars": {"iam_secret_access_prefix": "prod/imtest",
                                 "iam_secret_access_role_names": ["imtest-worker", "imtest-missing"]}}],
                      extra_env={"ANSIBLE_DEPRECATION_WARNINGS": "1"})
    assert result.rc != 0
    check = result.by_name("secretsops.aws.iam_secret_access : Fail when a role to attach to does not exist")
    messages = [item.get("msg", "") for item in check["results"] if item.get("failed")]
    assert len(messages) == 1 and messages[0].startswith("IAM role imtest-missing (from iam_secret_access_role_names)")
    assert "does not exist" in messages[0]
    assert iam.list_attached_role_policies(RoleName="imtest-worker")["AttachedPolicies"] == []
    assert "WARNING" not in result.stderr, result.stderr[-2000:]


# -- secretsops.aws.iam_managed_policy ---------------------------------------------------------
POLICY = "imtest-managed"
ACCOUNT = "123456789012"  # moto's default account


def policy_task(**overrides):
    args = {"name": POLICY, "account_id": ACCOUNT, "partition": "aws", "policy": READ,
            "description": "read prod/shop", "only_version": True, "tags": {"Application": "shop"}}
    args.update(overrides)
    return [{"name": "Policy", "secretsops.aws.iam_managed_policy": args, "register": "policy"}]


def test_managed_policy_lifecycle_by_arn(emulator, run_play):
    iam = emulator.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"

    result = run_play(policy_task(), check=True, diff=True)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert result[0]["policy"] == {} and result[0]["diff"]["after"]["document"] == READ
    assert emulator.writes() == []

    result = run_play(policy_task())
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    policy = result[0]["policy"]
    assert policy["arn"] == arn and policy["document"] == READ and policy["tags"] == {"Application": "shop"}
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "read prod/shop"

    # The repeat: changed=false, no write, and no ListPolicies walk (read by ARN).
    emulator.recorder.reset()
    for check in (True, False):
        result = run_play(policy_task(policy=json.dumps(READ)), check=check)
        assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    ops = [op.split(":")[-1] for op in emulator.recorder.calls()]
    assert emulator.writes() == []
    assert "ListPolicies" not in ops and ops.count("GetPolicy") == 2, ops
    assert not result[0].get("warnings"), result[0].get("warnings")

    # A new document: a new default version; only_version leaves one version. Tags purged.
    newer = dict(READ, Statement=[dict(READ["Statement"][0], Sid="Newer")])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(READ))  # someone's extra version
    result = run_play(policy_task(policy=newer, tags={"Team": "secops"}), diff=True)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert result[0]["policy"]["document"] == newer and result[0]["policy"]["tags"] == {"Team": "secops"}
    assert result[0]["diff"]["before"]["document"] == READ and result[0]["diff"]["after"]["document"] == newer
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["IsDefaultVersion"] for v in versions] == [True], versions

    # A different description is a warning, not a change (IAM cannot change it).
    result = run_play(policy_task(policy=newer, tags={"Team": "secops"}, description="other"))
    assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    assert any("description cannot be changed" in w for w in result[0].get("warnings", [])), result[0]

    # Delete: detached from the role first; the repeat is a no-op.
    iam.create_role(RoleName="imtest-user-of-policy", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="imtest-user-of-policy", PolicyArn=arn)
    absent = [{"name": "Delete", "secretsops.aws.iam_managed_policy": {"name": POLICY, "state": "absent"}}]
    result = run_play(absent, check=True)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert iam.get_policy(PolicyArn=arn)
    result = run_play(absent)  # no account_id: one GetCallerIdentity finds it
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert iam.list_attached_role_policies(RoleName="imtest-user-of-policy")["AttachedPolicies"] == []
    assert POLICY not in [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    emulator.recorder.reset()
    result = run_play(absent)
    assert result.rc == 0 and result[0]["changed"] is False, result.summary()
    assert emulator.writes() == []


def test_managed_policy_lost_create_answer_converges(emulator, run_play):
    emulator.recorder.set_faults(Faults(rate=1.0, seed=1, kinds=("500",), placement="after",
                                        operations=("CreatePolicy",), max_in_a_row=1))
    result = run_play(policy_task())
    emulator.recorder.set_faults(None)
    assert result.rc == 0 and result[0]["changed"] is True, result.summary()
    assert [call.operation.split(":")[-1] for call in emulator.recorder.injected()] == ["CreatePolicy"]
    assert result[0]["policy"]["document"] == READ
    assert len(emulator.client("iam").list_policy_versions(PolicyArn=result[0]["policy"]["arn"])["Versions"]) == 1


def test_managed_policy_name_taken_under_another_path(emulator, run_play):
    emulator.client("iam").create_policy(PolicyName=POLICY, Path="/other/", PolicyDocument=json.dumps(READ))
    emulator.recorder.reset()
    result = run_play(policy_task())
    assert result.rc != 0
    assert f"already exists as arn:aws:iam::{ACCOUNT}:policy/other/{POLICY}" in result[0]["msg"], result.summary()
    assert [op.split(":")[-1] for op in emulator.writes()] == ["CreatePolicy"]  # refused by IAM, nothing written


@pytest.mark.parametrize("args, message", [
    ({"policy": None}, "policy is required with state=present"),
    ({"policy": "{not json"}, "policy is not valid JSON"),
    ({"policy": "[1, 2]"}, "policy must be a JSON object"),
    ({"path": "/a//b/"}, "path '/a//b/' has an empty segment"),
])
def test_managed_policy_bad_input_fails_before_any_call(emulator, run_play, args, message):
    result = run_play(policy_task(**args))
    assert result.rc != 0 and message in result[0]["msg"], result.summary()
    assert emulator.recorder.calls() == []
