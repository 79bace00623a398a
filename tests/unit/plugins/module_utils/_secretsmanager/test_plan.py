# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/plan.py``: (current, desired) -> Plan, with dicts for what
AWS would have answered and ``SecretValue`` objects for values (no AWS).

Test values such as ``test-value-1`` are not real secrets, but assertion messages still never
print them: value checks use ``assert VALUE not in text, NOT_SHOWN``.
"""
import base64
import json
import uuid

import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import ROLLED_BACK_LABEL
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import Plan
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import check_required_keys
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import key_report
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import plan_absent
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import plan_present
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import policy_changed
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import replaced_version_key
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import replica_plan
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import tags_plan
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import target_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import CHANGED_MASK
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import MASK
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import request_token

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
NOT_SHOWN = "a secret value leaked into the output"
MARK = ROLLED_BACK_LABEL


def fixed_bytes(n):
    return b"\x01" * n


def text(raw):
    return SecretValue.from_text(raw)


def jtext(data):
    return SecretValue.from_text(json.dumps(data))


def desired(**params):
    params.setdefault("name", "prod/shop/database")
    return build_desired(params)


def staged(**params):
    params.setdefault("version_stages", ["AWSPENDING"])
    return desired(**params)


def current(**extra):
    """A DescribeSecret response."""
    out = {"ARN": ARN, "Name": "prod/shop/database", "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}
    out.update(extra)
    return out


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def status(*regions, kms=None):
    return [dict({"Region": r, "Status": "InSync"}, **({"KmsKeyId": kms} if kms else {})) for r in regions]


def ops(plan):
    return [operation for operation, _kwargs in plan.steps]


def step(plan, operation):
    matches = [kwargs for op, kwargs in plan.steps if op == operation]
    assert len(matches) == 1, f"expected exactly one {operation} step, got {ops(plan)}"
    return matches[0]


def written(plan):
    """The JSON data a plan's put_secret_value or create_secret writes."""
    kwargs = plan.steps[0][1]
    return json.loads(kwargs["SecretString"])


# -- Plan -------------------------------------------------------------------------------------------
def test_plan_records_steps_and_names_changes_once():
    plan = Plan()
    assert not plan.changed and plan.diff() == {"before": {}, "after": {}}
    plan.add("tags", "untag_resource", SecretId=ARN, TagKeys=["a"])
    plan.add("tags", "tag_resource", SecretId=ARN, Tags=[])
    assert plan.changed and plan.changes == ["tags"]
    assert ops(plan) == ["untag_resource", "tag_resource"]


def test_mark_restored_puts_restored_first():
    plan = Plan()
    plan.add("value", "put_secret_value", SecretId=ARN)
    plan.mark_restored()
    assert plan.changes == ["restored", "value"]
    assert plan.before["deleted"] is True and plan.after["deleted"] is False


# -- target_value: generate, overwrite ----------------------------------------------------------------
def test_no_value_and_no_generate_means_untouched():
    assert target_value(desired(), text(VALUE), exists=True) is None
    assert not plan_present(current(), desired(), text(VALUE)).changed


def test_value_given_is_returned_as_given():
    d = desired(secret_string='{ "a": 1 }')
    assert target_value(d, None, exists=False) is d["value"]


def test_generate_fills_only_absent_keys_on_create():
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD", "USER"])
    data = target_value(d, None, exists=False, randbytes=fixed_bytes).json
    assert data["USER"] == "app"
    assert base64.b64decode(data["PASSWORD"]) == b"\x01" * 48


def test_generate_never_regenerates_existing_key():
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD"])
    existing = jtext({"USER": "app", "PASSWORD": VALUE})
    assert target_value(d, existing, exists=True, randbytes=fixed_bytes).json == {"USER": "app", "PASSWORD": VALUE}
    plan = plan_present(current(), d, existing, randbytes=fixed_bytes)
    assert not plan.changed, ops(plan)


def test_generate_only_keeps_existing_and_adds_missing():
    d = desired(generate=["A", "B"])
    data = target_value(d, jtext({"A": VALUE, "OTHER": "x"}), exists=True, randbytes=fixed_bytes).json
    assert data["A"] == VALUE and data["OTHER"] == "x"
    assert base64.b64decode(data["B"]) == b"\x01" * 48


def test_generate_bytes_is_used():
    d = desired(generate=["A"], generate_bytes=16)
    assert len(base64.b64decode(target_value(d, None, exists=False).json["A"])) == 16


