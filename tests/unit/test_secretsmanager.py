# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure functions of the domain layer (no AWS, no Ansible run).

Test values such as ``test-value-1`` are not real secrets, but assertion messages still never
print them: value checks use ``assert VALUE not in text`` with a fixed message.
"""
import base64
import json

import pytest

from ansible_collections.secretsops.aws.plugins.module_utils import _secretsmanager as sm

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
NOT_SHOWN = "a secret value leaked into the output"


def fixed_bytes(n):
    return b"\x01" * n


def desired(**params):
    params.setdefault("name", "prod/shop/database")
    return sm.build_desired(params)


def current(**extra):
    """A DescribeSecret response."""
    out = {
        "ARN": ARN,
        "Name": "prod/shop/database",
        "VersionIdsToStages": {"v1": ["AWSCURRENT"]},
    }
    out.update(extra)
    return out


def ops(plan):
    return [operation for operation, _kwargs in plan.steps]


def step(plan, operation):
    matches = [kwargs for op, kwargs in plan.steps if op == operation]
    assert len(matches) == 1, f"expected exactly one {operation} step, got {ops(plan)}"
    return matches[0]


def invalid(option, **params):
    with pytest.raises(sm.InvalidOption) as info:
        desired(**params)
    assert info.value.option == option
    assert str(info.value).startswith(option + ":")
    return str(info.value)


# =====================================================================================
# name validation
# =====================================================================================
@pytest.mark.parametrize("name", [
    "prod/shop/database",
    "a",
    "A-Za-z0-9/_+=.@-",
    "app.prod.db",
    "x" * 512,
    ARN,
    PARTIAL_ARN,
])
def test_valid_names(name):
    assert sm.validate_name(name) == name
    assert desired(name=name)["name"] == name


@pytest.mark.parametrize("name", ["bad name", "bad:name", "bad*name", "naïve", "semi;colon", "tab\tname", "hash#"])
def test_name_charset_rejected(name):
    message = invalid("name", name=name)
    assert "may only contain" in message


def test_name_513_chars_rejected():
    message = invalid("name", name="x" * 513)
    assert "513" in message and "512" in message


@pytest.mark.parametrize("name", ["", None])
def test_name_required(name):
    invalid("name", name=name)


@pytest.mark.parametrize("arn", [
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b",  # 8 fields
])
def test_arn_with_wrong_field_count_rejected(arn):
    message = invalid("name", name=arn)
    assert "ARN" in message


def test_long_arn_is_not_length_checked_as_a_name():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + "x" * 500 + "-AbCdEf"
    assert sm.validate_name(arn) == arn


def test_validate_name_uses_given_option():
    with pytest.raises(sm.InvalidOption) as info:
        sm.validate_name("bad name", "names")
    assert info.value.option == "names"


# =====================================================================================
# values
# =====================================================================================
@pytest.mark.parametrize("option, make", [
    ("secret_string", lambda n: "x" * n),
    ("secret_binary", lambda n: base64.b64encode(b"\x00" * n).decode()),
])
def test_value_size_limit(option, make):
    assert desired(**{option: make(65536)})["value_option"] == option
    message = invalid(option, **{option: make(65537)})
    assert "65537" in message and "65536" in message


def test_value_size_counts_utf8_bytes():
    # 32768 two-byte characters = 65536 bytes (allowed); one more character is over the limit
    desired(secret_string="é" * 32768)
    invalid("secret_string", secret_string="é" * 32769)


def test_json_secret_size_limit():
    desired(json_secret={"k": "x" * 65000})
    invalid("json_secret", json_secret={"k": "x" * 65536})


def test_size_error_does_not_contain_value():
    big = "test-value-1" * 6000
    with pytest.raises(sm.InvalidOption) as info:
        desired(secret_string=big)
    assert VALUE not in str(info.value), NOT_SHOWN


@pytest.mark.parametrize("params, option", [
    ({"secret_string": VALUE, "json_secret": {"a": 1}}, "json_secret"),
    ({"secret_string": VALUE, "secret_binary": "dGVzdA=="}, "secret_binary"),
    ({"json_secret": {"a": 1}, "secret_binary": "dGVzdA=="}, "secret_binary"),
])
def test_mutually_exclusive_values(params, option):
    message = invalid(option, **params)
    assert "only one of" in message
    assert VALUE not in message, NOT_SHOWN


@pytest.mark.parametrize("text", ["not base64!", "dGVzdA=", "dGV zdA==", "@@@@"])
def test_malformed_base64(text):
    message = invalid("secret_binary", secret_binary=text)
    assert "base64" in message


def test_binary_decoded():
    assert desired(secret_binary=base64.b64encode(b"\x00\xffbin").decode())["value"] == b"\x00\xffbin"


def test_json_secret_must_be_a_dict():
    invalid("json_secret", json_secret=["a"])


def test_json_secret_serialised_compactly():
    d = desired(json_secret={"b": 1, "a": "x"})
    assert json.loads(d["value"]) == {"b": 1, "a": "x"}
    assert d["json"] == {"b": 1, "a": "x"}


def test_secret_string_holding_json_is_parsed():
    assert desired(secret_string='{"a": 1}')["json"] == {"a": 1}
    assert desired(secret_string="[1, 2]")["json"] is None
    assert desired(secret_string=VALUE)["json"] is None


# =====================================================================================
# recovery window, policy, tags, replica, generate options
# =====================================================================================
@pytest.mark.parametrize("window", [0, 7, 15, 30, None])
def test_recovery_window_valid(window):
    assert desired(recovery_window=window)["recovery_window"] == (30 if window is None else window)


@pytest.mark.parametrize("window", [-1, 1, 3, 6, 31, 365])
def test_recovery_window_invalid(window):
    message = invalid("recovery_window", recovery_window=window)
    assert str(window) in message


@pytest.mark.parametrize("text", ["{not json", '{"Version": "2012-10-17",}', "[1", "nul"])
def test_malformed_policy(text):
    message = invalid("resource_policy", resource_policy=text)
    assert "JSON" in message


@pytest.mark.parametrize("policy", ["[]", "1", '"text"'])
def test_policy_must_be_an_object(policy):
    invalid("resource_policy", resource_policy=policy)


@pytest.mark.parametrize("policy, expected", [
    ('{"Version": "2012-10-17"}', {"Version": "2012-10-17"}),
    ({"Version": "2012-10-17"}, {"Version": "2012-10-17"}),
    ("{}", {}),
    ("", {}),
])
def test_policy_parsed(policy, expected):
    assert desired(resource_policy=policy)["resource_policy"] == expected


def test_policy_omitted_is_none():
    assert desired()["resource_policy"] is None


def test_tags_aws_prefix_rejected():
    invalid("tags", tags={"aws:cloudformation:stack-name": "x"})


def test_tags_stringified():
    assert desired(tags={"Count": 3})["tags"] == {"Count": "3"}


@pytest.mark.parametrize("replica", [[{"kms_key_id": "k"}], [{"region": "eu-west-1"}, {"region": "eu-west-1"}]])
def test_replica_invalid(replica):
    invalid("replica", replica=replica)


def test_replica_normalised_to_dict():
    d = desired(replica=[{"region": "eu-west-1"}, {"region": "us-west-2", "kms_key_id": "alias/x"}])
    assert d["replica"] == {"eu-west-1": None, "us-west-2": "alias/x"}


@pytest.mark.parametrize("params", [
    {"secret_string": VALUE},
    {"secret_string": "[1, 2]"},
    {"secret_binary": "dGVzdA=="},
])
def test_generate_with_non_json_value_rejected(params):
    message = invalid("generate", generate=["JWT_SECRET"], **params)
    assert VALUE not in message, NOT_SHOWN


@pytest.mark.parametrize("params", [{}, {"json_secret": {"a": "b"}}, {"secret_string": '{"a": "b"}'}])
def test_generate_accepted(params):
    assert desired(generate=["JWT_SECRET"], **params)["generate"] == ["JWT_SECRET"]


@pytest.mark.parametrize("generate", [[""], [None]])
def test_generate_entries_must_be_names(generate):
    invalid("generate", generate=generate)


@pytest.mark.parametrize("nbytes", [-1, 4097])
def test_generate_bytes_range(nbytes):
    invalid("generate_bytes", generate=["a"], generate_bytes=nbytes)


def test_generate_bytes_zero_rejected():
    invalid("generate_bytes", generate=["a"], generate_bytes=0)


def test_generate_value_is_base64_of_n_bytes():
    value = sm.generate_value(48)
    assert len(base64.b64decode(value)) == 48 and len(value) == 64
    assert sm.generate_value(48) != sm.generate_value(48)


# =====================================================================================
# target_value: generate rules, overwrite
# =====================================================================================
def test_generate_fills_only_absent_keys_on_create():
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD", "USER"])
    data = json.loads(sm.target_value(d, None, exists=False, randbytes=fixed_bytes))
    assert data["USER"] == "app"
    assert base64.b64decode(data["PASSWORD"]) == b"\x01" * 48


def test_generate_never_regenerates_existing_key():
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD"])
    existing = json.dumps({"USER": "app", "PASSWORD": VALUE})
    value = sm.target_value(d, existing, exists=True, randbytes=fixed_bytes)
    assert json.loads(value) == {"USER": "app", "PASSWORD": VALUE}
    plan = sm.plan_present(current(), d, existing, randbytes=fixed_bytes)
    assert not plan.changed, ops(plan)


def test_generate_only_keeps_existing_and_adds_missing():
    d = desired(generate=["A", "B"])
    existing = json.dumps({"A": VALUE, "OTHER": "x"})
    data = json.loads(sm.target_value(d, existing, exists=True, randbytes=fixed_bytes))
    assert data["A"] == VALUE and data["OTHER"] == "x"
    assert base64.b64decode(data["B"]) == b"\x01" * 48


def test_generate_only_no_change_when_all_keys_present():
    d = desired(generate=["A"])
    plan = sm.plan_present(current(), d, json.dumps({"A": VALUE}), randbytes=fixed_bytes)
    assert not plan.changed


def test_generate_only_on_plain_text_secret_fails():
    d = desired(generate=["A"])
    with pytest.raises(sm.InvalidOption) as info:
        sm.target_value(d, VALUE, exists=True)
    assert info.value.option == "generate"
    assert VALUE not in str(info.value), NOT_SHOWN


def test_no_value_and_no_generate_means_untouched():
    assert sm.target_value(desired(), VALUE, exists=True) is None
    assert not sm.plan_present(current(), desired(), VALUE).changed


def test_overwrite_false_keeps_existing_value():
    d = desired(secret_string=VALUE2, overwrite=False)
    assert sm.target_value(d, VALUE, exists=True) is None
    assert not sm.plan_present(current(), d, VALUE).changed


def test_overwrite_false_still_creates():
    d = desired(secret_string=VALUE, overwrite=False)
    plan = sm.plan_present(None, d)
    assert step(plan, "create_secret")["SecretString"] == VALUE


def test_overwrite_false_sets_value_when_no_current_version():
    d = desired(secret_string=VALUE, overwrite=False)
    plan = sm.plan_present(current(VersionIdsToStages={}), d, None)
    assert step(plan, "put_secret_value")["SecretString"] == VALUE


def test_overwrite_false_still_generates_missing_keys():
    d = desired(json_secret={"USER": "other"}, generate=["PASSWORD"], overwrite=False)
    existing = json.dumps({"USER": "app"})
    data = json.loads(sm.target_value(d, existing, exists=True, randbytes=fixed_bytes))
    assert data["USER"] == "app"  # not overwritten
    assert "PASSWORD" in data


def test_overwrite_false_generate_on_plain_text_is_untouched():
    d = desired(generate=["A"], overwrite=False)
    assert sm.target_value(d, VALUE, exists=True) is None


def test_unknown_current_value_writes_desired():
    d = desired(secret_string=VALUE)
    plan = sm.plan_present(current(DeletedDate="2024-01-01"), d, sm.UNKNOWN)
    assert ops(plan) == ["restore_secret", "put_secret_value"]


# =====================================================================================
# plan_present: JSON as data, metadata
# =====================================================================================
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
    plan = sm.plan_present(current(), desired(**{option: given}), stored)
    assert plan.steps == []
    assert not plan.changed


def test_json_value_change_detected():
    plan = sm.plan_present(current(), desired(json_secret={"a": 2}), '{"a": 1}')
    assert ops(plan) == ["put_secret_value"]


def test_string_vs_binary_never_equal():
    assert not sm.values_equal(VALUE, VALUE.encode())
    assert sm.values_equal(b"\x00", b"\x00")


def test_create_plan():
    d = desired(json_secret={"a": VALUE}, description="db", kms_key_id="alias/k", tags={"Environment": "prod"},
                resource_policy={"Version": "2012-10-17", "Statement": []})
    plan = sm.plan_present(None, d)
    assert ops(plan) == ["create_secret", "put_resource_policy"]
    kwargs = step(plan, "create_secret")
    assert kwargs["Name"] == "prod/shop/database"
    assert kwargs["Description"] == "db" and kwargs["KmsKeyId"] == "alias/k"
    assert kwargs["Tags"] == [{"Key": "Environment", "Value": "prod"}]
    assert kwargs["ClientRequestToken"] == sm.request_token("prod/shop/database", None, kwargs["SecretString"])
    assert plan.changes[0] == "created"


def test_create_binary_plan():
    plan = sm.plan_present(None, desired(secret_binary=base64.b64encode(b"\x00\x01").decode()))
    kwargs = step(plan, "create_secret")
    assert kwargs["SecretBinary"] == b"\x00\x01" and "SecretString" not in kwargs


def test_create_by_arn_rejected():
    with pytest.raises(sm.InvalidOption) as info:
        sm.plan_present(None, desired(name=ARN, secret_string=VALUE))
    assert info.value.option == "name"


def test_create_without_value():
    kwargs = step(sm.plan_present(None, desired()), "create_secret")
    assert "SecretString" not in kwargs and "ClientRequestToken" not in kwargs


def test_missing_awscurrent_gets_value():
    plan = sm.plan_present(current(VersionIdsToStages={}), desired(secret_string=VALUE), None)
    kwargs = step(plan, "put_secret_value")
    assert kwargs["ClientRequestToken"] == sm.request_token(ARN, None, VALUE)


def test_put_uses_token_of_replaced_version():
    plan = sm.plan_present(current(VersionIdsToStages={"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}),
                           desired(secret_string=VALUE2), VALUE)
    assert step(plan, "put_secret_value")["ClientRequestToken"] == sm.request_token(ARN, "v2", VALUE2)


@pytest.mark.parametrize("current_desc, given, expected_update", [
    ("old", "", ""),        # "" clears
    ("old", None, None),    # omitted: untouched
    ("old", "old", None),
    (None, "new", "new"),
    (None, "", None),       # no description == ""
])
def test_description(current_desc, given, expected_update):
    extra = {} if current_desc is None else {"Description": current_desc}
    plan = sm.plan_present(current(**extra), desired(description=given))
    if expected_update is None:
        assert not plan.changed
    else:
        assert step(plan, "update_secret") == {"SecretId": ARN, "Description": expected_update}
        assert plan.after["description"] == expected_update


def test_kms_alias_equal_to_current_key_is_no_change():
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234"
    same = {("alias/app", key_arn), (key_arn, "alias/app")}
    plan = sm.plan_present(current(KmsKeyId=key_arn), desired(kms_key_id="alias/app"),
                           kms_equal=lambda a, b: a == b or (a, b) in same)
    assert not plan.changed


def test_kms_change():
    plan = sm.plan_present(current(KmsKeyId="key-1"), desired(kms_key_id="key-2"))
    assert step(plan, "update_secret") == {"SecretId": ARN, "KmsKeyId": "key-2"}


def test_kms_default_key_compared_as_alias():
    plan = sm.plan_present(current(), desired(kms_key_id="alias/aws/secretsmanager"))
    assert not plan.changed


def test_description_and_kms_in_one_update():
    plan = sm.plan_present(current(KmsKeyId="key-1"), desired(kms_key_id="key-2", description="d"))
    assert step(plan, "update_secret") == {"SecretId": ARN, "KmsKeyId": "key-2", "Description": "d"}


# -- tags -------------------------------------------------------------------------------
def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def test_tags_omitted_untouched():
    assert not sm.plan_present(current(Tags=tag_list({"a": "1"})), desired()).changed


def test_tags_purge_keeps_aws_tags():
    cur = current(Tags=tag_list({"aws:cloudformation:stack-name": "s", "Old": "x", "Keep": "1"}))
    plan = sm.plan_present(cur, desired(tags={"Keep": "1", "New": "2"}))
    assert step(plan, "untag_resource")["TagKeys"] == ["Old"]
    assert step(plan, "tag_resource")["Tags"] == [{"Key": "New", "Value": "2"}]
    assert plan.after["tags"] == {"aws:cloudformation:stack-name": "s", "Keep": "1", "New": "2"}


def test_tags_empty_dict_purges_all_but_aws():
    cur = current(Tags=tag_list({"aws:x": "s", "Old": "x"}))
    plan = sm.plan_present(cur, desired(tags={}))
    assert ops(plan) == ["untag_resource"]
    assert step(plan, "untag_resource")["TagKeys"] == ["Old"]


def test_tags_no_purge():
    cur = current(Tags=tag_list({"Old": "x"}))
    plan = sm.plan_present(cur, desired(tags={"New": "1"}, purge_tags=False))
    assert ops(plan) == ["tag_resource"]


def test_tags_equal_no_change():
    cur = current(Tags=tag_list({"aws:x": "s", "A": "1", "B": "2"}))
    assert not sm.plan_present(cur, desired(tags={"B": "2", "A": "1"})).changed


def test_tag_value_change():
    plan = sm.plan_present(current(Tags=tag_list({"A": "1"})), desired(tags={"A": "2"}))
    assert ops(plan) == ["tag_resource"]


# -- resource policy ---------------------------------------------------------------------
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
    plan = sm.plan_present(current(), desired(resource_policy=json.dumps(POLICY_REORDERED, indent=4)), current_policy=POLICY)
    assert not plan.changed


def test_policy_omitted_untouched():
    assert not sm.plan_present(current(), desired(), current_policy=POLICY).changed


def test_policy_empty_removes():
    plan = sm.plan_present(current(), desired(resource_policy="{}"), current_policy=POLICY)
    assert step(plan, "delete_resource_policy") == {"SecretId": ARN}


def test_policy_empty_and_none_present_no_change():
    assert not sm.plan_present(current(), desired(resource_policy={}), current_policy=None).changed


def test_policy_put_when_different():
    other = json.loads(json.dumps(POLICY))
    other["Statement"][0]["Effect"] = "Deny"
    plan = sm.plan_present(current(), desired(resource_policy=other, block_public_policy=True), current_policy=POLICY)
    kwargs = step(plan, "put_resource_policy")
    assert json.loads(kwargs["ResourcePolicy"]) == other and kwargs["BlockPublicPolicy"] is True


def test_policy_put_when_none():
    plan = sm.plan_present(current(), desired(resource_policy=POLICY), current_policy=None)
    assert ops(plan) == ["put_resource_policy"]


# -- replicas ------------------------------------------------------------------------------
def status(*regions, kms=None):
    return [dict({"Region": r, "Status": "InSync"}, **({"KmsKeyId": kms} if kms else {})) for r in regions]


def test_replicas_reordered_no_change():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2", "ap-southeast-1"))
    d = desired(replica=[{"region": "ap-southeast-1"}, {"region": "eu-west-1"}, {"region": "us-west-2"}])
    assert not sm.plan_present(cur, d).changed


def test_replica_add():
    cur = current(ReplicationStatus=status("eu-west-1"))
    d = desired(replica=[{"region": "eu-west-1"}, {"region": "us-west-2", "kms_key_id": "alias/k"}],
                force_overwrite_replica_secret=True)
    plan = sm.plan_present(cur, d)
    kwargs = step(plan, "replicate_secret_to_regions")
    assert kwargs["AddReplicaRegions"] == [{"Region": "us-west-2", "KmsKeyId": "alias/k"}]
    assert kwargs["ForceOverwriteReplicaSecret"] is True
    assert "remove_regions_from_replication" not in ops(plan)


def test_replica_remove():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = sm.plan_present(cur, desired(replica=[{"region": "us-west-2"}]))
    assert ops(plan) == ["remove_regions_from_replication"]
    assert step(plan, "remove_regions_from_replication")["RemoveReplicaRegions"] == ["eu-west-1"]


def test_replica_empty_list_removes_all():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = sm.plan_present(cur, desired(replica=[]))
    assert step(plan, "remove_regions_from_replication")["RemoveReplicaRegions"] == ["eu-west-1", "us-west-2"]


def test_replica_omitted_untouched():
    assert not sm.plan_present(current(ReplicationStatus=status("eu-west-1")), desired()).changed


def test_replica_kms_change_removes_then_adds():
    cur = current(ReplicationStatus=status("eu-west-1", kms="key-1"))
    plan = sm.plan_present(cur, desired(replica=[{"region": "eu-west-1", "kms_key_id": "key-2"}]))
    assert ops(plan) == ["remove_regions_from_replication", "replicate_secret_to_regions"]
    assert step(plan, "replicate_secret_to_regions")["AddReplicaRegions"] == [{"Region": "eu-west-1", "KmsKeyId": "key-2"}]


def test_replica_same_kms_no_change():
    cur = current(ReplicationStatus=status("eu-west-1", kms="key-1"))
    assert not sm.plan_present(cur, desired(replica=[{"region": "eu-west-1", "kms_key_id": "key-1"}])).changed


def test_replica_on_create():
    d = desired(secret_string=VALUE, replica=[{"region": "us-west-2"}, {"region": "eu-west-1"}])
    kwargs = step(sm.plan_present(None, d), "create_secret")
    assert kwargs["AddReplicaRegions"] == [{"Region": "eu-west-1"}, {"Region": "us-west-2"}]


# =====================================================================================
# restore
# =====================================================================================
def test_scheduled_secret_is_restored_first():
    plan = sm.plan_present(current(DeletedDate="2024-01-01"), desired(description="d"))
    assert ops(plan) == ["restore_secret", "update_secret"]
    assert plan.changes[0] == "restored"


# =====================================================================================
# request_token
# =====================================================================================
def test_request_token_deterministic():
    a = sm.request_token(ARN, "v1", VALUE)
    assert a == sm.request_token(ARN, "v1", VALUE)
    assert 32 <= len(a) <= 64


@pytest.mark.parametrize("other", [
    (ARN, "v2", VALUE),          # different replaced version
    (ARN, None, VALUE),
    (ARN, "v1", VALUE2),         # different value
    (PARTIAL_ARN, "v1", VALUE),  # different secret
])
def test_request_token_differs(other):
    assert sm.request_token(ARN, "v1", VALUE) != sm.request_token(*other)


def test_request_token_binary_and_not_the_value():
    token = sm.request_token(ARN, "v1", b"\x00\x01")
    assert token == sm.request_token(ARN, "v1", b"\x00\x01")
    assert VALUE not in sm.request_token(ARN, "v1", VALUE), NOT_SHOWN


def test_revert_to_earlier_value_gets_new_token():
    """v1 (value A) -> v2 (value B) -> back to A must not reuse any earlier token."""
    create = sm.request_token("prod/shop/database", None, VALUE)
    second = sm.request_token(ARN, create, VALUE2)
    back = sm.request_token(ARN, second, VALUE)
    assert len({create, second, back}) == 3
    plan = sm.plan_present(current(VersionIdsToStages={create: ["AWSPREVIOUS"], second: ["AWSCURRENT"]}),
                           desired(secret_string=VALUE), VALUE2)
    assert step(plan, "put_secret_value")["ClientRequestToken"] == back


# =====================================================================================
# masked diffs
# =====================================================================================
@pytest.mark.parametrize("before, params", [
    (None, {"secret_string": VALUE}),
    (VALUE2, {"secret_string": VALUE}),
    (json.dumps({"A": VALUE2, "B": "x"}), {"json_secret": {"A": VALUE, "C": VALUE}}),
    (json.dumps({"A": VALUE}), {"json_secret": {"A": VALUE2}}),
    (VALUE, {"json_secret": {"A": VALUE2}}),
    (json.dumps({"A": VALUE}), {"secret_string": VALUE2}),
    (None, {"secret_binary": base64.b64encode(VALUE.encode()).decode()}),
])
@pytest.mark.parametrize("exists", [True, False])
def test_diff_never_contains_values(before, params, exists):
    d = desired(description="desc", tags={"Environment": "prod"}, **params)
    cur = current(VersionIdsToStages={} if before is None else {"v1": ["AWSCURRENT"]}) if exists else None
    plan = sm.plan_present(cur, d, before if exists else None)
    text = repr(plan.diff()) + repr(plan.changes)
    assert plan.changed
    for secret in (VALUE, VALUE2, base64.b64encode(VALUE.encode()).decode()):
        assert secret not in text, NOT_SHOWN


def test_diff_shows_json_key_names():
    plan = sm.plan_present(current(), desired(json_secret={"A": VALUE, "C": "new"}), json.dumps({"A": VALUE2, "B": "x"}))
    diff = plan.diff()
    assert set(diff["before"]["value"]) == {"A", "B"}
    assert diff["after"]["value"] == {"A": sm.CHANGED_MASK, "C": sm.MASK}


def test_masked_value_diff():
    assert sm.masked_value_diff(None, VALUE) == (None, sm.MASK)
    assert sm.masked_value_diff(VALUE2, VALUE) == (sm.MASK, sm.CHANGED_MASK)
    before, after = sm.masked_value_diff('{"a": 1, "b": 2}', '{"a": 1, "b": 3, "c": 4}')
    assert before == {"a": sm.MASK, "b": sm.MASK}
    assert after == {"a": sm.MASK, "b": sm.CHANGED_MASK, "c": sm.MASK}


def test_mask_value():
    assert sm.mask_value(None) is None
    assert sm.mask_value(VALUE) == sm.MASK
    assert sm.mask_value(b"\x00") == sm.MASK
    assert sm.mask_value('{"k": "v"}') == {"k": sm.MASK}


def test_invalid_option_messages_never_hold_values():
    for params in ({"secret_string": VALUE * 6000}, {"secret_string": VALUE, "json_secret": {"a": VALUE}},
                   {"secret_string": VALUE, "generate": ["x"]}):
        with pytest.raises(sm.InvalidOption) as info:
            desired(**params)
        assert VALUE not in str(info.value), NOT_SHOWN


# =====================================================================================
# plan_absent
# =====================================================================================
def test_absent_missing_is_noop():
    assert not sm.plan_absent(None, desired(state="absent")).changed


def test_absent_schedules_deletion():
    plan = sm.plan_absent(current(), desired(state="absent", recovery_window=7))
    assert plan.steps == [("delete_secret", {"SecretId": ARN, "RecoveryWindowInDays": 7})]


def test_absent_on_scheduled_is_noop():
    assert not sm.plan_absent(current(DeletedDate="2024-01-01"), desired(state="absent")).changed


def test_absent_force_on_scheduled_deletes_now():
    plan = sm.plan_absent(current(DeletedDate="2024-01-01"), desired(state="absent", recovery_window=0))
    assert plan.steps == [("delete_secret", {"SecretId": ARN, "ForceDeleteWithoutRecovery": True})]


def test_absent_removes_replicas_first():
    cur = current(ReplicationStatus=status("eu-west-1", "us-west-2"))
    plan = sm.plan_absent(cur, desired(state="absent", recovery_window=0))
    assert ops(plan) == ["remove_regions_from_replication", "delete_secret"]
    assert plan.steps[0][1]["RemoveReplicaRegions"] == ["eu-west-1", "us-west-2"]


def test_absent_is_idempotent_after_apply():
    # once scheduled (DeletedDate set) a second identical run plans nothing
    d = desired(state="absent", recovery_window=30)
    assert sm.plan_absent(current(), d).changed
    assert not sm.plan_absent(current(DeletedDate="2024-01-01"), d).changed


# =====================================================================================
# current_version_id, secret_result
# =====================================================================================
def test_current_version_id():
    assert sm.current_version_id(current(VersionIdsToStages={"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT", "X"]})) == "b"
    assert sm.current_version_id(current(VersionIdsToStages={})) is None


def test_secret_result_has_no_value_and_tags_as_dict():
    res = sm.secret_result(current(Tags=tag_list({"A": "1"}), SecretString=VALUE))
    assert res["tags"] == {"A": "1"} and res["version_id"] == "v1"
    assert VALUE not in repr(res), NOT_SHOWN


# =====================================================================================
# lookup helpers: parse_term, select_key, decode_value, path_matches, listing
# =====================================================================================
@pytest.mark.parametrize("term, expected", [
    ("prod/shop/database", ("prod/shop/database", None, None, None)),
    ("app.prod.db", ("app.prod.db", None, None, None)),
    ("app.prod.db:DATABASE_URL", ("app.prod.db", "DATABASE_URL", None, None)),
    ("prod/shop/jwt:JWT_SECRET:AWSPREVIOUS", ("prod/shop/jwt", "JWT_SECRET", "AWSPREVIOUS", None)),
    ("prod/shop/jwt::AWSPREVIOUS", ("prod/shop/jwt", None, "AWSPREVIOUS", None)),
    ("prod/shop/jwt:::v-123", ("prod/shop/jwt", None, None, "v-123")),
    ("prod/shop/jwt:a.b::", ("prod/shop/jwt", "a.b", None, None)),
    (ARN, (ARN, None, None, None)),
    (ARN + ":DATABASE_URL::", (ARN, "DATABASE_URL", None, None)),
    (ARN + ":k:AWSCURRENT:v1", (ARN, "k", "AWSCURRENT", "v1")),
    (PARTIAL_ARN, (PARTIAL_ARN, None, None, None)),
    (PARTIAL_ARN + ":DATABASE_URL", (PARTIAL_ARN, "DATABASE_URL", None, None)),
])
def test_parse_term(term, expected):
    assert sm.parse_term(term) == expected


@pytest.mark.parametrize("term", [
    "",
    None,
    "name:a:b:c:d",
    ARN + ":a:b:c:d",
    "arn:aws:secretsmanager:us-east-1",
    "arn:aws:ssm:us-east-1:123456789012:parameter:x",  # another service
    "arn:aws:secretsmanager:us-east-1:123456789012:other:x",  # not a secret
    "bad name:key",
])
def test_parse_term_invalid(term):
    with pytest.raises(sm.InvalidOption) as info:
        sm.parse_term(term)
    assert info.value.option == "_terms"


DATA = {"n": 42, "f": 1.5, "b": True, "z": None, "s": "text", "o": {"x": {"y": [1, 2]}}, "a.b": "literal", "a": {"b": "path"}}


@pytest.mark.parametrize("key, expected", [
    (None, DATA),
    ("n", 42),
    ("f", 1.5),
    ("b", True),
    ("z", None),
    ("s", "text"),
    ("o", {"x": {"y": [1, 2]}}),
    ("o.x", {"y": [1, 2]}),
    ("o.x.y", [1, 2]),
    ("a.b", "literal"),  # a literal dotted key wins over the path
])
def test_select_key(key, expected):
    result = sm.select_key(DATA, key, "prod/shop/app")
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value, key", [(DATA, "missing"), (DATA, "o.missing"), (DATA, "n.x"), ("text", "k"), ([1], "k")])
def test_select_key_missing(value, key):
    with pytest.raises(KeyError) as info:
        sm.select_key(value, key, "prod/shop/app")
    assert "prod/shop/app" in str(info.value)


@pytest.mark.parametrize("key, level", [
    ("missing", "at the top level: a, a.b, b, f, n, o, s, z"),
    ("o.missing", "under 'o': x"),
    ("o.x.missing", "under 'o.x': y"),
    ("n.x", "'n' is not a JSON object"),
])
def test_select_key_error_names_the_level_that_lacks_the_key(key, level):
    with pytest.raises(KeyError) as info:
        sm.select_key(DATA, key, "prod/shop/app")
    assert level in str(info.value)


def test_parse_term_wrong_arn_shows_the_expected_form():
    with pytest.raises(sm.InvalidOption) as info:
        sm.parse_term("arn:aws:ssm:us-east-1:123456789012:parameter:x")
    assert "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME" in str(info.value)


def test_select_key_error_lists_keys_not_values():
    with pytest.raises(KeyError) as info:
        sm.select_key({"K": VALUE}, "other", "s")
    assert "K" in str(info.value) and VALUE not in str(info.value), NOT_SHOWN


@pytest.mark.parametrize("response, binary, expected", [
    ({"SecretString": '{"a": 1}'}, "base64", {"a": 1}),
    ({"SecretString": "[1, 2]"}, "base64", [1, 2]),
    ({"SecretString": VALUE}, "base64", VALUE),
    ({"SecretString": "42"}, "base64", "42"),
    ({"SecretString": "true"}, "base64", "true"),
    ({"SecretBinary": b"\x00\xff"}, "base64", "AP8="),
    ({"SecretBinary": b"\x00\xff"}, "raw", b"\x00\xff"),
    ({}, "base64", None),
])
def test_decode_value(response, binary, expected):
    assert sm.decode_value(response, binary) == expected


@pytest.mark.parametrize("name, path, expected", [
    ("prod/shop/database", "prod/shop", True),
    ("prod/shop/database", "prod/shop/", True),
    ("prod/shop/a/b", "prod/shop", True),
    ("prod/shop-old/database", "prod/shop", False),
    ("prod/shopx", "prod/shop", False),
    ("prod/shop", "prod/shop", False),
    ("dev/shop/database", "prod/shop", False),
])
def test_path_matches(name, path, expected):
    assert sm.path_matches(name, path) is expected


def test_list_filters():
    assert sm.list_filters("prod/shop") == [{"Key": "name", "Values": ["prod/shop/"]}]
    assert sm.list_filters("prod/shop/", tags={"Environment": "prod"}) == [
        {"Key": "name", "Values": ["prod/shop/"]},
        {"Key": "tag-key", "Values": ["Environment"]},
        {"Key": "tag-value", "Values": ["prod"]},
    ]
    assert sm.list_filters(filters={"description": "x", "tag-key": ["a", "b"]}) == [
        {"Key": "description", "Values": ["x"]},
        {"Key": "tag-key", "Values": ["a", "b"]},
    ]
    assert sm.list_filters() == []


def test_list_filters_bad_prefix():
    with pytest.raises(sm.InvalidOption) as info:
        sm.list_filters("bad prefix")
    assert info.value.option == "name_prefix"


def test_select_listed():
    listed = [
        {"Name": "prod/shop/a", "Tags": tag_list({"Environment": "prod", "Application": "shop"})},
        {"Name": "prod/shop/b", "Tags": tag_list({"Environment": "dev"})},
        {"Name": "prod/shop-old/a", "Tags": tag_list({"Environment": "prod"})},
    ]
    assert [s["Name"] for s in sm.select_listed(listed, "prod/shop")] == ["prod/shop/a", "prod/shop/b"]
    assert [s["Name"] for s in sm.select_listed(listed, None, {"Environment": "prod"})] == ["prod/shop/a", "prod/shop-old/a"]
    assert [s["Name"] for s in sm.select_listed(listed, "prod/shop", {"Environment": "prod"})] == ["prod/shop/a"]


# =====================================================================================
# error helpers
# =====================================================================================
class _FakeClientError(Exception):
    def __init__(self, code, message, operation="GetSecretValue"):
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}
        self.operation_name = operation


@pytest.mark.parametrize("code, denied, missing", [
    ("AccessDeniedException", True, False),
    ("403", True, False),
    ("ResourceNotFoundException", False, True),
    ("InvalidRequestException", False, False),
])
def test_error_classification(code, denied, missing):
    exc = _FakeClientError(code, "x")
    assert sm.is_denied(exc) is denied and sm.is_missing(exc) is missing


def test_deleted_error_aws_wording():
    exc = _FakeClientError("InvalidRequestException",
                           "You can't perform this operation on the secret because it was marked for deletion.")
    assert sm.is_deleted_error(exc)


def test_deleted_error_marked_deleted_wording():
    exc = _FakeClientError("InvalidRequestException",
                           "You tried to perform the operation on a secret that's currently marked deleted.")
    assert sm.is_deleted_error(exc)


def test_explain_missing_names_secret_region_endpoint():
    message = sm.explain_error(_FakeClientError("ResourceNotFoundException", "not found"), "prod/shop/x", "eu-west-1",
                               "http://127.0.0.1:1")
    assert "prod/shop/x" in message and "eu-west-1" in message and "http://127.0.0.1:1" in message


def test_explain_denied_names_operation():
    message = sm.explain_error(_FakeClientError("AccessDeniedException", "no"), "prod/shop/x", "eu-west-1")
    assert "GetSecretValue" in message and "prod/shop/x" in message
