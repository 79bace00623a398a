# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a play already knows is not asked again, and nothing else changes:

- the secrets role publishes ``secrets_keys`` (key names certain to be in each value after the
  run; in check mode only those already there) next to ``secrets_arns``;
- the ecs_task_definition role does not describe a secret whose ARN ``ecs_task_definition_known_arns``
  gives, nor read a reference whose key ``ecs_task_definition_known_keys`` lists, and still fails
  naming a reference whose key (or secret) is really missing; without them it reads as before;
- playbooks/provision.yml takes the account id and partition from a secret's ARN (STS only in
  check mode before the secrets exist): its no-change run makes no DescribeSecret, no
  BatchGetSecretValue besides the secrets role's one, and no GetCallerIdentity;
- the cloudtrail_audit role sets the bucket's encryption, public access block, tags and policy in
  one module run; its second run changes nothing and writes nothing.
"""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from integration_helpers import ROOT, calls_by_window, run_playbook, summary, write_play  # noqa: E402

pytestmark = pytest.mark.integration

PREFIX = "known/shop"
# Example values (not credentials); none may appear in any output.
DB_PASSWORD = "known-example-db-password-value"
JWT = "known-example-jwt-value-0123456789"
VALUES = [DB_PASSWORD, JWT]


def secrets_role_task(secrets_list):
    return {"name": "secrets role", "ansible.builtin.include_role": {"name": "secretsops.aws.secrets"},
            "vars": {"secrets_prefix": PREFIX, "secrets_list": secrets_list}}


def show(name, expression):
    return {"name": name, "ansible.builtin.debug": {"msg": "{{ " + expression + " }}"}}


# -- secrets role: secrets_keys ----------------------------------------------------------------
def test_secrets_role_publishes_the_keys_certain_to_be_there(emulator, run_play):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=f"{PREFIX}/database", SecretString=json.dumps(
        {"DB_USER": "old", "DB_HOST": "db.internal", "DB_PASSWORD": DB_PASSWORD, "OLD_KEY": "x"}))
    sm.create_secret(Name=f"{PREFIX}/imported", SecretString=json.dumps({"API_KEY": JWT, "KEEP": "y"}))
    sm.create_secret(Name=f"{PREFIX}/fixed", SecretString=json.dumps({"TOKEN": "t1"}))
    secrets_list = [
        # unchanged DB_HOST, overwritten DB_USER, kept-by-generate DB_PASSWORD, removed OLD_KEY, added
        # DB_PORT and MODE. The value "shop" garbles every ARN in the module's result
        # (known/********/...) and the value "PORT" the key name DB_PORT (Ansible's no_log masking).
        {"category": "database", "json": {"DB_HOST": "db.internal", "DB_USER": "shop", "DB_PORT": "5432", "MODE": "PORT"},
         "generate": ["DB_PASSWORD"]},
        # purge_keys false: API_KEY and KEEP kept; URL added
        {"category": "imported", "json": {"URL": "https://example.invalid"}, "purge_keys": False},
        # overwrite false: TOKEN differs but is kept (differs_kept), NEW given but not written
        {"category": "fixed", "json": {"TOKEN": "token-two", "NEW": "new-example"}, "overwrite": False},
        {"category": "jwt", "generate": ["JWT_SECRET"]},
        {"category": "text", "string": "plain-text-value"},
    ]
    tasks = [secrets_role_task(secrets_list), show("Show the keys", "secrets_keys"), show("Show the ARNs", "secrets_arns")]

    # Check mode: only the keys the values hold now (nothing is added or generated yet).
    check = run_play(tasks, check=True)
    assert check.rc == 0, check.summary() + check.stderr[-3000:] + check.stdout[-3000:]
    assert emulator.writes() == []
    assert check.by_name("Show the keys")["msg"] == {
        "database": ["DB_HOST", "DB_PASSWORD", "DB_USER"], "imported": ["API_KEY", "KEEP"],
        "fixed": [], "jwt": [], "text": []}
    assert check.by_name("Show the ARNs")["msg"]["jwt"] == ""

    first = run_play(tasks)
    assert first.rc == 0, first.summary()
    bulk = first.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")
    assert "known/********/jwt" in bulk["results"][3]["secret"]["arn"], "the masking this test relies on did not happen"
    assert "DB_********" in bulk["results"][0]["keys"]["added"], "the masking this test relies on did not happen"
    expected = {"database": ["DB_HOST", "DB_PASSWORD", "DB_USER", "MODE"], "imported": ["API_KEY", "KEEP", "URL"],
                "fixed": [], "jwt": ["JWT_SECRET"], "text": []}
    assert first.by_name("Show the keys")["msg"] == expected
    arns = {s["Name"][len(PREFIX) + 1:]: s["ARN"] for s in sm.list_secrets(MaxResults=100)["SecretList"]}
    assert first.by_name("Show the ARNs")["msg"] == {category: arns[category] for category in expected}
    # The names really are the keys of the values now (differs_kept TOKEN and unwritten NEW aside).
    for category, names in expected.items():
        if names:
            assert set(names) <= set(json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/{category}")["SecretString"]))
    assert json.loads(sm.get_secret_value(SecretId=f"{PREFIX}/fixed")["SecretString"]) == {"TOKEN": "t1"}

    emulator.recorder.reset()
    again = run_play(tasks)
    assert again.rc == 0, again.summary()
    assert emulator.writes() == []
    assert again.by_name("Show the keys")["msg"] == expected
    assert again.by_name("Show the ARNs")["msg"] == first.by_name("Show the ARNs")["msg"]
    for output in (check.stdout, first.stdout, again.stdout):
        for value in VALUES:
            assert value not in output, "a secret value appeared in the output"


# -- ecs_task_definition role: known ARNs and keys ---------------------------------------------
TASKDEF_VARS = {
    "ecs_task_definition_family": "known-api",
    "ecs_task_definition_prefix": PREFIX,
    "ecs_task_definition_image": "public.ecr.aws/nginx/nginx:1.27",
    "ecs_task_definition_log_group": "",
}


def taskdef_task(secrets, **known):
    return {"name": "taskdef role", "ansible.builtin.include_role": {"name": "secretsops.aws.ecs_task_definition"},
            "vars": dict(TASKDEF_VARS, ecs_task_definition_secrets=secrets, **known)}


@pytest.fixture
def two_secrets(emulator):
    sm = emulator.client("secretsmanager")
    return {
        "database": sm.create_secret(Name=f"{PREFIX}/database", SecretString=json.dumps(
            {"DB_USER": "shop", "DB_PASSWORD": DB_PASSWORD}))["ARN"],
        "jwt": sm.create_secret(Name=f"{PREFIX}/jwt", SecretString=json.dumps({"JWT_SECRET": JWT}))["ARN"],
    }


def value_froms(emulator):
    ecs = emulator.client("ecs")
    latest = ecs.list_task_definitions(familyPrefix="known-api")["taskDefinitionArns"][-1]
    container = ecs.describe_task_definition(taskDefinition=latest)["taskDefinition"]["containerDefinitions"][0]
    return {entry["name"]: entry["valueFrom"] for entry in container["secrets"]}


SECRETS = {"DB_USER": "database:DB_USER", "DB_PASSWORD": "database:DB_PASSWORD", "JWT_SECRET": "jwt:JWT_SECRET"}
SECRET_READS = ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")


def test_taskdef_without_known_inputs_describes_and_reads_as_before(emulator, run_play, two_secrets):
    result = run_play([taskdef_task(SECRETS)])
    assert result.rc == 0, result.summary()
    calls = emulator.calls()
    assert calls.count("secretsmanager:DescribeSecret") == 2, calls
    assert sum(calls.count(op) for op in SECRET_READS) >= 1, calls
    assert value_froms(emulator) == {"DB_USER": two_secrets["database"] + ":DB_USER::",
                                     "DB_PASSWORD": two_secrets["database"] + ":DB_PASSWORD::",
                                     "JWT_SECRET": two_secrets["jwt"] + ":JWT_SECRET::"}


def test_taskdef_with_everything_known_reads_no_secret(emulator, run_play, two_secrets):
    known = {"ecs_task_definition_known_arns": two_secrets,
             "ecs_task_definition_known_keys": {"database": ["DB_PASSWORD", "DB_USER"], "jwt": ["JWT_SECRET"]}}
    result = run_play([taskdef_task(SECRETS, **known)])
    assert result.rc == 0, result.summary()
    assert emulator.calls() == [], "the role described or read a secret it was told about"
    assert result.by_name("secretsops.aws.ecs_task_definition : Resolve the full ARNs of the referenced secrets")["skipped"]
    assert result.by_name("secretsops.aws.ecs_task_definition : Check that every referenced JSON key exists in its secret")["skipped"]
    assert value_froms(emulator)["JWT_SECRET"] == two_secrets["jwt"] + ":JWT_SECRET::"

    emulator.recorder.reset()
    again = run_play([taskdef_task(SECRETS, **known)])
    assert again.rc == 0 and not again.by_name(
        "secretsops.aws.ecs_task_definition : Register a new task definition revision when something changed")["changed"], again.summary()
    assert emulator.writes() == []


def test_taskdef_known_keys_still_fail_on_a_really_missing_key(emulator, run_play, two_secrets):
    # database's ARN and DB_USER are known; DB_PASSWORD and jwt:* are not, and jwt:NOPE is missing.
    secrets = dict(SECRETS, NOPE="jwt:NOPE")
    known = {"ecs_task_definition_known_arns": {"database": two_secrets["database"], "jwt": ""},
             "ecs_task_definition_known_keys": {"database": ["DB_USER"], "jwt": ["OTHER"]}}
    result = run_play([taskdef_task(secrets, **known)])
    assert result.rc != 0
    failed = [task for task in result.tasks if task.get("failed")]
    assert [task["_task"] for task in failed] == [
        "secretsops.aws.ecs_task_definition : Check that every referenced JSON key exists in its secret"], result.summary()
    message = failed[0]["msg"]
    assert message.rstrip().endswith(": jwt:NOPE"), message
    calls = emulator.calls()
    # Only jwt described; the reads cover database:DB_PASSWORD and jwt, not the known DB_USER.
    assert calls.count("secretsmanager:DescribeSecret") == 1, calls
    assert sum(calls.count(op) for op in SECRET_READS) >= 1, calls
    assert emulator.writes() == []
    assert emulator.client("ecs").list_task_definitions(familyPrefix="known-api")["taskDefinitionArns"] == []
    for value in VALUES:
        assert value not in result.stdout


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check-mode"])
def test_taskdef_known_keys_do_not_hide_a_missing_secret(emulator, run_play, two_secrets, check):
    secrets = dict(SECRETS, STRIPE="stripe:STRIPE_SECRET_KEY")
    known = {"ecs_task_definition_known_arns": dict(two_secrets, stripe=""),
             "ecs_task_definition_known_keys": {"stripe": ["STRIPE_SECRET_KEY"]}}
    result = run_play([taskdef_task(secrets, **known)], check=check)
    assert emulator.calls().count("secretsmanager:DescribeSecret") == 1
    assert emulator.writes() == []
    if check:
        assert result.rc == 0, result.summary()
        warning = result.by_name("secretsops.aws.ecs_task_definition : Warn about secrets missing in check mode")
        assert f"{PREFIX}/stripe" in warning["msg"]
    else:
        assert result.rc != 0
        failed = result.by_name("secretsops.aws.ecs_task_definition : Fail when a referenced secret does not exist")
        assert failed["msg"].endswith(f"do not exist: {PREFIX}/stripe"), failed["msg"]


def test_taskdef_ignores_a_known_arn_of_another_secret_or_region(emulator, run_play, two_secrets):
    other_region = two_secrets["jwt"].replace(":us-east-1:", ":eu-west-1:")
    known = {"ecs_task_definition_known_arns": {"database": two_secrets["jwt"], "jwt": other_region}}
    result = run_play([taskdef_task(SECRETS, **known)])
    assert result.rc == 0, result.summary()
    assert emulator.calls().count("secretsmanager:DescribeSecret") == 2
    assert value_froms(emulator)["DB_USER"] == two_secrets["database"] + ":DB_USER::"
    assert value_froms(emulator)["JWT_SECRET"] == two_secrets["jwt"] + ":JWT_SECRET::"


def test_an_arn_that_cannot_be_rebuilt_is_described_again(emulator, run_play):
    # The value "us-east-1" garbles the region of every ARN in secret_bulk's result beyond repair:
    # secrets_arns holds "" for them (unknown), and the task definition role describes those secrets.
    secrets_list = [{"category": "database", "json": {"DB_USER": "shop", "DB_REGION": "us-east-1"}},
                    {"category": "jwt", "generate": ["JWT_SECRET"]}]
    tasks = [secrets_role_task(secrets_list), show("Show the ARNs", "secrets_arns"),
             taskdef_task({"DB_USER": "database:DB_USER", "JWT_SECRET": "jwt:JWT_SECRET"},
                          ecs_task_definition_known_arns="{{ secrets_arns }}", ecs_task_definition_known_keys="{{ secrets_keys }}")]
    assert run_play(tasks[:1]).rc == 0  # create them (the role's creations describe them too)
    emulator.recorder.reset()
    result = run_play(tasks)
    assert result.rc == 0, result.summary()
    published = result.by_name("Show the ARNs")["msg"]
    assert published == {"database": "", "jwt": ""}, published
    calls = emulator.calls()
    assert calls.count("secretsmanager:DescribeSecret") == 2, calls
    arns = {s["Name"][len(PREFIX) + 1:]: s["ARN"] for s in emulator.client("secretsmanager").list_secrets()["SecretList"]}
    assert value_froms(emulator) == {"DB_USER": arns["database"] + ":DB_USER::", "JWT_SECRET": arns["jwt"] + ":JWT_SECRET::"}


def test_taskdef_rejects_known_keys_that_are_not_lists(emulator, run_play, two_secrets):
    result = run_play([taskdef_task(SECRETS, ecs_task_definition_known_keys={"database": "DB_USER"})])
    assert result.rc != 0
    assert "ecs_task_definition_known_keys" in result.by_name(
        "secretsops.aws.ecs_task_definition : Refuse a string where a mapping is expected")["msg"]
    assert emulator.calls() == []


# -- provision.yml -----------------------------------------------------------------------------
PROVISION_VARS = {
    "secretsops_env": "known",
    "secretsops_app": "shop",
    "secretsops_secrets": [
        {"category": "database", "json": {"DB_USER": "shop", "DB_HOST": "db.internal"}, "generate": ["DB_PASSWORD"]},
        {"category": "jwt", "generate": ["JWT_SECRET"]},
        {"category": "stripe", "json": {"STRIPE_SECRET_KEY": "sk_test_known_example_value"}},
    ],
    "secretsops_task": {
        "family": "known-shop",
        "image": "public.ecr.aws/docker/library/node:22-alpine",
        "secrets": {"DB_USER": "database:DB_USER", "DB_PASSWORD": "database:DB_PASSWORD",
                    "JWT_SECRET": "jwt:JWT_SECRET", "STRIPE_SECRET_KEY": "stripe:STRIPE_SECRET_KEY"},
    },
    "secretsops_trail_bucket": "known-shop-trail-logs",
    # The test emulator loads no AWS managed policies.
    "iam_secret_access_execution_role_managed_policies": [],
}
PLAYBOOK = os.path.join(ROOT, "playbooks", "provision.yml")
ECS_ROLE = "secretsops.aws.ecs_task_definition : "


def provision(emulator, tmp_path, name, check=False):
    emulator.recorder.reset()
    rc, stdout, stderr, tasks = run_playbook(emulator, tmp_path, PLAYBOOK, PROVISION_VARS, check=check, name=name)
    assert "sk_test_known_example_value" not in stdout + stderr
    return rc, tasks, emulator.recorder.timed_calls()


def role_calls(tasks, timed_calls, task_prefix):
    """Operations made while the tasks whose names start with ``task_prefix`` ran."""
    timed = [task for task in tasks if task["_start"] is not None]
    _before, windows = calls_by_window(timed_calls, [task["_start"] for task in timed])
    return [op for task, window in zip(timed, windows) if task["_task"].startswith(task_prefix) for op in window]


def ecs_role_calls(tasks, timed_calls):
    return role_calls(tasks, timed_calls, ECS_ROLE)


def test_provision_reads_nothing_it_already_knows(emulator, tmp_path):
    sts_account = emulator.client("sts").get_caller_identity()["Account"]

    # Check mode before the secrets exist: no ARN known, so the account comes from STS.
    rc, tasks, timed = provision(emulator, tmp_path, "check-empty", check=True)
    assert rc == 0, summary(rc, tasks, VALUES)
    assert emulator.writes() == []
    assert role_calls(tasks, timed, "secretsops.aws.aws_context : ") == ["sts:GetCallerIdentity", "iam:ListAccountAliases"]
    assert [t for t in tasks if t["_task"] == "Take the account id and partition from a secret's ARN"][0].get("skipped")

    # First run: the account comes from a secret's ARN; the ECS role reads no secret.
    rc, tasks, timed = provision(emulator, tmp_path, "first")
    ops = [op for _when, op in timed]
    assert rc == 0, summary(rc, tasks, VALUES)
    assert "sts:GetCallerIdentity" not in ops, ops
    assert [op for op in ecs_role_calls(tasks, timed) if op.startswith("secretsmanager:")] == []
    arns = {s["Name"].rsplit("/", 1)[1]: s["ARN"] for s in emulator.client("secretsmanager").list_secrets()["SecretList"]}
    ecs = emulator.client("ecs")
    container = ecs.describe_task_definition(taskDefinition="known-shop")["taskDefinition"]["containerDefinitions"][0]
    assert {e["name"]: e["valueFrom"] for e in container["secrets"]} == {
        "DB_USER": arns["database"] + ":DB_USER::", "DB_PASSWORD": arns["database"] + ":DB_PASSWORD::",
        "JWT_SECRET": arns["jwt"] + ":JWT_SECRET::", "STRIPE_SECRET_KEY": arns["stripe"] + ":STRIPE_SECRET_KEY::"}
    # The account id and partition taken from the ARN are the caller's.
    policy = json.loads(emulator.client("s3").get_bucket_policy(Bucket="known-shop-trail-logs")["Policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "AWSCloudTrailWrite")
    assert write["Resource"] == f"arn:aws:s3:::known-shop-trail-logs/AWSLogs/{sts_account}/*"
    assert emulator.client("iam").get_policy(
        PolicyArn=f"arn:aws:iam::{sts_account}:policy/" + policy_name(emulator))["Policy"]

    # No-change run: nothing changed or written; no DescribeSecret, no value read by the ECS role,
    # no STS call; one BatchGetSecretValue (the secrets role's).
    rc, tasks, timed = provision(emulator, tmp_path, "second")
    ops = [op for _when, op in timed]
    assert rc == 0, summary(rc, tasks, VALUES)
    assert [t["_task"] for t in tasks if t.get("changed")] == [], summary(rc, tasks, VALUES)
    assert emulator.writes() == []
    assert "secretsmanager:DescribeSecret" not in ops, ops
    assert "sts:GetCallerIdentity" not in ops, ops
    assert ops.count("secretsmanager:BatchGetSecretValue") == 1, ops
    assert [op for op in ecs_role_calls(tasks, timed) if op.startswith("secretsmanager:")] == []
    by_name = {t["_task"]: t for t in tasks}
    assert by_name[ECS_ROLE + "Resolve the full ARNs of the referenced secrets"].get("skipped")
    assert by_name[ECS_ROLE + "Check that every referenced JSON key exists in its secret"].get("skipped")

    # Check mode after converging: no write; the ECS role describes the secrets again (a secret
    # scheduled for deletion still has an ARN in check mode) but reads no key it knows.
    rc, tasks, timed = provision(emulator, tmp_path, "check-after", check=True)
    ops = [op for _when, op in timed]
    assert rc == 0, summary(rc, tasks, VALUES)
    assert emulator.writes() == []
    assert "sts:GetCallerIdentity" not in ops, ops
    assert [op for op in ecs_role_calls(tasks, timed) if op in SECRET_READS] == []


def policy_name(emulator):
    names = [p["PolicyName"] for p in emulator.client("iam").list_policies(Scope="Local")["Policies"]]
    assert len(names) == 1, names
    return names[0]


# -- cloudtrail_audit: one bucket task ---------------------------------------------------------
TRAIL_VARS = {
    "cloudtrail_audit_trail_name": "known-audit",
    "cloudtrail_audit_bucket_name": "known-audit-logs",
    "cloudtrail_audit_tags": {"Environment": "known", "Application": "shop"},
}


def test_trail_bucket_is_configured_in_one_module_run(emulator, tmp_path):
    play = write_play(tmp_path / "trail.yml", [{"name": "trail role", "ansible.builtin.include_role": {
        "name": "secretsops.aws.cloudtrail_audit"}, "vars": TRAIL_VARS}])
    rc, _out, _err, tasks = run_playbook(emulator, tmp_path, play)
    assert rc == 0, summary(rc, tasks)
    bucket_task = "secretsops.aws.cloudtrail_audit : Create the encrypted, private log bucket that CloudTrail may write to"
    assert s3_tasks(tasks, emulator.recorder.timed_calls()) == [bucket_task]
    assert [t for t in tasks if t["_task"] == bucket_task][0]["changed"]
    s3 = emulator.client("s3")
    rules = s3.get_bucket_encryption(Bucket="known-audit-logs")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_public_access_block(Bucket="known-audit-logs")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket="known-audit-logs")["TagSet"]}
    assert tags == TRAIL_VARS["cloudtrail_audit_tags"]
    policy = json.loads(s3.get_bucket_policy(Bucket="known-audit-logs")["Policy"])
    assert sorted(s["Sid"] for s in policy["Statement"]) == ["AWSCloudTrailAclCheck", "AWSCloudTrailWrite"]
    trail = emulator.client("cloudtrail").get_trail_status(Name="known-audit")
    assert trail["IsLogging"]

    emulator.recorder.reset()
    rc, _out, _err, tasks = run_playbook(emulator, tmp_path, play)
    assert rc == 0, summary(rc, tasks)
    assert [t["_task"] for t in tasks if t.get("changed")] == []
    assert emulator.writes() == []
    assert s3_tasks(tasks, emulator.recorder.timed_calls()) == [bucket_task]


def s3_tasks(tasks, timed_calls):
    """Names of the tasks that made S3 calls (one module run per task)."""
    timed = [task for task in tasks if task["_start"] is not None]
    _before, windows = calls_by_window(timed_calls, [task["_start"] for task in timed])
    return [task["_task"] for task, window in zip(timed, windows) if any(op.startswith("s3:") for op in window)]