def test_generate_only_no_change_when_all_keys_present():
    existing = jtext({"A": VALUE})
    assert target_value(desired(generate=["A"]), existing, exists=True) is existing
    assert not plan_present(current(), desired(generate=["A"]), existing, randbytes=fixed_bytes).changed


def test_generate_only_on_plain_text_secret_fails():
    with pytest.raises(InvalidOption) as info:
        target_value(desired(generate=["A"]), text(VALUE), exists=True)
    assert info.value.option == "generate"
    assert VALUE not in str(info.value), NOT_SHOWN


def test_regenerate_always_changes():
    d = desired(regenerate=["JWT"])
    existing = jtext({"JWT": VALUE, "ISSUER": "shop"})
    data = target_value(d, existing, exists=True, randbytes=fixed_bytes).json
    assert data["ISSUER"] == "shop" and base64.b64decode(data["JWT"]) == b"\x01" * 48
    assert ops(plan_present(current(), d, existing)) == ["put_secret_value"]


def test_regenerate_on_unreadable_value_with_overwrite_false_fails():
    with pytest.raises(InvalidOption) as info:
        target_value(desired(regenerate=["A"], overwrite=False), text(VALUE), exists=True)
    assert info.value.option == "regenerate"


def test_overwrite_false_keeps_existing_value():
    d = desired(secret_string=VALUE2, overwrite=False)
    assert target_value(d, text(VALUE), exists=True) is None
    assert not plan_present(current(), d, text(VALUE)).changed


def test_overwrite_false_json_keeps_existing_json():
    d = desired(json_secret={"A": VALUE2, "B": "new"}, overwrite=False)
    existing = jtext({"A": VALUE})
    assert target_value(d, existing, exists=True) is existing
    assert not plan_present(current(), d, existing).changed


def test_overwrite_false_still_creates():
    plan = plan_present(None, desired(secret_string=VALUE, overwrite=False))
    assert step(plan, "create_secret")["SecretString"] == VALUE


def test_overwrite_false_sets_value_when_no_current_version():
    plan = plan_present(current(VersionIdsToStages={}), desired(secret_string=VALUE, overwrite=False), None)
    assert step(plan, "put_secret_value")["SecretString"] == VALUE


def test_overwrite_false_still_generates_missing_keys():
    d = desired(json_secret={"USER": "other"}, generate=["PASSWORD"], overwrite=False)
    data = target_value(d, jtext({"USER": "app"}), exists=True, randbytes=fixed_bytes).json
    assert data["USER"] == "app"  # not overwritten
    assert "PASSWORD" in data


def test_overwrite_false_generate_on_plain_text_is_untouched():
    assert target_value(desired(generate=["A"], overwrite=False), text(VALUE), exists=True) is None


def test_overwrite_false_on_unknown_value_is_untouched():
    assert target_value(desired(secret_string=VALUE, overwrite=False), UNKNOWN, exists=True) is None


def test_unknown_current_value_writes_desired():
    plan = plan_present(current(DeletedDate="2024-01-01"), desired(secret_string=VALUE), UNKNOWN)
    assert ops(plan) == ["restore_secret", "put_secret_value"]


def test_generate_on_unknown_value_builds_on_nothing():
    d = desired(generate=["A"])
    assert set(target_value(d, UNKNOWN, exists=True, randbytes=fixed_bytes).json) == {"A"}


def test_value_too_big_after_generate():
    d = desired(json_secret={"k": "x" * 65000}, generate=["A"], generate_bytes=4096)
    with pytest.raises(InvalidOption) as info:
        target_value(d, None, exists=False)
    assert info.value.option == "json_secret"


# -- purge_keys ---------------------------------------------------------------------------------------
def test_purge_keys_true_makes_the_value_exactly_json_secret():
    d = desired(json_secret={"A": "new"})
    assert target_value(d, jtext({"A": "old", "C": "c"}), exists=True).json == {"A": "new"}


def test_purge_keys_false_keeps_current_keys():
    d = desired(json_secret={"A": "new", "B": "b"}, purge_keys=False)
    data = target_value(d, jtext({"A": "old", "C": "c"}), exists=True).json
    assert data == {"A": "new", "B": "b", "C": "c"}


def test_purge_keys_false_with_overwrite_false_only_adds_missing_keys():
    d = desired(json_secret={"A": "new", "B": "b"}, purge_keys=False, overwrite=False)
    data = target_value(d, jtext({"A": "old", "C": "c"}), exists=True).json
    assert data == {"A": "old", "B": "b", "C": "c"}


