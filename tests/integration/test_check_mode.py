# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check mode makes zero write calls: every module and every role (issue 11, item 7).

- Modules: one ``--check --diff`` run with a task per kind of change -- create (JSON + generate,
  text, binary), update (value, description, tags, KMS key, resource policy set and removed,
  replica, generate, regenerate, staged value), delete (scheduled and forced), restore, the bulk
  module (create + update + delete), label moves (promote, roll back, remove a stale label) and
  rotation (configure, change, cancel, rotate now), plus ``secret_info`` and the lookup.  Every
  change task must report ``changed`` (so check mode really planned the change), the recorder
  must see no write call, and the secrets must be exactly as before (values, labels, metadata).
- Roles, in two groups of three (one play per run, each role in a block/rescue): ``--check`` on
  an empty account (every role plans its creations, except ``ecs_redeploy`` and ``vpc_endpoint``,
  which fail clearly because their service / VPC does not exist), ``--check`` of those two once
  the service and the VPC exist (resources the roles do not manage), a real run, then
  ``--check`` again with a change pending in every role.  Every check run: zero write calls and
  every role reports a change; the last one also leaves the secrets exactly as the real run left
  them and registers no task definition revision.

The recorder sees every call (all clients use ``AWS_ENDPOINT_URL``); the state comparison is a
second, independent check.  Values are test strings; no assertion message prints one.
"""
import base64
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from integration_helpers import redact, run_playbook, summary, write_play  # noqa: E402

pytestmark = pytest.mark.integration

P = "cm/shop"
V1 = {"A": "checkmode-value-1", "KEEP": "checkmode-keep"}
V2 = "checkmode-value-2"
V3 = "checkmode-value-3"
VALUES = (V1["A"], V1["KEEP"], V2, V3, "checkmode-text-value", "sk_test_checkmode_value", "checkmode-db-user")
IGNORED_KEYS = ("LastAccessedDate", "ResponseMetadata", "NextRotationDate")


def snapshot(emulator):
    """Every secret (deleted ones too): metadata without access dates, every version's labels
    and value fingerprint, and the resource policy."""
    import hashlib

    sm = emulator.client("secretsmanager")
    out = {}
    for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        for entry in page["SecretList"]:
            arn = entry["ARN"]
            described = {k: v for k, v in sm.describe_secret(SecretId=arn).items() if k not in IGNORED_KEYS}
            versions = {}
            for version in sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]:
                fingerprint = "deleted: no value read"  # AWS and moto refuse GetSecretValue on a deleted secret
                if not described.get("DeletedDate"):
                    value = sm.get_secret_value(SecretId=arn, VersionId=version["VersionId"])
                    raw = value.get("SecretString", "").encode() or value.get("SecretBinary", b"")
                    fingerprint = hashlib.sha256(raw).hexdigest()[:16]
                versions[version["VersionId"]] = (sorted(version.get("VersionStages", [])), fingerprint)
            described["_versions"] = versions
            described["_policy"] = sm.get_resource_policy(SecretId=arn).get("ResourcePolicy")
            out[entry["Name"]] = json.loads(json.dumps(described, default=str))
    return out


def diff_names(before, after):
    """Names of secrets whose snapshot differs (never the values)."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def task(label, module, **args):
    return {"name": label, f"secretsops.aws.{module}": args}


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
def prepare_modules(emulator):
    sm = emulator.client("secretsmanager")
    kms = emulator.client("kms")
    key_id = kms.create_key(Description="checkmode")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/checkmode", TargetKeyId=key_id)
    sm.create_secret(Name=f"{P}/existing", SecretString=json.dumps(V1), Description="first",
                     Tags=[{"Key": "Environment", "Value": "cm"}])
    sm.create_secret(Name=f"{P}/withpolicy", SecretString=json.dumps(V1))
    sm.put_resource_policy(SecretId=f"{P}/withpolicy", ResourcePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/cm"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    sm.create_secret(Name=f"{P}/deleted", SecretString=json.dumps(V1))
    sm.delete_secret(SecretId=f"{P}/deleted", RecoveryWindowInDays=7)
    sm.create_secret(Name=f"{P}/staged", SecretString=json.dumps(V1))
    pending = sm.put_secret_value(SecretId=f"{P}/staged", SecretString=json.dumps({"A": V2}),
                                  VersionStages=["AWSPENDING"])["VersionId"]
    sm.create_secret(Name=f"{P}/rolled", SecretString=json.dumps(V1))
    sm.put_secret_value(SecretId=f"{P}/rolled", SecretString=json.dumps({"A": V2}))
    lambda_arn = emulator.rotation_lambda("cm-rotation")
    sm.create_secret(Name=f"{P}/rotating", SecretString=json.dumps(V1))
    sm.rotate_secret(SecretId=f"{P}/rotating", RotationLambdaARN=lambda_arn,
                     RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    return {"pending": pending, "lambda": lambda_arn}


def module_tasks(setup):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/cm"},
                                                     "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    E = f"{P}/existing"
    changing = [
        task("create JSON with a generated key", "secret", name=f"{P}/new-json", json_secret={"USER": "checkmode-db-user"},
             generate=["PASSWORD"], tags={"Environment": "cm"}, description="new"),
        task("create text", "secret", name=f"{P}/new-text", secret_string="checkmode-text-value"),
        task("create binary", "secret", name=f"{P}/new-binary", secret_binary=base64.b64encode(b"\x00\x01checkmode").decode()),
        task("update the value", "secret", name=E, json_secret={"A": V2, "KEEP": V1["KEEP"]}),
        task("update the description", "secret", name=E, description="second"),
        task("update the tags", "secret", name=E, tags={"Environment": "cm", "Owner": "team"}),
        task("change the KMS key", "secret", name=E, kms_key_id="alias/checkmode"),
        task("set a resource policy", "secret", name=E, resource_policy=policy),
        task("remove a resource policy", "secret", name=f"{P}/withpolicy", resource_policy={}),
        task("add a replica", "secret", name=E, replica=[{"region": "us-west-2"}]),
        task("generate a missing key", "secret", name=E, generate=["NEW_KEY"], overwrite=False),
        task("regenerate a key", "secret", name=E, regenerate=["A"]),
        task("stage a value as AWSPENDING", "secret", name=E, json_secret={"A": V3, "KEEP": V1["KEEP"]},
             version_stages=["AWSPENDING"]),
        task("delete with a recovery window", "secret", name=E, state="absent", recovery_window=7),
        task("delete without recovery", "secret", name=E, state="absent", recovery_window=0),
        task("restore a secret scheduled for deletion", "secret", name=f"{P}/deleted"),
        task("delete a scheduled secret at once", "secret", name=f"{P}/deleted", state="absent", recovery_window=0),
        task("bulk create, update and delete", "secret_bulk", prefix=P, secrets=[
            {"category": "bulk-new", "json_secret": {"K": V3}, "generate": ["G"]},
            {"category": "existing", "json_secret": {"A": V3, "KEEP": V1["KEEP"]}},
            {"category": "rolled", "state": "absent", "recovery_window": 7},
        ]),
        task("promote the staged version", "secret_version", name=f"{P}/staged", version_id=setup["pending"]),
        task("roll back to AWSPREVIOUS", "secret_version", name=f"{P}/rolled", to_previous=True),
        task("remove the stale AWSPENDING label", "secret_version", name=f"{P}/staged", stage="AWSPENDING", state="absent"),
        task("configure rotation", "secret_rotation", name=E, rotation_lambda_arn=setup["lambda"], rotation_interval_days=30),
        task("configure rotation and rotate now", "secret_rotation", name=E, rotation_lambda_arn=setup["lambda"],
             rotation_interval_days=30, rotate_immediately=True),
        task("change the rotation interval", "secret_rotation", name=f"{P}/rotating", rotation_lambda_arn=setup["lambda"],
             rotation_interval_days=60),
        task("cancel rotation", "secret_rotation", name=f"{P}/rotating", state="absent"),
    ]
    reading = [
        task("list the secrets", "secret_info", name_prefix=P, include_versions=True, include_planned_deletion=True),
        {"name": "read with the lookup", "no_log": True, "ansible.builtin.set_fact": {
            "cm_read": f"{{{{ lookup('secretsops.aws.secret', '{E}:A', '{P}/staged:A:AWSPENDING', cache_ttl=0) }}}}"}},
    ]
    return changing, reading


def test_modules_check_mode_writes_nothing(emulator, tmp_path):
    setup = prepare_modules(emulator)
    before = snapshot(emulator)
    changing, reading = module_tasks(setup)
    path = write_play(tmp_path / "check-modules.yml", changing + reading)
    emulator.recorder.reset()
    rc, stdout, stderr, tasks = run_playbook(emulator, tmp_path, path, check=True, diff=True)
    writes = emulator.writes()
    calls = emulator.recorder.calls()
    after = snapshot(emulator)
    report = summary(rc, tasks, VALUES)
    print(f"\nmodules in check mode: {len(changing)} change tasks + {len(reading)} reads, {len(calls)} API calls, "
          f"{len(writes)} write calls, secrets changed: {diff_names(before, after)}")

    assert rc == 0, report
    assert [t["_task"] for t in tasks] == [t["name"] for t in changing + reading], report
    not_changed = [t["_task"] for t in tasks[:len(changing)] if t.get("changed") is not True]
    assert not_changed == [], f"check mode did not plan these changes: {not_changed}; {report}"
    assert writes == [], f"check mode made write calls: {writes}"
    assert calls, "no API call recorded: the run did not go through the recorder"
    assert diff_names(before, after) == [], f"check mode changed secrets: {diff_names(before, after)}"
    for value in VALUES:
        assert value not in stdout and value not in stderr, "a secret value appeared in the output"


# ---------------------------------------------------------------------------------------------
# roles
# ---------------------------------------------------------------------------------------------
ROLES = ("secrets", "iam_secret_access", "ecs_task_definition", "cloudtrail_audit", "ecs_redeploy", "vpc_endpoint")


def prepare_outside(emulator):
    """What the roles need but do not manage: roles to attach to, an ECS service, a VPC."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                                "Action": "sts:AssumeRole"}]})
    iam = emulator.client("iam")
    iam.create_role(RoleName="cm-existing-app-role", AssumeRolePolicyDocument=trust)
    iam.create_role(RoleName="cm-second-app-role", AssumeRolePolicyDocument=trust)
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="cm-cluster")
    base = ecs.register_task_definition(
        family="cm-web-base", networkMode="bridge",
        containerDefinitions=[{"name": "web", "image": "nginx:1", "memory": 128, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="cm-cluster", serviceName="web", taskDefinition=base, desiredCount=1, launchType="EC2")
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.43.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName="cm-vpce", Description="HTTPS to the endpoint", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group, "lambda": emulator.rotation_lambda("cm-role-rotation")}


def role_inputs(outside, pending=False, empty_account=False):
    """Role variables as a vars file holds them; ``pending`` changes something in every role;
    ``empty_account``: no existing IAM role to attach the policy to."""
    tags = {"Environment": "cm", "Application": "shop"}
    if pending:
        tags = dict(tags, Owner="platform")
    secrets_list = [
        {"category": "database", "json": {"DB_USER": "checkmode-db-user", "DB_HOST": "db.internal" if not pending else "db2.internal"},
         "generate": ["DB_PASSWORD"], "description": "Database"},
        {"category": "jwt", "generate": ["JWT_SECRET"],
         "rotation": {"lambda_arn": outside["lambda"], "interval_days": 60 if pending else 30}},
        {"category": "stripe", "string": "sk_test_checkmode_value", "tags": {"Owner": "payments"},
         "description": "Stripe" if not pending else "Stripe API key"},
    ]
    if pending:
        secrets_list.append({"category": "openai", "json": {"OPENAI_API_KEY": V3}})
    return {
        "cm_secrets": {"secrets_prefix": P, "secrets_list": secrets_list, "secrets_tags": tags},
        "cm_iam": {"iam_secret_access_prefix": P, "iam_secret_access_create_ecs_roles": True,
                   "iam_secret_access_role_names": [] if empty_account else ["cm-existing-app-role"] + (["cm-second-app-role"] if pending else []),
                   "iam_secret_access_tags": tags},
        "cm_taskdef": {"ecs_task_definition_family": "cm-api", "ecs_task_definition_prefix": P,
                       "ecs_task_definition_image": "public.ecr.aws/nginx/nginx:1.27", "ecs_task_definition_container_port": 8080,
                       "ecs_task_definition_environment": {"NODE_ENV": "production", "SECRET_PREFIX": P},
                       "ecs_task_definition_secrets": {"DB_PASSWORD": "database:DB_PASSWORD", "JWT_SECRET": "jwt:JWT_SECRET"},
                       "ecs_task_definition_task_role_arn": "arn:aws:iam::123456789012:role/cm-shop-task",
                       "ecs_task_definition_execution_role_arn": "arn:aws:iam::123456789012:role/cm-shop-execution",
                       "ecs_task_definition_memory": "1024" if pending else "512"},
        "cm_trail": {"cloudtrail_audit_trail_name": "cm-audit", "cloudtrail_audit_bucket_name": "cm-audit-logs",
                     "cloudtrail_audit_tags": tags, "cloudtrail_audit_alarm": True,
                     "cloudtrail_audit_alarm_threshold": 5 if pending else 1},
        "cm_redeploy": {"ecs_redeploy_cluster": "cm-cluster", "ecs_redeploy_services": ["web"],
                        "ecs_redeploy_delay": 1, "ecs_redeploy_timeout": 5},
        "cm_vpce": {"vpc_endpoint_vpc_id": outside["vpc"], "vpc_endpoint_subnet_ids": outside["subnets"],
                    "vpc_endpoint_security_group_ids": [outside["group"]],
                    "vpc_endpoint_tags": dict(tags, Name="cm-secretsmanager")},
    }


ROLE_VARS = {"secrets": "cm_secrets", "iam_secret_access": "cm_iam", "ecs_task_definition": "cm_taskdef",
             "cloudtrail_audit": "cm_trail", "ecs_redeploy": "cm_redeploy", "vpc_endpoint": "cm_vpce"}
RESCUE = {"ansible.builtin.debug": {"msg": "{{ {'failed_task': ansible_failed_task.name | default(''), "
                                           "'message': ansible_failed_result.msg | default('') | string} }}"}}


def role_block(label, role, variables):
    """``include_role`` with the role's variables from one play variable (a dict): a block with a
    rescue, so one failing role does not hide the others."""
    return {
        "name": f"{label} | block",
        "block": [{"name": f"{label} | run", "ansible.builtin.include_role": {"name": f"secretsops.aws.{role}"},
                   "vars": {key: f"{{{{ {variables}['{key}'] }}}}" for key in VARIABLE_KEYS[role]}}],
        "rescue": [dict(RESCUE, name=f"{label} | rescued")],
    }


VARIABLE_KEYS = {}


def roles_play(tmp_path, name, inputs, roles):
    for role, var in ROLE_VARS.items():
        VARIABLE_KEYS[role] = sorted(inputs[var])
    blocks = [role_block(role, role, ROLE_VARS[role]) for role in roles]
    return write_play(tmp_path / f"{name}.yml", blocks)


def role_results(tasks, role):
    """(tasks of the role's block, whether any changed, rescue message or None)."""
    mine, inside = [], False
    for t in tasks:
        label = t["_task"].split(" | ", 1)[0]
        if t["_task"].startswith(f"{role} | "):
            inside = True
        elif " | " in t["_task"] and label in ROLES:
            inside = False
        if inside:
            mine.append(t)
    rescued = [t for t in mine if t["_task"].endswith("| rescued")]
    message = rescued[0].get("msg", {}).get("message") if rescued else None
    changed = any(t.get("changed") is True for t in mine if t["_task"].startswith(f"secretsops.aws.{role} : "))
    return mine, changed, message


def run_roles(emulator, tmp_path, name, inputs, check, roles):
    path = roles_play(tmp_path, name, inputs, roles)
    emulator.recorder.reset()
    began = time.monotonic()
    rc, stdout, stderr, tasks = run_playbook(emulator, tmp_path, path, variables=inputs, check=check, name=f"vars-{name}")
    print(f"  [{name}: {time.monotonic() - began:.0f} s; " + ", ".join(
        f"{role} {sum((t['_end'] or t['_start']) - t['_start'] for t in role_results(tasks, role)[0]):.0f} s" for role in roles) + "]")
    return rc, stdout + stderr, tasks, emulator.writes(), emulator.recorder.calls()


# Two groups of three roles, so that ``-n 2`` runs them side by side (about 15 s a run each);
# ecs_task_definition needs the secrets the secrets role writes, so they share a group.
@pytest.mark.parametrize("roles", [("secrets", "iam_secret_access", "ecs_task_definition"),
                                   ("cloudtrail_audit", "ecs_redeploy", "vpc_endpoint")], ids=["secrets-iam-taskdef", "trail-redeploy-vpce"])
def test_roles_check_mode_writes_nothing(emulator, tmp_path, roles):
    # 1. --check on an empty account: every role plans its creations, except ecs_redeploy and
    #    vpc_endpoint, which fail clearly because their service / VPC does not exist.  No write.
    placeholder = {"lambda": "arn:aws:lambda:us-east-1:123456789012:function:cm-role-rotation", "vpc": "vpc-0123456789abcdef0",
                   "subnets": ["subnet-0123456789abcdef0"], "group": "sg-0123456789abcdef0"}
    needs_outside = [role for role in roles if role in ("ecs_redeploy", "vpc_endpoint")]
    rc, out, tasks, writes, calls = run_roles(emulator, tmp_path, "check-empty-account", role_inputs(placeholder, empty_account=True),
                                              True, roles)
    report = summary(rc, tasks, VALUES)
    print(f"\n{', '.join(roles)} --check on an empty account: {len(calls)} calls, {len(writes)} writes")
    assert writes == [], f"check mode on an empty account made write calls: {writes}"
    for role in roles:
        mine, changed, message = role_results(tasks, role)
        assert mine, f"{role} did not run; {report}"
        if role in needs_outside:
            assert message and ("not found" in message.lower() or "must exist" in message), \
                f"{role} should fail clearly on an empty account; {report}"
        else:
            assert message is None and changed, f"{role} did not plan its creations; {report}"
    assert snapshot(emulator) == {}, "check mode created secrets"
    for value in VALUES:
        assert value not in out, "a secret value appeared in the output"

    # 2. the service and the VPC exist (not managed by the roles): --check of the roles that need them
    outside = prepare_outside(emulator)
    inputs = role_inputs(outside)
    if needs_outside:
        rc, out, tasks, writes, calls = run_roles(emulator, tmp_path, "check-before", inputs, True, needs_outside)
        report = summary(rc, tasks, VALUES)
        print(f"{', '.join(needs_outside)} --check with their service / VPC in place: {len(calls)} calls, {len(writes)} writes")
        assert rc == 0, report
        assert writes == [], f"check mode made write calls before the first real run: {writes}"
        for role in needs_outside:
            _mine, changed, message = role_results(tasks, role)
            assert message is None, f"{role} failed in check mode: {redact(message, VALUES)}"
            assert changed, f"{role} planned no change in check mode; {report}"

    # 3. the real run
    rc, out, tasks, writes, calls = run_roles(emulator, tmp_path, "real", inputs, False, roles)
    report = summary(rc, tasks, VALUES)
    print(f"{', '.join(roles)} real run: {len(calls)} calls, {len(writes)} writes")
    assert rc == 0, report
    for role in roles:
        _mine, changed, message = role_results(tasks, role)
        assert message is None, f"{role} failed in the real run: {redact(message, VALUES)}"
    assert writes, "the real run wrote nothing"

    # 4. check mode with a change pending in every role
    after_real = snapshot(emulator)
    revisions = emulator.client("ecs").list_task_definitions(familyPrefix="cm-api")["taskDefinitionArns"]
    rc, out, tasks, writes, calls = run_roles(emulator, tmp_path, "check-pending", role_inputs(outside, pending=True), True, roles)
    report = summary(rc, tasks, VALUES)
    print(f"{', '.join(roles)} --check with changes pending: {len(calls)} calls, {len(writes)} writes")
    assert rc == 0, report
    assert writes == [], f"check mode made write calls with changes pending: {writes}"
    for role in roles:
        _mine, changed, message = role_results(tasks, role)
        assert message is None, f"{role} failed in check mode: {redact(message, VALUES)}"
        assert changed, f"{role} planned no change although one is pending; {report}"
    assert diff_names(after_real, snapshot(emulator)) == [], "check mode changed secrets"
    assert emulator.client("ecs").list_task_definitions(familyPrefix="cm-api")["taskDefinitionArns"] == revisions, \
        "check mode registered a task definition revision"
    for value in VALUES:
        assert value not in out, "a secret value appeared in the output"
