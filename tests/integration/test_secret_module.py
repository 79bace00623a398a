# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""secretsops.aws.secret against the moto server, through the recording proxy.

Every feature follows the amazon.aws rhythm: check-mode create (changed, nothing created, zero
write calls) -> create -> check-mode repeat (not changed) -> repeat (not changed, zero write
calls).  Values are test strings, but assertion messages never print them.
"""
import base64
import json

import pytest

pytestmark = pytest.mark.integration

MODULE = "secretsops.aws.secret"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
HIDDEN = "a secret value appeared in the output"


def task(label="secret", **args):
    return {"name": label, MODULE: args}


def describe(emulator, name):
    sm = emulator.client("secretsmanager")
    try:
        return sm.describe_secret(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        return None


def current_value(emulator, name, stage="AWSCURRENT"):
    response = emulator.client("secretsmanager").get_secret_value(SecretId=name, VersionStage=stage)
    return response.get("SecretString", response.get("SecretBinary"))


def secret_writes(emulator):
    return list(emulator.writes())


def run_one(run_play, emulator, args, check=False, diff=False):
    """Run one module task with a fresh recorder; returns (task result, write calls)."""
    emulator.recorder.reset()
    result = run_play([task(**args)], check=check, diff=diff)
    assert result.rc == 0 and len(result) == 1, result.summary()
    return result[0], secret_writes(emulator)


def four_steps(run_play, emulator, args):
    """check create -> create -> check repeat -> repeat.  Returns the created task result."""
    res, writes = run_one(run_play, emulator, args, check=True)
    assert res["changed"] is True, "check-mode create must report changed"
    assert writes == [], f"check mode made write calls: {writes}"
    assert describe(emulator, args["name"]) is None, "check mode created the secret"

    created, writes = run_one(run_play, emulator, args)
    assert created["changed"] is True
    assert "secretsmanager:CreateSecret" in writes
    assert describe(emulator, args["name"]) is not None

    res, writes = run_one(run_play, emulator, args, check=True)
    assert res["changed"] is False, f"check-mode repeat reports a change: {res.get('changes')}"
    assert writes == []

    res, writes = run_one(run_play, emulator, args)
    assert res["changed"] is False, f"repeat reports a change: {res.get('changes')}"
    assert writes == [], f"repeat made write calls: {writes}"
    return created


def assert_no_change(run_play, emulator, args, message="no change expected"):
    res, writes = run_one(run_play, emulator, args)
    assert res["changed"] is False, f"{message}: {res.get('changes')}"
    assert writes == [], f"{message}: write calls {writes}"
    return res


def assert_change(run_play, emulator, args, message="a change expected"):
    res, writes = run_one(run_play, emulator, args)
    assert res["changed"] is True, message
    assert writes, message
    return res, writes


# =====================================================================================
# the 4-step pattern per feature
# =====================================================================================
def test_string_value(run_play, emulator):
    created = four_steps(run_play, emulator, {"name": "prod/shop/app", "secret_string": VALUE})
    assert current_value(emulator, "prod/shop/app") == VALUE, "stored value differs"
    assert created["secret"]["name"] == "prod/shop/app"
    assert created["secret"]["version_id"]
    assert VALUE not in json.dumps(created), HIDDEN
    # update
    res, writes = assert_change(run_play, emulator, {"name": "prod/shop/app", "secret_string": VALUE2})
    assert writes == ["secretsmanager:PutSecretValue"]
    assert res["changes"] == ["value"]
    assert current_value(emulator, "prod/shop/app") == VALUE2, "value not updated"


def test_json_value(run_play, emulator):
    data = {"DATABASE_URL": VALUE, "POOL": 5, "SSL": True, "NESTED": {"a": [1, 2]}}
    four_steps(run_play, emulator, {"name": "prod/shop/database", "json_secret": data})
    assert json.loads(current_value(emulator, "prod/shop/database")) == data, "stored JSON differs"


def test_binary_value(run_play, emulator):
    raw = b"\x00\x01\xfe\xfftest-value-1"
    four_steps(run_play, emulator, {"name": "prod/shop/cert", "secret_binary": base64.b64encode(raw).decode()})
    assert current_value(emulator, "prod/shop/cert") == raw, "stored binary differs"


def test_description(run_play, emulator):
    name = "prod/shop/desc"
    four_steps(run_play, emulator, {"name": name, "secret_string": VALUE, "description": "first"})
    assert describe(emulator, name)["Description"] == "first"
    # omitted = untouched
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE}, "omitted description")
    assert describe(emulator, name)["Description"] == "first"
    # change
    res, writes = assert_change(run_play, emulator, {"name": name, "description": "second"})
    assert writes == ["secretsmanager:UpdateSecret"]
    assert describe(emulator, name)["Description"] == "second"
    # "" clears: UpdateSecret(Description="").  moto keeps the old description on an empty one
    # (`description or secret.description`), so only the call can be checked here.
    res, writes = assert_change(run_play, emulator, {"name": name, "description": ""})
    assert writes == ["secretsmanager:UpdateSecret"] and res["changes"] == ["metadata"]
    # a secret without a description already satisfies description ""
    emulator.client("secretsmanager").create_secret(Name="prod/shop/nodesc", SecretString=VALUE)
    assert_no_change(run_play, emulator, {"name": "prod/shop/nodesc", "description": ""}, "no description vs ''")


def test_tags(run_play, emulator):
    name = "prod/shop/tags"
    tags = {"Environment": "prod", "Application": "shop"}
    created = four_steps(run_play, emulator, {"name": name, "secret_string": VALUE, "tags": tags})
    assert created["secret"]["tags"] == tags
    sm = emulator.client("secretsmanager")
    # moto (unlike AWS) lets us set an aws:* tag directly: the module must never remove it
    sm.tag_resource(SecretId=name, Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "stack"},
                                         {"Key": "Extra", "Value": "x"}])
    # omitted tags = untouched
    assert_no_change(run_play, emulator, {"name": name}, "omitted tags")
    # purge_tags=false keeps Extra
    assert_no_change(run_play, emulator, {"name": name, "tags": tags, "purge_tags": False}, "purge_tags=false")
    # purge removes Extra, keeps aws:*
    res, writes = assert_change(run_play, emulator, {"name": name, "tags": dict(tags, Owner="team")})
    assert sorted(writes) == ["secretsmanager:TagResource", "secretsmanager:UntagResource"]
    current = {t["Key"]: t["Value"] for t in describe(emulator, name)["Tags"]}
    assert current == dict(tags, Owner="team", **{"aws:cloudformation:stack-name": "stack"})
    assert res["secret"]["tags"] == current
    # tags: {} removes all but aws:*
    assert_change(run_play, emulator, {"name": name, "tags": {}})
    current = {t["Key"]: t["Value"] for t in describe(emulator, name).get("Tags", [])}
    assert current == {"aws:cloudformation:stack-name": "stack"}
    assert_no_change(run_play, emulator, {"name": name, "tags": {}}, "tags {} repeated")


POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "TaskRole",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/shop-task"},
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": "*",
    }],
}
POLICY_REORDERED_TEXT = json.dumps({
    "Statement": [{
        "Resource": "*",
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/shop-task"},
        "Effect": "Allow",
        "Sid": "TaskRole",
    }],
    "Version": "2012-10-17",
}, indent=3)


def test_resource_policy(run_play, emulator):
    name = "prod/shop/policy"
    four_steps(run_play, emulator, {"name": name, "secret_string": VALUE, "resource_policy": POLICY})
    sm = emulator.client("secretsmanager")
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == POLICY
    assert_no_change(run_play, emulator, {"name": name, "resource_policy": POLICY_REORDERED_TEXT}, "reordered policy")
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE}, "omitted policy")
    assert sm.get_resource_policy(SecretId=name).get("ResourcePolicy"), "omitted policy removed the policy"
    res, writes = assert_change(run_play, emulator, {"name": name, "resource_policy": {}})
    assert writes == ["secretsmanager:DeleteResourcePolicy"]
    assert not sm.get_resource_policy(SecretId=name).get("ResourcePolicy")
    assert_no_change(run_play, emulator, {"name": name, "resource_policy": {}}, "{} policy repeated")


def test_kms_key_alias_vs_key_id(run_play, emulator):
    kms = emulator.client("kms")
    key_id = kms.create_key(Description="shop")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/shop", TargetKeyId=key_id)
    other = kms.create_key(Description="other")["KeyMetadata"]["KeyId"]
    name = "prod/shop/kms"
    four_steps(run_play, emulator, {"name": name, "secret_string": VALUE, "kms_key_id": "alias/shop"})
    assert_no_change(run_play, emulator, {"name": name, "kms_key_id": key_id}, "key id of the aliased key")
    assert_no_change(run_play, emulator, {"name": name, "kms_key_id": "alias/shop"}, "alias repeated")
    res, writes = assert_change(run_play, emulator, {"name": name, "kms_key_id": other})
    assert writes == ["secretsmanager:UpdateSecret"]
    assert_no_change(run_play, emulator, {"name": name, "kms_key_id": other}, "new key repeated")


def test_generate_never_regenerates(run_play, emulator):
    name = "prod/shop/jwt"
    args = {"name": name, "json_secret": {"ISSUER": "shop"}, "generate": ["JWT_SECRET", "REFRESH_SECRET"]}
    four_steps(run_play, emulator, args)
    first = json.loads(current_value(emulator, name))
    assert set(first) == {"ISSUER", "JWT_SECRET", "REFRESH_SECRET"}
    assert len(base64.b64decode(first["JWT_SECRET"])) == 48
    assert first["JWT_SECRET"] != first["REFRESH_SECRET"]
    # generate-only run and a run changing another key: generated keys keep their values
    assert_no_change(run_play, emulator, {"name": name, "generate": ["JWT_SECRET"]}, "generate only")
    assert_change(run_play, emulator, dict(args, json_secret={"ISSUER": "shop2"}))
    second = json.loads(current_value(emulator, name))
    assert second["ISSUER"] == "shop2"
    assert second["JWT_SECRET"] == first["JWT_SECRET"] and second["REFRESH_SECRET"] == first["REFRESH_SECRET"], \
        "a generated key was regenerated"
    # a new key to generate: only that one is added
    assert_change(run_play, emulator, {"name": name, "generate": ["NEW_KEY"]})
    third = json.loads(current_value(emulator, name))
    assert third["JWT_SECRET"] == first["JWT_SECRET"] and "NEW_KEY" in third


def test_generate_with_plain_string_rejected(run_play, emulator):
    result = run_play([{"name": "gen", MODULE: {"name": "prod/shop/x", "secret_string": VALUE, "generate": ["K"]}}])
    assert result.rc != 0
    assert "generate" in result[0]["msg"]
    assert emulator.calls() == []


def test_overwrite_false(run_play, emulator):
    name = "prod/shop/sentry"
    four_steps(run_play, emulator, {"name": name, "secret_string": VALUE, "overwrite": False})
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE2, "overwrite": False}, "overwrite=false")
    assert current_value(emulator, name) == VALUE, "overwrite=false changed the value"


# =====================================================================================
# regressions
# =====================================================================================
def test_json_reordered_and_respaced_is_no_change(run_play, emulator):
    name = "prod/shop/order"
    emulator.client("secretsmanager").create_secret(Name=name, SecretString='{"b":{"y":2,"x":1},"a":[1,2],"c":"v"}')
    for given in ({"secret_string": '{ "c" : "v",\n "a": [1, 2], "b": {"x": 1, "y": 2} }'},
                  {"json_secret": {"a": [1, 2], "c": "v", "b": {"x": 1, "y": 2}}}):
        assert_no_change(run_play, emulator, dict(name=name, **given), "JSON reordered/respaced")


def test_secret_without_awscurrent_gets_value(run_play, emulator):
    name = "prod/shop/empty"
    emulator.client("secretsmanager").create_secret(Name=name)
    res, writes = run_one(run_play, emulator, {"name": name, "secret_string": VALUE}, check=True)
    assert res["changed"] is True and writes == []
    res, writes = assert_change(run_play, emulator, {"name": name, "secret_string": VALUE})
    assert writes == ["secretsmanager:PutSecretValue"]
    assert current_value(emulator, name) == VALUE, "value not set"
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE}, "value set, repeated")


def test_restore_scheduled_secret(run_play, emulator):
    name = "prod/shop/restore"
    sm = emulator.client("secretsmanager")
    arn = sm.create_secret(Name=name, SecretString=VALUE)["ARN"]
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    res, writes = assert_change(run_play, emulator, {"name": name, "secret_string": VALUE, "description": "back"})
    assert "secretsmanager:RestoreSecret" in writes
    assert "restored" in res["changes"]
    described = describe(emulator, name)
    assert described["ARN"] == arn, "restore must keep the ARN"
    assert not described.get("DeletedDate")
    assert described["Description"] == "back"
    assert current_value(emulator, name) == VALUE
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE, "description": "back"}, "restored")


def test_restore_scheduled_secret_check_mode(run_play, emulator):
    name = "prod/shop/restore"
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=VALUE)
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    emulator.recorder.reset()
    result = run_play([task(name=name, secret_string=VALUE)], check=True)
    assert result.rc == 0, result.summary()
    assert result[0]["changed"] is True
    assert emulator.writes() == []


def test_restore_scheduled_secret_check_mode_metadata_only(run_play, emulator):
    name = "prod/shop/restore"
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=VALUE)
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    res, writes = run_one(run_play, emulator, {"name": name, "description": "d"}, check=True)
    assert res["changed"] is True and "restored" in res["changes"]
    assert writes == []
    assert describe(emulator, name).get("DeletedDate"), "check mode restored the secret"


def test_absent_twice(run_play, emulator):
    name = "prod/shop/gone"
    emulator.client("secretsmanager").create_secret(Name=name, SecretString=VALUE)
    res, writes = run_one(run_play, emulator, {"name": name, "state": "absent"}, check=True)
    assert res["changed"] is True and writes == []
    res, writes = assert_change(run_play, emulator, {"name": name, "state": "absent", "recovery_window": 7})
    assert writes == ["secretsmanager:DeleteSecret"]
    assert describe(emulator, name).get("DeletedDate")
    res, writes = run_one(run_play, emulator, {"name": name, "state": "absent", "recovery_window": 7})
    assert res["changed"] is False and writes == []
    # absent on a secret that never existed
    res, writes = run_one(run_play, emulator, {"name": "prod/shop/never", "state": "absent"})
    assert res["changed"] is False and writes == []


def test_recovery_window_zero_on_scheduled_secret_force_deletes(run_play, emulator):
    name = "prod/shop/force"
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=VALUE)
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    res, writes = assert_change(run_play, emulator, {"name": name, "state": "absent", "recovery_window": 0})
    assert writes == ["secretsmanager:DeleteSecret"]
    assert describe(emulator, name) is None, "secret still exists after force delete"
    assert_no_change(run_play, emulator, {"name": name, "state": "absent", "recovery_window": 0}, "force delete twice")


INVALID = [
    ("bad name chars", {"name": "prod/shop/bad name!", "secret_string": VALUE}, "name"),
    ("513-char name", {"name": "x" * 513, "secret_string": VALUE}, "name"),
    ("65537-byte value", {"name": "prod/shop/big", "secret_string": "x" * 65537}, "secret_string"),
    ("bad base64", {"name": "prod/shop/bin", "secret_binary": "not base64!"}, "secret_binary"),
    ("recovery window 3", {"name": "prod/shop/rw", "state": "absent", "recovery_window": 3}, "recovery_window"),
    ("two value options", {"name": "prod/shop/two", "secret_string": VALUE, "json_secret": {"a": "b"}}, "json_secret"),
    ("bad policy JSON", {"name": "prod/shop/pol", "resource_policy": "{not json"}, "resource_policy"),
]


def test_invalid_input_fails_before_any_call(run_play, emulator):
    tasks = [dict(task(label, **args), ignore_errors=True) for label, args, _option in INVALID]
    result = run_play(tasks)
    assert len(result) == len(INVALID), result.summary()
    for (label, _args, option), res in zip(INVALID, result.tasks):
        assert res.get("failed") is True, f"{label}: did not fail"
        assert option in res["msg"], f"{label}: message does not name {option}: {res['msg'][:300]}"
        assert VALUE not in res["msg"], HIDDEN
    assert emulator.recorder.calls() == [], f"API calls made for invalid input: {emulator.recorder.calls()}"


def test_diff_mode_shows_keys_never_values(run_play, emulator):
    name = "prod/shop/diff"
    emulator.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"KEEP": VALUE, "CHANGE": VALUE, "REMOVE": VALUE}))
    tasks = [
        task("update json", **{
            "name": name, "json_secret": {"KEEP": VALUE, "CHANGE": VALUE2, "ADD": VALUE2},
            "generate": ["GENERATED"], "description": "new", "tags": {"Environment": "prod"},
        }),
    ]
    result = run_play(tasks, check=True, diff=True)
    assert result.rc == 0, result.summary()
    diff = result[0]["diff"]
    assert set(diff["before"]["value"]) == {"KEEP", "CHANGE", "REMOVE"}
    assert set(diff["after"]["value"]) == {"KEEP", "CHANGE", "ADD", "GENERATED"}
    assert diff["after"]["value"]["CHANGE"] != diff["after"]["value"]["KEEP"], "changed key not marked"
    assert diff["after"]["description"] == "new"
    for text in (result.stdout, result.stderr):
        assert VALUE not in text and VALUE2 not in text, HIDDEN
    # for real: the generated value must not appear in the output either (Ansible's no_log
    # masking cannot know it)
    result = run_play(tasks, diff=True)
    assert result.rc == 0 and result[0]["changed"], result.summary()
    generated = json.loads(current_value(emulator, name))["GENERATED"]
    for text in (result.stdout, result.stderr):
        assert generated not in text and VALUE2 not in text, HIDDEN


def test_revert_to_earlier_value_makes_new_current(run_play, emulator):
    name = "prod/shop/revert"
    run_one(run_play, emulator, {"name": name, "secret_string": VALUE})
    first = describe(emulator, name)
    assert_change(run_play, emulator, {"name": name, "secret_string": VALUE2})
    res, writes = assert_change(run_play, emulator, {"name": name, "secret_string": VALUE}, "revert")
    assert writes == ["secretsmanager:PutSecretValue"]
    assert current_value(emulator, name) == VALUE, "revert did not make the old value current"
    assert current_value(emulator, name, "AWSPREVIOUS") == VALUE2, "AWSPREVIOUS is not the replaced value"
    described = describe(emulator, name)
    current_id = [v for v, stages in described["VersionIdsToStages"].items() if "AWSCURRENT" in stages][0]
    assert current_id not in first["VersionIdsToStages"], "revert reused the first version id"
    assert res["secret"]["version_id"] == current_id
    assert_no_change(run_play, emulator, {"name": name, "secret_string": VALUE}, "reverted value repeated")


def test_replicas_order_independent(run_play, emulator):
    name = "prod/shop/replicated"
    regions = ["eu-west-1", "us-west-2", "ap-southeast-1"]
    args = {"name": name, "secret_string": VALUE, "replica": [{"region": r} for r in regions]}
    four_steps(run_play, emulator, args)
    assert sorted(s["Region"] for s in describe(emulator, name)["ReplicationStatus"]) == sorted(regions)
    reordered = dict(args, replica=[{"region": r} for r in reversed(regions)])
    assert_no_change(run_play, emulator, reordered, "replicas reordered")
    # remove one
    res, writes = assert_change(run_play, emulator, dict(args, replica=[{"region": r} for r in regions[:2]]))
    assert writes == ["secretsmanager:RemoveRegionsFromReplication"]
    assert sorted(s["Region"] for s in describe(emulator, name)["ReplicationStatus"]) == sorted(regions[:2])
    # add it back
    res, writes = assert_change(run_play, emulator, reordered)
    assert writes == ["secretsmanager:ReplicateSecretToRegions"]
    # absent removes replicas before deleting the primary
    res, writes = assert_change(run_play, emulator, {"name": name, "state": "absent", "recovery_window": 0})
    assert writes == ["secretsmanager:RemoveRegionsFromReplication", "secretsmanager:DeleteSecret"]