def test_purge_keys_false_no_change_when_given_keys_already_match():
    d = desired(json_secret={"A": "a"}, purge_keys=False)
    existing = jtext({"A": "a", "SECRET": VALUE})
    assert target_value(d, existing, exists=True) is existing
    assert not plan_present(current(), d, existing).changed


def test_purge_keys_false_with_overwrite_false_no_change_when_no_key_missing():
    d = desired(json_secret={"A": "other"}, purge_keys=False, overwrite=False)
    assert not plan_present(current(), d, jtext({"A": "a", "B": "b"})).changed


def test_purge_keys_false_on_create_writes_json_secret():
    d = desired(json_secret={"A": "a"}, purge_keys=False)
    assert written(plan_present(None, d)) == {"A": "a"}


def test_purge_keys_false_with_generate():
    d = desired(json_secret={"A": "a"}, generate=["P"], purge_keys=False)
    data = target_value(d, jtext({"P": VALUE, "C": "c"}), exists=True).json
    assert data == {"A": "a", "P": VALUE, "C": "c"}


def test_purge_keys_false_diff_shows_kept_and_added_keys():
    d = desired(json_secret={"B": "b"}, purge_keys=False)
    plan = plan_present(current(), d, jtext({"A": VALUE}))
    assert plan.diff()["before"]["value"] == {"A": MASK}
    assert plan.diff()["after"]["value"] == {"A": MASK, "B": MASK}


@pytest.mark.parametrize("params", [{"secret_string": VALUE}, {"secret_binary": "dGVzdA=="}])
def test_purge_keys_false_overwrite_false_with_a_plain_value_is_untouched(params):
    d = desired(purge_keys=False, overwrite=False, **params)
    existing = jtext({"A": "a"})
    assert not plan_present(current(), d, existing).changed


# -- required_keys --------------------------------------------------------------------------------------
def test_required_keys_missing_on_create_names_the_keys():
    with pytest.raises(InvalidOption) as info:
        plan_present(None, desired(json_secret={"A": VALUE}, required_keys=["A", "B", "C"]))
    assert info.value.option == "required_keys"
    assert "B, C" in str(info.value) and "prod/shop/database" in str(info.value)
    assert VALUE not in str(info.value), NOT_SHOWN


def test_required_keys_missing_after_update():
    with pytest.raises(InvalidOption) as info:
        plan_present(current(), desired(json_secret={"A": "a"}, required_keys=["B"]), jtext({"B": VALUE}))
    assert "would lack B" in str(info.value)


@pytest.mark.parametrize("params, existing", [
    ({"json_secret": {"A": "a", "B": "b"}}, None),                      # given
    ({"json_secret": {"A": "a"}, "generate": ["B"]}, None),             # generated
    ({"generate": ["B"]}, {"A": VALUE}),                                # present + generated
    ({"json_secret": {"A": "a"}, "purge_keys": False}, {"B": VALUE}),   # kept by purge_keys=false
    ({"json_secret": {"A": "x"}, "overwrite": False}, {"A": "a", "B": "b"}),  # untouched value
    ({}, {"A": "a", "B": "b"}),                                         # no value given: the current one
])
def test_required_keys_satisfied(params, existing):
    d = desired(required_keys=["A", "B"], **params)
    if existing is None:
        plan_present(None, d)
    plan_present(current(), d, None if existing is None else jtext(existing))


def test_required_keys_on_a_new_secret_without_value_fail():
    with pytest.raises(InvalidOption):
        plan_present(None, desired(required_keys=["A"]))


def test_required_keys_unknown_value_is_not_judged():
    # check mode on a secret scheduled for deletion: unreadable until restored
    check_required_keys(desired(required_keys=["A"]), None, UNKNOWN)


def test_required_keys_on_plain_text_value_fail():
    with pytest.raises(InvalidOption):
        check_required_keys(desired(required_keys=["A"]), None, text(VALUE))


# -- plan_present: JSON as data, create, tokens ------------------------------------------------------------
@pytest.mark.parametrize("stored", [
    '{"a":1,"b":{"c":[1,2]}}',
    '{"b": {"c": [1, 2]}, "a": 1}',
    '{\n  "b" : {"c":[1,2]},\n  "a":1\n}',
])
@pytest.mark.parametrize("option, given", [
    ("json_secret", {"a": 1, "b": {"c": [1, 2]}}),
    ("secret_string", '{"b":{"c":[1,2]},"a":1}'),
])
def test_json_compared_as_data(stored, option, given):
    plan = plan_present(current(), desired(**{option: given}), text(stored))
    assert plan.steps == []
    assert not plan.changed


