# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad inputs across the five modules, the lookup and the six roles (issue 11, item 7).

Every case is one task of a play, wrapped in a block/rescue so the play goes on; the rescue
records the failed task and its message.  The cases are split over two plays that run side by
side, each through a recording proxy of its own (in front of the same emulator).  For each case:

- the task fails (a case that passes is reported as "did not fail");
- the message contains every substring chosen for the case (the option or variable it names);
- no ``Traceback`` in that case's task results, nor anywhere in the run's stdout/stderr;
- the recording proxy saw ZERO write calls during the case, and zero calls at all unless the
  case is marked ``reads`` (validation that needs the current state, e.g. a version id that
  does not exist);
- no test value appears in the case's task results.

Calls are attributed to cases by time: the ``ansible.posix.json`` callback gives each task's start
(UTC) and the recorder stamps each call on arrival; a case's window runs from the start of its
first task to the start of the next case.  Tasks run one after another on one host, so windows
never overlap.

A summary (cases / clear / with writes / with traceback) is printed (``pytest -s``); every case
must be clear.  Values are test strings; no assertion message prints one (messages are redacted).
Playbook variables are covered elsewhere.
"""
import concurrent.futures
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from integration_helpers import calls_by_window, redact, run_playbook, write_play  # noqa: E402
from aws_recorder import Recorder, is_write  # noqa: E402  (tools/, on sys.path through conftest.py)

pytestmark = pytest.mark.integration

L = "secretsops.aws.secret"
VALUE = "bad-input-value-5c1e9a"          # a secret value: must never be echoed
EXISTING_VALUE = "bad-input-existing-7d42"  # the value of the pre-existing secret
EXISTING = "badinput/shop/existing"
STAGED = "badinput/shop/staged"           # holds an AWSPENDING version
BIG = "bad-input-big-" + "x" * 65536      # > 65536 bytes
VALUES = (VALUE, EXISTING_VALUE, BIG)
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:badinput-rotate"


class Case:
    def __init__(self, cid, what, task, expect, reads=False):
        self.cid = cid
        self.what = what
        self.task = task
        self.expect = [expect] if isinstance(expect, str) else list(expect)
        self.reads = reads  # True: read calls are fine (validation against current state)


def mod(module, **args):
    return {f"secretsops.aws.{module}": args}


def look(expression):
    """A task evaluating a lookup expression; if it succeeded, only a length would be printed."""
    # ``| to_json | length``, not ``| type_debug``: ansible-core 2.19 hands a failed lookup to a
    # filter as a captured-error marker, and type_debug would name the marker instead of failing.
    return {"ansible.builtin.debug": {"msg": "{{ (" + expression + ") | to_json | length }}"}}


def role(name, **variables):
    return {"ansible.builtin.include_role": {"name": f"secretsops.aws.{name}"}, "vars": variables}


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
def module_cases(pending_version):
    S, V = "secret", VALUE
    cases = [
        Case("secret-01", "name with a space", mod(S, name="badinput/shop/bad name", secret_string=V), "name"),
        Case("secret-02", "name longer than 512", mod(S, name="b" * 513, secret_string=V), ["name", "512"]),
        Case("secret-03", "empty name", mod(S, name="", secret_string=V), "name"),
        Case("secret-04", "ARN with too few fields", mod(S, name="arn:aws:secretsmanager:us-east-1:123456789012:secret", secret_string=V), "name"),
        Case("secret-05", "secret_string over 65536 bytes", mod(S, name="badinput/shop/big", secret_string=BIG), ["secret_string", "65536"]),
        Case("secret-06", "json_secret over 65536 bytes", mod(S, name="badinput/shop/big", json_secret={"K": BIG}), ["json_secret", "65536"]),
        Case("secret-07", "secret_string and json_secret", mod(S, name="badinput/shop/x", secret_string=V, json_secret={"K": V}),
             ["mutually exclusive", "secret_string", "json_secret"]),
        Case("secret-08", "secret_binary not base64", mod(S, name="badinput/shop/x", secret_binary=V + "%%"), "secret_binary"),
        Case("secret-09", "recovery_window 5", mod(S, name="badinput/shop/x", state="absent", recovery_window=5), "recovery_window"),
        Case("secret-10", "recovery_window 31", mod(S, name="badinput/shop/x", state="absent", recovery_window=31), "recovery_window"),
        Case("secret-11", "generate with a text value", mod(S, name="badinput/shop/x", secret_string=V, generate=["K"]), "generate"),
        Case("secret-12", "regenerate with a text value", mod(S, name="badinput/shop/x", secret_string=V, regenerate=["K"]), "regenerate"),
        Case("secret-13", "generate_bytes 0", mod(S, name="badinput/shop/x", generate=["K"], generate_bytes=0), "generate_bytes"),
        Case("secret-14", "json_secret is a list", mod(S, name="badinput/shop/x", json_secret=[V]), "json_secret"),
        Case("secret-15", "reserved aws: tag", mod(S, name="badinput/shop/x", secret_string=V, tags={"aws:owner": "me"}), ["tags", "aws:"]),
        Case("secret-16", "resource_policy not JSON", mod(S, name="badinput/shop/x", resource_policy="{not json"), "resource_policy"),
        Case("secret-17", "resource_policy a JSON list", mod(S, name="badinput/shop/x", resource_policy="[1, 2]"), "resource_policy"),
        Case("secret-18", "unknown option", mod(S, name="badinput/shop/x", secert_string="not-a-secret"), "secert_string"),
        Case("secret-19", "version_stages without a value", mod(S, name="badinput/shop/x", version_stages=["AWSPENDING"]), "version_stages"),
        Case("secret-20", "replica item without region", mod(S, name="badinput/shop/x", secret_string=V, replica=[{"kms_key_id": "alias/x"}]),
             ["region", "replica"]),
        Case("secret-21", "generate key empty", mod(S, name="badinput/shop/x", generate=[""]), "generate"),
        Case("secret-22", "required key missing on an existing secret",
             mod(S, name=EXISTING, json_secret={"A": V}, required_keys=["MISSING_KEY"]), ["required_keys", "MISSING_KEY"], reads=True),
    ]
    B = "secret_bulk"
    cases += [
        Case("bulk-01", "secrets missing", mod(B, prefix="badinput/shop"), "secrets"),
        # ansible-core reports only its own first error for a list of dicts ("dictionary requested,
        # could not parse JSON or key=value"), which does not name the option; no call is made.
        Case("bulk-02", "secrets is text", mod(B, secrets=V), "dictionary requested"),
        Case("bulk-03", "item with name and category", mod(B, prefix="badinput/shop", secrets=[{"name": "badinput/shop/a", "category": "a"}]),
             ["name", "category"]),
        Case("bulk-04", "item with neither name nor category", mod(B, secrets=[{"secret_string": V}]), ["name", "category"]),
        Case("bulk-05", "category without prefix", mod(B, secrets=[{"category": "a", "secret_string": V}]), "prefix"),
        Case("bulk-06", "duplicate names", mod(B, secrets=[{"name": "badinput/shop/a", "secret_string": V},
                                                           {"name": "badinput/shop/a", "secret_string": V}]), "badinput/shop/a"),
        Case("bulk-07", "item name is an ARN",
             mod(B, secrets=[{"name": "arn:aws:secretsmanager:us-east-1:123456789012:secret:badinput/shop/a-AbCdEf", "secret_string": V}]),
             "name"),
        Case("bulk-08", "unknown item option", mod(B, secrets=[{"name": "badinput/shop/a", "secert": "not-a-secret"}]), "secert"),
        Case("bulk-09", "item recovery_window 3", mod(B, secrets=[{"name": "badinput/shop/a", "state": "absent", "recovery_window": 3}]),
             "recovery_window"),
        Case("bulk-10", "rotation interval_days 0",
             mod(B, secrets=[{"name": "badinput/shop/a", "secret_string": V, "rotation": {"lambda_arn": LAMBDA, "interval_days": 0}}]),
             "interval_days"),
        Case("bulk-11", "rotation interval and schedule",
             mod(B, secrets=[{"name": "badinput/shop/a", "secret_string": V,
                              "rotation": {"lambda_arn": LAMBDA, "interval_days": 7, "schedule_expression": "rate(7 days)"}}]),
             "schedule_expression"),
        Case("bulk-12", "valid first item, invalid second: nothing written",
             mod(B, secrets=[{"name": "badinput/shop/good", "secret_string": V},
                             {"name": "badinput/shop/bad", "state": "absent", "recovery_window": 2}]),
             ["secrets[1]", "recovery_window"]),
        Case("bulk-13", "rotation duration 25h",
             mod(B, secrets=[{"name": "badinput/shop/a", "secret_string": V,
                              "rotation": {"lambda_arn": LAMBDA, "interval_days": 7, "duration": "25h"}}]), "duration"),
        Case("bulk-14", "item reserved aws: tag", mod(B, secrets=[{"name": "badinput/shop/a", "secret_string": V, "tags": {"aws:x": "y"}}]),
             "aws:"),
        Case("bulk-15", "item is text, not a dict", mod(B, secrets=["badinput/shop/a"]), "dictionary requested"),
    ]
    I = "secret_info"
    cases += [
        Case("info-01", "unknown filter key (AWS rejects it; a read-only module)", mod(I, filters={"colour": ["blue"]}), ["filters", "colour"],
             reads=True),
        Case("info-02", "unknown option", mod(I, name_prefx="badinput/shop"), "name_prefx"),
        Case("info-03", "names with an invalid name", mod(I, names=["badinput/shop/a b"]), "names"),
        Case("info-04", "name_prefix with invalid characters", mod(I, name_prefix="badinput/shop!"), "name_prefix"),
    ]
    SV = "secret_version"
    cases += [
        Case("version-01", "name missing", mod(SV, to_previous=True), "name"),
        Case("version-02", "version_id and to_previous", mod(SV, name=EXISTING, version_id="a" * 32, to_previous=True),
             ["version_id", "to_previous"]),
        Case("version-03", "present without version_id or to_previous", mod(SV, name=EXISTING), ["version_id", "to_previous"]),
        Case("version-04", "to_previous with stage AWSPENDING", mod(SV, name=EXISTING, stage="AWSPENDING", to_previous=True), "to_previous"),
        Case("version-05", "absent for AWSCURRENT", mod(SV, name=EXISTING, stage="AWSCURRENT", state="absent"), "AWSCURRENT"),
        Case("version-06", "empty stage (would move AWSCURRENT)", mod(SV, name=STAGED, stage="", version_id=pending_version), "stage"),
        Case("version-07", "version id that does not exist", mod(SV, name=EXISTING, version_id="badinput-no-such-version-0000000001"),
             "badinput-no-such-version-0000000001", reads=True),
    ]
    R = "secret_rotation"
    cases += [
        Case("rotation-01", "interval 0", mod(R, name=EXISTING, rotation_lambda_arn=LAMBDA, rotation_interval_days=0), "rotation_interval_days"),
        Case("rotation-02", "interval 1001", mod(R, name=EXISTING, rotation_lambda_arn=LAMBDA, rotation_interval_days=1001),
             "rotation_interval_days"),
        Case("rotation-03", "interval and schedule",
             mod(R, name=EXISTING, rotation_lambda_arn=LAMBDA, rotation_interval_days=7, schedule_expression="rate(7 days)"),
             ["rotation_interval_days", "schedule_expression"]),
        Case("rotation-04", "schedule_expression malformed", mod(R, name=EXISTING, rotation_lambda_arn=LAMBDA, schedule_expression="every day"),
             "schedule_expression"),
        Case("rotation-05", "duration 25h", mod(R, name=EXISTING, rotation_lambda_arn=LAMBDA, rotation_interval_days=7, duration="25h"),
             "duration"),
        Case("rotation-06", "lambda ARN not an ARN", mod(R, name=EXISTING, rotation_lambda_arn="badinput-rotate", rotation_interval_days=7),
             "rotation_lambda_arn"),
        Case("rotation-07", "name missing", mod(R, rotation_lambda_arn=LAMBDA, rotation_interval_days=7), "name"),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# lookup
# ---------------------------------------------------------------------------------------------
def lookup_cases():
    n = f"'{EXISTING}'"
    return [
        Case("lookup-01", "term with four selector parts", look(f"lookup('{L}', 'badinput/shop/a:k:AWSCURRENT:v:extra')"), "_terms"),
        Case("lookup-02", "ARN of another service", look(f"lookup('{L}', 'arn:aws:s3:::badinput-bucket:k:x:y')"), ["_terms", "ARN"]),
        Case("lookup-03", "empty term", look(f"lookup('{L}', '')"), "_terms"),
        Case("lookup-04", "name with a space", look(f"lookup('{L}', 'badinput/shop/a b')"), "_terms"),
        Case("lookup-05", "name longer than 512", look(f"lookup('{L}', '{'b' * 513}')"), ["_terms", "512"]),
        Case("lookup-06", "ARN with six fields", look(f"lookup('{L}', 'arn:aws:secretsmanager:us-east-1:123456789012:secret')"), "_terms"),
        Case("lookup-07", "unknown option", look(f"lookup('{L}', {n}, bypth=true)"), "bypth"),
        Case("lookup-08", "two unknown options", look(f"lookup('{L}', {n}, stage='AWSCURRENT', ttl=0)"), ["stage", "ttl"]),
        Case("lookup-09", "negative cache_ttl", look(f"lookup('{L}', {n}, cache_ttl=-1)"), "cache_ttl"),
        Case("lookup-10", "cache_ttl not a number", look(f"lookup('{L}', {n}, cache_ttl='soon')"), "cache_ttl"),
        Case("lookup-11", "on_missing not a choice", look(f"lookup('{L}', {n}, on_missing='ignore')"), "on_missing"),
        Case("lookup-12", "on_denied not a choice", look(f"lookup('{L}', {n}, on_denied='maybe')"), "on_denied"),
        Case("lookup-13", "on_deleted not a choice", look(f"lookup('{L}', {n}, on_deleted='never')"), "on_deleted"),
        Case("lookup-14", "binary not a choice", look(f"lookup('{L}', {n}, binary='hex')"), "binary"),
        Case("lookup-15", "bypath not a boolean", look(f"lookup('{L}', 'badinput/shop', bypath='perhaps')"), "bypath"),
        Case("lookup-16", "merge not a boolean", look(f"lookup('{L}', {n}, merge='perhaps')"), "merge"),
        Case("lookup-17", "shared_cache not a boolean", look(f"lookup('{L}', {n}, shared_cache='perhaps')"), "shared_cache"),
        Case("lookup-18", "term is a number", look(f"lookup('{L}', 42)"), "_terms"),
        Case("lookup-19", "term with a newline", look(f"lookup('{L}', 'badinput/shop/a\\nb')"), "_terms"),
        Case("lookup-20", "a good term then a bad one: nothing read", look(f"lookup('{L}', {n}, 'badinput/shop/a b')"), "_terms"),
    ]


# ---------------------------------------------------------------------------------------------
# roles
# ---------------------------------------------------------------------------------------------
def role_cases():
    good_list = [{"category": "database", "json": {"DB_USER": "shop"}}]
    td = {"ecs_task_definition_family": "badinput-web", "ecs_task_definition_prefix": "badinput/shop",
          "ecs_task_definition_image": "nginx:1"}
    vpce = {"vpc_endpoint_vpc_id": "vpc-badinput", "vpc_endpoint_subnet_ids": ["subnet-badinput"],
            "vpc_endpoint_security_group_ids": ["sg-badinput"]}

    def td_with(**over):
        merged = dict(td)
        merged.update(over)
        return merged

    def td_without(key):
        return {k: v for k, v in td.items() if k != key}

    def vpce_with(**over):
        return {k: v for k, v in dict(vpce, **over).items() if v is not None}

    cases = [
        # secrets
        Case("role-secrets-01", "prefix missing", role("secrets", secrets_list=good_list), "secrets_prefix"),
        Case("role-secrets-02", "list is text", role("secrets", secrets_prefix="badinput/shop", secrets_list="database"), "secrets_list"),
        Case("role-secrets-03", "item without category", role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"json": {"K": VALUE}}]),
             "category"),
        Case("role-secrets-04", "item with an unknown key",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"category": "database", "jsn": {"K": VALUE}}]), "jsn"),
        Case("role-secrets-05", "item json is text",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"category": "database", "json": VALUE}]), "json"),
        Case("role-secrets-06", "tags is a list", role("secrets", secrets_prefix="badinput/shop", secrets_list=good_list, secrets_tags=["prod"]),
             "secrets_tags"),
        Case("role-secrets-07", "generate_bytes not a number",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=good_list, secrets_generate_bytes="many"), "secrets_generate_bytes"),
        Case("role-secrets-08", "prefix with a trailing slash", role("secrets", secrets_prefix="badinput/shop/", secrets_list=good_list),
             "secrets_prefix"),
        Case("role-secrets-09", "duplicate categories", role("secrets", secrets_prefix="badinput/shop", secrets_list=good_list + good_list),
             "category"),
        Case("role-secrets-10", "rotation interval 0",
             role("secrets", secrets_prefix="badinput/shop",
                  secrets_list=[{"category": "jwt", "generate": ["JWT_SECRET"], "rotation": {"lambda_arn": LAMBDA, "interval_days": 0}}]),
             "interval_days"),
        Case("role-secrets-11", "purge_keys not a boolean",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"category": "database", "json": {"K": VALUE}, "purge_keys": "maybe"}]),
             "purge_keys"),
        Case("role-secrets-12", "item json and string",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"category": "database", "json": {"K": VALUE}, "string": VALUE}]),
             ["json", "string"]),
        Case("role-secrets-13", "generate_bytes 0", role("secrets", secrets_prefix="badinput/shop", secrets_generate_bytes=0,
                                                         secrets_list=[{"category": "jwt", "generate": ["JWT_SECRET"]}]), "generate_bytes"),
        Case("role-secrets-14", "category with a space",
             role("secrets", secrets_prefix="badinput/shop", secrets_list=[{"category": "data base", "json": {"K": VALUE}}]), "name"),
        # iam_secret_access
        Case("role-iam-01", "prefix missing", role("iam_secret_access"), "iam_secret_access_prefix"),
        Case("role-iam-02", "prefix with a leading slash", role("iam_secret_access", iam_secret_access_prefix="/badinput/shop"),
             "iam_secret_access_prefix"),
        Case("role-iam-03", "prefix with a trailing slash", role("iam_secret_access", iam_secret_access_prefix="badinput/shop/"),
             "iam_secret_access_prefix"),
        Case("role-iam-04", "empty prefix", role("iam_secret_access", iam_secret_access_prefix=""), "iam_secret_access_prefix"),
        Case("role-iam-05", "create_ecs_roles not a boolean",
             role("iam_secret_access", iam_secret_access_prefix="badinput/shop", iam_secret_access_create_ecs_roles="perhaps"),
             "iam_secret_access_create_ecs_roles"),
        Case("role-iam-06", "tags is a list", role("iam_secret_access", iam_secret_access_prefix="badinput/shop", iam_secret_access_tags=["x"]),
             "iam_secret_access_tags"),
        Case("role-iam-07", "role_names is text, not a list",
             role("iam_secret_access", iam_secret_access_prefix="badinput/shop", iam_secret_access_role_names="badinput-app-role"),
             "iam_secret_access_role_names", reads=True),
        Case("role-iam-08", "execution role managed policies is text, not a list",
             role("iam_secret_access", iam_secret_access_prefix="badinput/shop", iam_secret_access_create_ecs_roles=True,
                  iam_secret_access_execution_role_managed_policies="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"),
             "iam_secret_access_execution_role_managed_policies", reads=True),
        # ecs_task_definition
        Case("role-taskdef-01", "family missing", role("ecs_task_definition", **td_without("ecs_task_definition_family")),
             "ecs_task_definition_family"),
        Case("role-taskdef-02", "prefix missing", role("ecs_task_definition", **td_without("ecs_task_definition_prefix")),
             "ecs_task_definition_prefix"),
        Case("role-taskdef-03", "image missing", role("ecs_task_definition", **td_without("ecs_task_definition_image")),
             "ecs_task_definition_image"),
        Case("role-taskdef-04", "secrets is a list", role("ecs_task_definition", **td_with(ecs_task_definition_secrets=["database:URL"])),
             "ecs_task_definition_secrets"),
        Case("role-taskdef-05", "env name in environment and secrets",
             role("ecs_task_definition", **td_with(ecs_task_definition_environment={"DATABASE_URL": "x"},
                                                   ecs_task_definition_secrets={"DATABASE_URL": "database:DATABASE_URL"})),
             ["ecs_task_definition_environment", "ecs_task_definition_secrets", "DATABASE_URL"]),
        Case("role-taskdef-06", "secret reference without json key",
             role("ecs_task_definition", **td_with(ecs_task_definition_secrets={"DATABASE_URL": "database"})),
             ["ecs_task_definition_secrets", "DATABASE_URL"]),
        Case("role-taskdef-07", "network mode not a choice", role("ecs_task_definition", **td_with(ecs_task_definition_network_mode="overlay")),
             "ecs_task_definition_network_mode"),
        Case("role-taskdef-08", "FARGATE with bridge networking",
             role("ecs_task_definition", **td_with(ecs_task_definition_network_mode="bridge")), "network mode"),
        Case("role-taskdef-09", "container port not a number", role("ecs_task_definition", **td_with(ecs_task_definition_container_port="http")),
             "ecs_task_definition_container_port"),
        Case("role-taskdef-10", "prefix with a trailing slash", role("ecs_task_definition", **td_with(ecs_task_definition_prefix="badinput/shop/")),
             "ecs_task_definition_prefix"),
        Case("role-taskdef-11", "launch type not a choice", role("ecs_task_definition", **td_with(ecs_task_definition_launch_type="LAMBDA")),
             "ecs_task_definition_launch_type"),
        Case("role-taskdef-12", "referenced secret does not exist",
             role("ecs_task_definition", **td_with(ecs_task_definition_secrets={"NOPE": "nosuchcategory:KEY"})),
             ["ecs_task_definition_secrets", "badinput/shop/nosuchcategory"], reads=True),
        Case("role-taskdef-13", "referenced JSON key does not exist",
             role("ecs_task_definition", **td_with(ecs_task_definition_secrets={"NOPE": "existing:NO_SUCH_KEY"})),
             "existing:NO_SUCH_KEY", reads=True),
        Case("role-taskdef-14", "secrets is key=value text",
             role("ecs_task_definition", **td_with(ecs_task_definition_secrets="DATABASE_URL=database:DATABASE_URL")),
             "ecs_task_definition_secrets"),
        Case("role-taskdef-15", "environment is key=value text",
             role("ecs_task_definition", **td_with(ecs_task_definition_environment="NODE_ENV=production")),
             "ecs_task_definition_environment"),
        # cloudtrail_audit
        Case("role-trail-01", "bucket missing", role("cloudtrail_audit"), "cloudtrail_audit_bucket_name"),
        Case("role-trail-02", "bucket is a number", role("cloudtrail_audit", cloudtrail_audit_bucket_name=123), "cloudtrail_audit_bucket_name"),
        Case("role-trail-03", "empty bucket", role("cloudtrail_audit", cloudtrail_audit_bucket_name=""), "cloudtrail_audit_bucket_name"),
        Case("role-trail-04", "alarm not a boolean", role("cloudtrail_audit", cloudtrail_audit_bucket_name="badinput-logs",
                                                          cloudtrail_audit_alarm="sometimes"), "cloudtrail_audit_alarm"),
        Case("role-trail-05", "alarm threshold not a number", role("cloudtrail_audit", cloudtrail_audit_bucket_name="badinput-logs",
                                                                   cloudtrail_audit_alarm_threshold="many"), "cloudtrail_audit_alarm_threshold"),
        Case("role-trail-06", "tags is a list", role("cloudtrail_audit", cloudtrail_audit_bucket_name="badinput-logs", cloudtrail_audit_tags=["x"]),
             "cloudtrail_audit_tags"),
        Case("role-trail-07", "retention not a number", role("cloudtrail_audit", cloudtrail_audit_bucket_name="badinput-logs",
                                                             cloudtrail_audit_log_retention_days="forever"), "cloudtrail_audit_log_retention_days"),
        Case("role-trail-08", "multi_region not a boolean", role("cloudtrail_audit", cloudtrail_audit_bucket_name="badinput-logs",
                                                                 cloudtrail_audit_multi_region="both"), "cloudtrail_audit_multi_region"),
        # ecs_redeploy
        Case("role-redeploy-01", "cluster missing", role("ecs_redeploy", ecs_redeploy_services=["web"]), "ecs_redeploy_cluster"),
        Case("role-redeploy-02", "services missing", role("ecs_redeploy", ecs_redeploy_cluster="badinput"), "ecs_redeploy_services"),
        Case("role-redeploy-03", "services is text", role("ecs_redeploy", ecs_redeploy_cluster="badinput", ecs_redeploy_services="web"),
             "ecs_redeploy_services"),
        Case("role-redeploy-04", "services empty", role("ecs_redeploy", ecs_redeploy_cluster="badinput", ecs_redeploy_services=[]),
             "ecs_redeploy_services"),
        Case("role-redeploy-05", "delay 0", role("ecs_redeploy", ecs_redeploy_cluster="badinput", ecs_redeploy_services=["web"],
                                                 ecs_redeploy_delay=0), "ecs_redeploy_delay"),
        Case("role-redeploy-06", "timeout not a number", role("ecs_redeploy", ecs_redeploy_cluster="badinput", ecs_redeploy_services=["web"],
                                                              ecs_redeploy_timeout="soon"), "ecs_redeploy_timeout"),
        Case("role-redeploy-07", "timeout shorter than delay", role("ecs_redeploy", ecs_redeploy_cluster="badinput", ecs_redeploy_services=["web"],
                                                                    ecs_redeploy_timeout=5, ecs_redeploy_delay=10), "ecs_redeploy_timeout"),
        # vpc_endpoint
        Case("role-vpce-01", "vpc id missing", role("vpc_endpoint", **vpce_with(vpc_endpoint_vpc_id=None)), "vpc_endpoint_vpc_id"),
        Case("role-vpce-02", "subnets missing", role("vpc_endpoint", **vpce_with(vpc_endpoint_subnet_ids=None)), "vpc_endpoint_subnet_ids"),
        Case("role-vpce-03", "security groups missing", role("vpc_endpoint", **vpce_with(vpc_endpoint_security_group_ids=None)),
             "vpc_endpoint_security_group_ids"),
        Case("role-vpce-04", "subnets empty", role("vpc_endpoint", **vpce_with(vpc_endpoint_subnet_ids=[])), "vpc_endpoint_subnet_ids"),
        Case("role-vpce-05", "vpc id is a number", role("vpc_endpoint", **vpce_with(vpc_endpoint_vpc_id=123)), "vpc_endpoint_vpc_id"),
        Case("role-vpce-06", "wait not a boolean", role("vpc_endpoint", **vpce_with(vpc_endpoint_wait="eventually")), "vpc_endpoint_wait"),
        Case("role-vpce-07", "tags is a list", role("vpc_endpoint", **vpce_with(vpc_endpoint_tags=["x"])), "vpc_endpoint_tags"),
        Case("role-vpce-08", "wait timeout not a number", role("vpc_endpoint", **vpce_with(vpc_endpoint_wait_timeout="long")),
             "vpc_endpoint_wait_timeout"),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# running and judging
# ---------------------------------------------------------------------------------------------
RESCUE_MSG = ("{{ {'failed_task': ansible_failed_task.name | default(''), "
              "'message': ansible_failed_result.msg | default('') | string} }}")


def case_block(case):
    return {
        "name": f"{case.cid} | case",
        "block": [
            dict(case.task, name=f"{case.cid} | run"),
            {"name": f"{case.cid} | NOT FAILED", "ansible.builtin.debug": {"msg": "the bad input was accepted"}},
        ],
        "rescue": [{"name": f"{case.cid} | rescued", "ansible.builtin.debug": {"msg": RESCUE_MSG}}],
    }


def judge(cases, tasks, timed_calls):
    """(calls before the first case, one verdict dict per case)."""
    by_case = {case.cid: [] for case in cases}
    starts = {}
    current = None
    for task in tasks:
        cid = task["_task"].split(" | ", 1)[0]
        if cid in by_case:
            current = cid
            starts.setdefault(cid, task["_start"])
        if current is not None:
            by_case[current].append(task)
    ordered = [case.cid for case in cases if case.cid in starts]
    before, windows = calls_by_window(timed_calls, [starts[cid] for cid in ordered])
    calls = dict(zip(ordered, windows))
    ends = [t["_end"] or t["_start"] for t in tasks if t.get("_start")]
    last = max(ends) if ends else 0
    bounds = [starts[cid] for cid in ordered] + [last]
    seconds = {cid: bounds[i + 1] - bounds[i] for i, cid in enumerate(ordered)}
    verdicts = []
    for case in cases:
        results = by_case[case.cid]
        text = json.dumps(results, default=str)
        rescued = [t for t in results if t["_task"] == f"{case.cid} | rescued"]
        accepted = any(t["_task"] == f"{case.cid} | NOT FAILED" for t in results)
        info = rescued[0].get("msg") if rescued else None
        message = info.get("message", "") if isinstance(info, dict) else ""
        case_calls = calls.get(case.cid, [])
        writes = [op for op in case_calls if is_write(op)]
        problems = []
        if case.cid not in starts:
            problems.append("did not run")
        elif accepted or not rescued:
            problems.append("did not fail")
        missing = [s for s in case.expect if s not in message]
        if rescued and missing:
            problems.append(f"message lacks {missing}")
        traceback = "Traceback" in text
        if traceback:
            problems.append("traceback")
        if writes:
            problems.append(f"writes {writes}")
        if case_calls and not case.reads:
            problems.append(f"API calls {sorted(set(case_calls))}")
        echoed = [i for i, value in enumerate(VALUES) if value in text]
        if echoed:
            problems.append("a test value appears in the task results")
        verdicts.append({
            "cid": case.cid, "what": case.what, "message": redact(message, VALUES),
            "failed_task": info.get("failed_task") if isinstance(info, dict) else None,
            "calls": case_calls, "writes": writes, "seconds": seconds.get(case.cid, 0.0), "traceback": traceback, "problems": problems,
        })
    return before, verdicts


def run_group(emulator, tmp_path, name, cases):
    """One play of ``cases`` through a recorder of its own (so groups can run side by side)."""
    recorder = Recorder(emulator.moto_url).start()
    try:
        path = write_play(tmp_path / f"bad-{name}.yml", [case_block(case) for case in cases])
        began = time.monotonic()
        rc, stdout, stderr, tasks = run_playbook(emulator, tmp_path, path, name=f"vars-{name}",
                                                 extra_env={"AWS_ENDPOINT_URL": recorder.url})
        seconds = time.monotonic() - began
        before, verdicts = judge(cases, tasks, recorder.timed_calls())
    finally:
        recorder.stop()
    run_traceback = "Traceback" in stdout or "Traceback" in stderr
    return {"rc": rc, "before": before, "verdicts": verdicts, "run_traceback": run_traceback, "seconds": seconds,
            "stderr_tail": redact(stderr[-1500:], VALUES)}


def test_bad_inputs(emulator, tmp_path):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=EXISTING, SecretString=json.dumps({"A": EXISTING_VALUE}))
    sm.create_secret(Name=STAGED, SecretString=json.dumps({"A": EXISTING_VALUE}))
    pending_version = sm.put_secret_value(SecretId=STAGED, SecretString=json.dumps({"A": VALUE}), VersionStages=["AWSPENDING"])["VersionId"]
    modules = module_cases(pending_version)
    # Two plays side by side (2 cores), each through its own recorder: about the same work each.
    roles = role_cases()
    first = ("secret-", "info-", "lookup-", "role-iam-", "role-taskdef-")
    cases = modules + lookup_cases() + roles
    groups = {
        "play-1": [c for c in cases if c.cid.startswith(first)],
        "play-2": [c for c in cases if not c.cid.startswith(first)],
    }
    all_ids = [case.cid for group in groups.values() for case in group]
    assert len(all_ids) == len(set(all_ids)), "duplicate case ids"

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_group, emulator, tmp_path, name, cases) for name, cases in groups.items()}
        outcomes = {name: future.result() for name, future in futures.items()}
    seconds = time.monotonic() - began

    verdicts = [v for outcome in outcomes.values() for v in outcome["verdicts"]]
    clear = [v for v in verdicts if not v["problems"]]
    with_writes = [v for v in verdicts if v["writes"]]
    with_traceback = [v for v in verdicts if v["traceback"]]
    zero_calls = [v for v in verdicts if not v["calls"]]
    print()
    print(f"bad inputs: {len(verdicts)} cases / {len(clear)} clear / {len(with_writes)} with writes / "
          f"{len(with_traceback)} with traceback / {len(zero_calls)} with zero API calls ({seconds:.0f} s)")
    for kind in ("secret-", "bulk-", "info-", "version-", "rotation-", "lookup-", "role-secrets-", "role-iam-", "role-taskdef-",
                 "role-trail-", "role-redeploy-", "role-vpce-"):
        group = [v for v in verdicts if v["cid"].startswith(kind)]
        print(f"  {kind.rstrip('-'):14} {len(group):3} cases, {sum(1 for v in group if not v['problems']):3} clear, "
              f"{sum(1 for v in group if v['writes'])} with writes, {sum(1 for v in group if v['traceback'])} with traceback, "
              f"{sum(1 for v in group if not v['calls'])} with zero calls")
    for name, outcome in outcomes.items():
        print(f"  play {name}: rc={outcome['rc']}, {outcome['seconds']:.0f} s, traceback in output: {outcome['run_traceback']}")
    unclear = [v for v in verdicts if v["problems"]]
    for v in unclear:
        print(f"  NOT CLEAR {v['cid']} ({v['what']}): {'; '.join(v['problems'])}\n"
              f"      failed task: {v['failed_task']}; message: {v['message'][:400]}")
    if os.environ.get("BAD_INPUTS_VERBOSE"):
        for v in verdicts:
            print(f"  {v['cid']} ({v['seconds']:.1f} s): {v['message'][:300]!r} calls={v['calls']}")

    for name, outcome in outcomes.items():
        assert outcome["before"] == [], f"{name}: API calls before the first case: {outcome['before']}"
        assert not outcome["run_traceback"], f"{name}: a Traceback in the run's output: {outcome['stderr_tail']}"
    assert len(verdicts) >= 45
    assert not unclear, "bad inputs not handled clearly: " + "; ".join(
        f"{v['cid']} ({v['what']}): {', '.join(v['problems'])} -- message: {v['message'][:200]}" for v in unclear)