def test_json_value_change_detected():
    plan = plan_present(current(), desired(json_secret={"a": 2}), text('{"a": 1}'))
    assert ops(plan) == ["put_secret_value"]


def test_string_vs_binary_is_a_change():
    plan = plan_present(current(), desired(secret_binary=base64.b64encode(VALUE.encode()).decode()), text(VALUE))
    assert step(plan, "put_secret_value")["SecretBinary"] == VALUE.encode()


def test_create_plan():
    d = desired(json_secret={"a": VALUE}, description="db", kms_key_id="alias/k", tags={"Environment": "prod"},
                resource_policy={"Version": "2012-10-17", "Statement": []}, block_public_policy=True)
    plan = plan_present(None, d)
    assert ops(plan) == ["create_secret", "put_resource_policy"]
    kwargs = step(plan, "create_secret")
    assert kwargs["Name"] == "prod/shop/database"
    assert kwargs["Description"] == "db" and kwargs["KmsKeyId"] == "alias/k"
    assert kwargs["Tags"] == [{"Key": "Environment", "Value": "prod"}]
    assert json.loads(kwargs["SecretString"]) == {"a": VALUE}
    assert uuid.UUID(kwargs["ClientRequestToken"]).version == 4
    assert step(plan, "put_resource_policy")["SecretId"] == "prod/shop/database"
    assert step(plan, "put_resource_policy")["BlockPublicPolicy"] is True
    assert plan.changes == ["created", "resource_policy"]
    assert plan.after["value"] == {"a": MASK}


def test_create_token_is_random():
    """Nothing is replaced, so nothing keys the token: a creation race resolves through
    ResourceExistsException, not through a shared token."""
    d = desired(secret_string=VALUE)
    tokens = {step(plan_present(None, d), "create_secret")["ClientRequestToken"] for dummy in range(3)}
    assert len(tokens) == 3


def test_create_binary_plan():
    plan = plan_present(None, desired(secret_binary=base64.b64encode(b"\x00\x01").decode()))
    kwargs = step(plan, "create_secret")
    assert kwargs["SecretBinary"] == b"\x00\x01" and "SecretString" not in kwargs


def test_create_by_arn_rejected():
    with pytest.raises(InvalidOption) as info:
        plan_present(None, desired(name=ARN, secret_string=VALUE))
    assert info.value.option == "name"


def test_create_without_value():
    kwargs = step(plan_present(None, desired()), "create_secret")
    assert kwargs == {"Name": "prod/shop/database"}


def test_create_keeps_the_users_formatting():
    plan = plan_present(None, desired(secret_string='{ "a" : 1 }'))
    assert step(plan, "create_secret")["SecretString"] == '{ "a" : 1 }'


def test_missing_awscurrent_gets_value_with_a_random_token():
    cur = current(VersionIdsToStages={})
    tokens = {step(plan_present(cur, desired(secret_string=VALUE), None), "put_secret_value")["ClientRequestToken"]
              for dummy in range(2)}
    assert len(tokens) == 2


def test_put_uses_token_of_replaced_version_and_value():
    plan = plan_present(current(VersionIdsToStages={"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}),
                        desired(secret_string=VALUE2), text(VALUE))
    assert step(plan, "put_secret_value")["ClientRequestToken"] == request_token(ARN, "v2", text(VALUE), text(VALUE2))


def test_put_token_is_stable_across_runs():
    d = desired(json_secret={"a": VALUE})
    first = step(plan_present(current(), d, text(VALUE2)), "put_secret_value")["ClientRequestToken"]
    again = step(plan_present(current(), d, text(VALUE2)), "put_secret_value")["ClientRequestToken"]
    assert first == again


def test_revert_to_earlier_value_gets_new_token():
    create = request_token("prod/shop/database", None, None, text(VALUE))
    second = request_token(ARN, create, text(VALUE), text(VALUE2))
    back = request_token(ARN, second, text(VALUE2), text(VALUE))
    plan = plan_present(current(VersionIdsToStages={create: ["AWSPREVIOUS"], second: ["AWSCURRENT"]}),
                        desired(secret_string=VALUE), text(VALUE2))
    assert step(plan, "put_secret_value")["ClientRequestToken"] == back
    assert back not in (create, second)


# -- metadata ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("current_desc, given, expected_update", [
    ("old", "", ""),        # "" clears
    ("old", None, None),    # omitted: untouched
    ("old", "old", None),
    (None, "new", "new"),
    (None, "", None),       # no description == ""
])
def test_description(current_desc, given, expected_update):
    extra = {} if current_desc is None else {"Description": current_desc}
    plan = plan_present(current(**extra), desired(description=given))
    if expected_update is None:
        assert not plan.changed
    else:
        assert step(plan, "update_secret") == {"SecretId": ARN, "Description": expected_update}
        assert plan.after["description"] == expected_update


def test_kms_alias_equal_to_current_key_is_no_change():
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234"
    same = {("alias/app", key_arn), (key_arn, "alias/app")}
    plan = plan_present(current(KmsKeyId=key_arn), desired(kms_key_id="alias/app"), kms_equal=lambda a, b: a == b or (a, b) in same)
    assert not plan.changed


def test_kms_change():
    plan = plan_present(current(KmsKeyId="key-1"), desired(kms_key_id="key-2"))
    assert step(plan, "update_secret") == {"SecretId": ARN, "KmsKeyId": "key-2"}
    assert plan.before["kms_key_id"] == "key-1" and plan.after["kms_key_id"] == "key-2"


def test_kms_default_key_compared_as_alias():
    assert not plan_present(current(), desired(kms_key_id="alias/aws/secretsmanager")).changed


def test_description_and_kms_in_one_update():
    plan = plan_present(current(KmsKeyId="key-1"), desired(kms_key_id="key-2", description="d"))
    assert step(plan, "update_secret") == {"SecretId": ARN, "KmsKeyId": "key-2", "Description": "d"}


def test_step_order_value_metadata_tags_policy_replica():
    cur = current(Description="old", Tags=tag_list({"Old": "x"}), ReplicationStatus=status("eu-west-1"))
    d = desired(secret_string=VALUE, description="new", tags={"New": "1"}, resource_policy={"Version": "2012-10-17"},
                replica=[{"region": "us-west-2"}])
    plan = plan_present(cur, d, text(VALUE2), current_policy=None)
    assert ops(plan) == ["put_secret_value", "update_secret", "untag_resource", "tag_resource", "put_resource_policy",
                         "remove_regions_from_replication", "replicate_secret_to_regions"]
    assert plan.changes == ["value", "metadata", "tags", "resource_policy", "replica"]


# -- tags ---------------------------------------------------------------------------------------------
def test_tags_omitted_untouched():
    assert not plan_present(current(Tags=tag_list({"a": "1"})), desired()).changed


def test_tags_purge_keeps_aws_tags():
    cur = current(Tags=tag_list({"aws:cloudformation:stack-name": "s", "Old": "x", "Keep": "1"}))
    plan = plan_present(cur, desired(tags={"Keep": "1", "New": "2"}))
    assert step(plan, "untag_resource")["TagKeys"] == ["Old"]
    assert step(plan, "tag_resource")["Tags"] == [{"Key": "New", "Value": "2"}]
    assert plan.after["tags"] == {"aws:cloudformation:stack-name": "s", "Keep": "1", "New": "2"}


def test_tags_empty_dict_purges_all_but_aws():
    cur = current(Tags=tag_list({"aws:x": "s", "Old": "x"}))
    plan = plan_present(cur, desired(tags={}))
    assert ops(plan) == ["untag_resource"]
    assert step(plan, "untag_resource")["TagKeys"] == ["Old"]


def test_tags_no_purge():
    plan = plan_present(current(Tags=tag_list({"Old": "x"})), desired(tags={"New": "1"}, purge_tags=False))
    assert ops(plan) == ["tag_resource"]


def test_tags_equal_no_change():
    cur = current(Tags=tag_list({"aws:x": "s", "A": "1", "B": "2"}))
    assert not plan_present(cur, desired(tags={"B": "2", "A": "1"})).changed


def test_tag_value_change():
    assert ops(plan_present(current(Tags=tag_list({"A": "1"})), desired(tags={"A": "2"}))) == ["tag_resource"]


def test_tags_plan_none_is_untouched():
    assert tags_plan({"A": "1"}, None, True) == ({}, [])


# -- resource policy ------------------------------------------------------------------------------------
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/shop-task"},
        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        "Resource": "*",
    }],
}
POLICY_REORDERED = {
    "Statement": [{
        "Resource": "*",
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/shop-task"},
        "Effect": "Allow",
    }],
    "Version": "2012-10-17",
}


def test_policy_reordered_no_change():
    plan = plan_present(current(), desired(resource_policy=json.dumps(POLICY_REORDERED, indent=4)), current_policy=POLICY)
    assert not plan.changed


def test_policy_omitted_untouched():
    assert not plan_present(current(), desired(), current_policy=POLICY).changed


def test_policy_empty_removes():
    plan = plan_present(current(), desired(resource_policy="{}"), current_policy=POLICY)
    assert step(plan, "delete_resource_policy") == {"SecretId": ARN}
    assert plan.after["resource_policy"] == {}


def test_policy_empty_and_none_present_no_change():
    assert not plan_present(current(), desired(resource_policy={}), current_policy=None).changed


def test_policy_put_when_different():
    other = json.loads(json.dumps(POLICY))
    other["Statement"][0]["Effect"] = "Deny"
    plan = plan_present(current(), desired(resource_policy=other, block_public_policy=True), current_policy=POLICY)
    kwargs = step(plan, "put_resource_policy")
    assert json.loads(kwargs["ResourcePolicy"]) == other and kwargs["BlockPublicPolicy"] is True


def test_policy_put_when_none():
    plan = plan_present(current(), desired(resource_policy=POLICY), current_policy=None)
    assert ops(plan) == ["put_resource_policy"]
    assert "BlockPublicPolicy" not in step(plan, "put_resource_policy")


@pytest.mark.parametrize("current_policy, desired_policy, changed", [
    (POLICY, None, False), (None, {}, False), (POLICY, {}, True), (None, POLICY, True), (POLICY, POLICY_REORDERED, False),
])
def test_policy_changed(current_policy, desired_policy, changed):
    assert bool(policy_changed(current_policy, desired_policy)) is changed


# -- replicas ---------------------------------------------------------------------------------------------
def test_replicas_reordered_no_change():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2", "ap-southeast-1"))
    d = desired(replica=[{"region": "ap-southeast-1"}, {"region": "eu-west-1"}, {"region": "us-west-2"}])
    assert not plan_present(cur, d).changed


def test_replica_add():
    cur = current(ReplicationStatus=status("eu-west-1"))
    d = desired(replica=[{"region": "eu-west-1"}, {"region": "us-west-2", "kms_key_id": "alias/k"}], force_overwrite_replica_secret=True)
    plan = plan_present(cur, d)
    kwargs = step(plan, "replicate_secret_to_regions")
    assert kwargs["AddReplicaRegions"] == [{"Region": "us-west-2", "KmsKeyId": "alias/k"}]
    assert kwargs["ForceOverwriteReplicaSecret"] is True
    assert "remove_regions_from_replication" not in ops(plan)
    assert plan.after["replica"] == ["eu-west-1", "us-west-2"]


def test_replica_remove():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = plan_present(cur, desired(replica=[{"region": "us-west-2"}]))
    assert ops(plan) == ["remove_regions_from_replication"]
    assert step(plan, "remove_regions_from_replication")["RemoveReplicaRegions"] == ["eu-west-1"]


def test_replica_empty_list_removes_all():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = plan_present(cur, desired(replica=[]))
    assert step(plan, "remove_regions_from_replication")["RemoveReplicaRegions"] == ["eu-west-1", "us-west-2"]


def test_replica_omitted_untouched():
    assert not plan_present(current(ReplicationStatus=status("eu-west-1")), desired()).changed


def test_replica_kms_change_removes_then_adds():
    cur = current(ReplicationStatus=status("eu-west-1", kms="key-1"))
    plan = plan_present(cur, desired(replica=[{"region": "eu-west-1", "kms_key_id": "key-2"}]))
    assert ops(plan) == ["remove_regions_from_replication", "replicate_secret_to_regions"]
    assert step(plan, "replicate_secret_to_regions")["AddReplicaRegions"] == [{"Region": "eu-west-1", "KmsKeyId": "key-2"}]


def test_replica_same_kms_or_unspecified_kms_no_change():
    cur = current(ReplicationStatus=status("eu-west-1", kms="key-1"))
    assert not plan_present(cur, desired(replica=[{"region": "eu-west-1", "kms_key_id": "key-1"}])).changed
    assert not plan_present(cur, desired(replica=[{"region": "eu-west-1"}])).changed


def test_replica_on_create():
    d = desired(secret_string=VALUE, replica=[{"region": "us-west-2"}, {"region": "eu-west-1"}])
    kwargs = step(plan_present(None, d), "create_secret")
    assert kwargs["AddReplicaRegions"] == [{"Region": "eu-west-1"}, {"Region": "us-west-2"}]
    assert kwargs["ForceOverwriteReplicaSecret"] is False


def test_replica_plan_none_is_untouched():
    assert replica_plan(status("eu-west-1"), None) == ([], [])


# -- restore ------------------------------------------------------------------------------------------------
def test_scheduled_secret_is_restored_first():
    plan = plan_present(current(DeletedDate="2024-01-01"), desired(description="d"))
    assert ops(plan) == ["restore_secret", "update_secret"]
    assert plan.changes[0] == "restored"
    assert plan.before["deleted"] is True and plan.after["deleted"] is False


def test_scheduled_secret_without_other_change_is_restored():
    plan = plan_present(current(DeletedDate="2024-01-01"), desired())
    assert plan.steps == [("restore_secret", {"SecretId": ARN})]


# -- masked diffs ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("before, params", [
    (None, {"secret_string": VALUE}),
    (VALUE2, {"secret_string": VALUE}),
    (json.dumps({"A": VALUE2, "B": "x"}), {"json_secret": {"A": VALUE, "C": VALUE}}),
    (json.dumps({"A": VALUE}), {"json_secret": {"A": VALUE2}}),
    (VALUE, {"json_secret": {"A": VALUE2}}),
    (json.dumps({"A": VALUE}), {"secret_string": VALUE2}),
    (None, {"secret_binary": base64.b64encode(VALUE.encode()).decode()}),
    (json.dumps({"A": VALUE}), {"json_secret": {"B": VALUE2}, "purge_keys": False}),
])
@pytest.mark.parametrize("exists", [True, False])
def test_diff_never_contains_values(before, params, exists):
    d = desired(description="desc", tags={"Environment": "prod"}, **params)
    cur = current(VersionIdsToStages={} if before is None else {"v1": ["AWSCURRENT"]}) if exists else None
    plan = plan_present(cur, d, text(before) if exists and before is not None else None)
    shown = repr(plan.diff()) + repr(plan.changes)
    assert plan.changed
    for secret in (VALUE, VALUE2, base64.b64encode(VALUE.encode()).decode()):
        assert secret not in shown, NOT_SHOWN


def test_diff_shows_json_key_names():
    plan = plan_present(current(), desired(json_secret={"A": VALUE, "C": "new"}), jtext({"A": VALUE2, "B": "x"}))
    diff = plan.diff()
    assert set(diff["before"]["value"]) == {"A", "B"}
    assert diff["after"]["value"] == {"A": CHANGED_MASK, "C": MASK}


def test_no_change_diff_shows_the_masked_value():
    plan = plan_present(current(), desired(json_secret={"A": VALUE}), jtext({"A": VALUE}))
    assert plan.before["value"] == plan.after["value"] == {"A": MASK}


# -- staged writes (version_stages) -----------------------------------------------------------------------------
def test_staged_write_compares_with_the_staged_version():
    d = staged(secret_string=VALUE)
    # AWSCURRENT already holds the value, but no version holds AWSPENDING: a write
    plan = plan_present(current(), d, current_value=text(VALUE), staged_value=None)
    assert ops(plan) == ["put_secret_value"]
    assert plan.steps[0][1]["VersionStages"] == ["AWSPENDING"]
    # the pending version holds it: no change
    assert not plan_present(current(), d, current_value=text("other"), staged_value=text(VALUE)).changed


def test_staged_regenerate_builds_on_awscurrent():
    d = staged(regenerate=["JWT_SECRET"])
    plan = plan_present(current(), d, current_value=jtext({"JWT_SECRET": "a", "ISSUER": "b"}), staged_value=None,
                        randbytes=lambda n: b"\x02" * n)
    data = written(plan)
    assert data["ISSUER"] == "b" and data["JWT_SECRET"] != "a"
    assert plan.diff()["after"]["value"] == {"JWT_SECRET": MASK, "ISSUER": MASK}


def test_unstaged_write_ignores_staged_value():
    d = desired(secret_string=VALUE, version_stages=["AWSCURRENT", "BLUE"])
    assert not plan_present(current(), d, current_value=text(VALUE), staged_value=text("other")).changed
    plan = plan_present(current(), d, current_value=text("other"))
    assert plan.steps[0][1]["VersionStages"] == ["AWSCURRENT", "BLUE"]


def test_staged_token_differs_after_a_rollback():
    d = staged(secret_string=VALUE)
    first = plan_present(current(), d, current_value=text("x")).steps[0][1]["ClientRequestToken"]
    again = plan_present(current(), d, current_value=text("x")).steps[0][1]["ClientRequestToken"]
    assert first == again, "a retried identical write must reuse the token"
    after_rollback = current(VersionIdsToStages={"v1": ["AWSCURRENT"], first: [MARK]})
    assert plan_present(after_rollback, d, current_value=text("x")).steps[0][1]["ClientRequestToken"] != first
    plain = desired(secret_string=VALUE)
    assert plan_present(current(), plain, current_value=text("x")).steps[0][1]["ClientRequestToken"] != first


def test_replaced_version_key():
    cur = current(VersionIdsToStages={"v2": ["AWSPENDING"], "v1": ["AWSCURRENT"]})
    assert replaced_version_key(cur, desired(secret_string=VALUE)) == "v1"
    assert replaced_version_key(cur, desired(secret_string=VALUE, version_stages=["AWSCURRENT", "B"])) == "v1"
    assert replaced_version_key(cur, staged(secret_string=VALUE)) == "v1|AWSPENDING|v1|v2"
    assert replaced_version_key(current(VersionIdsToStages={}), desired(secret_string=VALUE)) is None


# -- key_report ---------------------------------------------------------------------------------------------------
def report(**lists):
    out = {name: [] for name in ("added", "unchanged", "differs_kept", "overwritten", "kept", "removed", "generated")}
    out.update(lists)
    return out


@pytest.mark.parametrize("params, existing, expected", [
    ({"json_secret": {"A": 1, "B": 2, "C": 3}, "generate": ["G"], "regenerate": ["R"]}, {"A": 1, "B": 9, "D": 4, "R": "r"},
     report(added=["C"], unchanged=["A"], overwritten=["B", "R"], removed=["D"], generated=["G"])),
    ({"json_secret": {"A": 2, "N": 1}, "overwrite": False}, {"A": 1}, report(differs_kept=["A", "N"])),
    ({"json_secret": {"A": 2, "N": 1}, "overwrite": False, "purge_keys": False}, {"A": 1, "K": 1},
     report(added=["N"], differs_kept=["A"], kept=["K"])),
    ({"json_secret": {"A": 1}}, None, report(added=["A"])),
    ({"generate": ["G"]}, {"A": 1, "G": "g"}, report(kept=["A", "G"])),
    ({"description": "x"}, {"A": 1}, report(kept=["A"])),
    ({"secret_string": VALUE}, None, report()),
])
def test_key_report(params, existing, expected):
    d = desired(**params)
    current_value = None if existing is None else jtext(existing)
    plan = plan_present(current() if existing is not None else None, d, current_value, randbytes=fixed_bytes)
    assert plan.keys == expected


def test_key_report_names_keys_never_values():
    d = desired(json_secret={"A": VALUE2, "B": VALUE})
    assert VALUE not in repr(key_report(d, jtext({"A": VALUE}), d["value"])), NOT_SHOWN


def test_key_report_json_replaced_by_plain_text():
    plan = plan_present(current(), desired(secret_string=VALUE), jtext({"A": VALUE2}))
    assert ops(plan) == ["put_secret_value"]
    assert "A" not in plan.keys["kept"]


# -- plan_absent --------------------------------------------------------------------------------------------------
def test_absent_missing_is_noop():
    assert not plan_absent(None, desired(state="absent")).changed


def test_absent_schedules_deletion():
    plan = plan_absent(current(), desired(state="absent", recovery_window=7))
    assert plan.steps == [("delete_secret", {"SecretId": ARN, "RecoveryWindowInDays": 7})]
    assert plan.changes == ["deleted"]
    assert plan.before == {"name": "prod/shop/database", "deleted": False}
    assert plan.after == {"name": "prod/shop/database", "deleted": True}


def test_absent_on_scheduled_is_noop():
    assert not plan_absent(current(DeletedDate="2024-01-01"), desired(state="absent")).changed


def test_absent_force_on_scheduled_deletes_now():
    plan = plan_absent(current(DeletedDate="2024-01-01"), desired(state="absent", recovery_window=0))
    assert plan.steps == [("delete_secret", {"SecretId": ARN, "ForceDeleteWithoutRecovery": True})]


def test_absent_removes_replicas_first():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = plan_absent(cur, desired(state="absent", recovery_window=0))
    assert ops(plan) == ["remove_regions_from_replication", "delete_secret"]
    assert plan.steps[0][1]["RemoveReplicaRegions"] == ["eu-west-1", "us-west-2"]


def test_absent_is_idempotent_after_apply():
    # once scheduled (DeletedDate set) a second identical run plans nothing
    d = desired(state="absent", recovery_window=30)
    assert plan_absent(current(), d).changed
    assert not plan_absent(current(DeletedDate="2024-01-01"), d).changed
