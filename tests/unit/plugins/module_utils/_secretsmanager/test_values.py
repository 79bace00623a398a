# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/values.py``: names, ``SecretValue``, masking, request tokens
and the result shape.

Test values such as ``test-value-1`` are not real secrets, but assertion messages still never
print them: value checks use ``assert VALUE not in text, NOT_SHOWN``.
"""
import base64
import datetime
import json
import uuid

import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import CHANGED_MASK
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import MASK
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import current_version_id
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import generate_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import is_arn
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import mask_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import masked_value_diff
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import path_matches
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import request_token
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import secret_result
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import serialize_json
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import snake_dict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import validate_name
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import version_result

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
NOT_SHOWN = "a secret value leaked into the output"

text = SecretValue.from_text


# -- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["prod/shop/database", "a", "A-Za-z0-9/_+=.@-", "app.prod.db", "x" * 512, ARN, PARTIAL_ARN])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["bad name", "bad:name", "bad*name", "naïve", "semi;colon", "tab\tname", "hash#"])
def test_name_charset_rejected(name):
    with pytest.raises(InvalidOption) as info:
        validate_name(name)
    assert info.value.option == "name" and "may only contain" in str(info.value)


def test_name_513_chars_rejected():
    with pytest.raises(InvalidOption) as info:
        validate_name("x" * 513)
    assert "513" in str(info.value) and "512" in str(info.value)


@pytest.mark.parametrize("name", ["", None, 42])
def test_name_required(name):
    with pytest.raises(InvalidOption) as info:
        validate_name(name)
    assert info.value.option == "name"


def test_arn_with_wrong_field_count_rejected():
    with pytest.raises(InvalidOption) as info:
        validate_name("arn:aws:secretsmanager:us-east-1:123456789012:secret:a:b")  # 8 fields
    assert "ARN" in str(info.value)


def test_long_arn_is_not_length_checked_as_a_name():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + "x" * 500 + "-AbCdEf"
    assert validate_name(arn) == arn


def test_validate_name_uses_given_option():
    with pytest.raises(InvalidOption) as info:
        validate_name("bad name", "names")
    assert info.value.option == "names"


@pytest.mark.parametrize("secret_id, expected", [(ARN, True), (PARTIAL_ARN, True), ("prod/shop/database", False),
                                                 ("arn:aws:secretsmanager", False), ("arnold/x", False)])
def test_is_arn(secret_id, expected):
    assert is_arn(secret_id) is expected


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
    assert path_matches(name, path) is expected


# -- generate_value, serialize_json ------------------------------------------------------------
def test_generate_value_is_base64_of_n_bytes():
    value = generate_value(48)
    assert len(base64.b64decode(value)) == 48 and len(value) == 64
    assert generate_value(48) != generate_value(48)


def test_generate_value_uses_the_given_random_source():
    assert generate_value(3, randbytes=lambda n: b"\x01" * n) == base64.b64encode(b"\x01\x01\x01").decode()


def test_serialize_json_is_compact_and_keeps_unicode():
    assert serialize_json({"b": 1, "a": "é"}) == '{"b":1,"a":"é"}'


# -- SecretValue -------------------------------------------------------------------------------
def test_from_text_parses_a_json_object_and_keeps_the_text():
    value = text('{ "b": 1, "a": [1, 2] }')
    assert value.raw == '{ "b": 1, "a": [1, 2] }'
    assert value.json == {"b": 1, "a": [1, 2]}
    assert not value.is_binary


@pytest.mark.parametrize("raw", ["[1, 2]", "42", '"text"', "null", VALUE, "{not json"])
def test_from_text_only_objects_are_json(raw):
    assert text(raw).json is None


def test_from_json_is_compact_and_a_copy():
    data = {"b": {"c": [1]}, "a": "x"}
    value = SecretValue.from_json(data)
    assert value.raw == '{"b":{"c":[1]},"a":"x"}'
    data["b"]["c"].append(2)
    assert value.json == {"b": {"c": [1]}, "a": "x"}


def test_from_binary():
    value = SecretValue.from_binary(bytearray(b"\x00\xff"))
    assert value.raw == b"\x00\xff" and isinstance(value.raw, bytes)
    assert value.is_binary and value.json is None
    assert value.api_kwargs() == {"SecretBinary": b"\x00\xff"}


@pytest.mark.parametrize("entry, raw", [
    ({"SecretString": '{"a":1}', "VersionId": "v1"}, '{"a":1}'),
    ({"SecretString": ""}, ""),
    ({"SecretBinary": b"\x00"}, b"\x00"),
])
def test_from_response(entry, raw):
    assert SecretValue.from_response(entry).raw == raw


def test_from_response_without_a_value():
    assert SecretValue.from_response({"VersionId": "v1"}) is None


def test_size_counts_utf8_bytes():
    assert text("é" * 3).size == 6
    assert SecretValue.from_binary(b"\x00" * 5).size == 5
    assert text("é").as_bytes() == "é".encode("utf-8")


def test_api_kwargs_text():
    assert text(VALUE).api_kwargs() == {"SecretString": VALUE}


@pytest.mark.parametrize("a, b, same", [
    ('{"a":1,"b":{"c":[1,2]}}', '{"b": {"c": [1, 2]}, "a": 1}', True),
    ('{"a":1}', '{\n  "a" : 1\n}', True),
    ('{"a":1}', '{"a":2}', False),
    (VALUE, VALUE, True),
    (VALUE, VALUE2, False),
    ("[1, 2]", "[1,2]", False),  # only JSON objects are compared as data
])
def test_same_as_compares_json_objects_as_data(a, b, same):
    assert text(a).same_as(text(b)) is same
    assert text(b).same_as(text(a)) is same


def test_same_as_string_vs_binary_never_equal():
    assert not text(VALUE).same_as(SecretValue.from_binary(VALUE.encode()))
    assert not SecretValue.from_binary(VALUE.encode()).same_as(text(VALUE))
    assert SecretValue.from_binary(b"\x00").same_as(SecretValue.from_binary(b"\x00"))
    assert not SecretValue.from_binary(b"\x00").same_as(SecretValue.from_binary(b"\x01"))


@pytest.mark.parametrize("other", [None, UNKNOWN])
def test_same_as_missing_or_unknown_is_different(other):
    assert not text(VALUE).same_as(other)


def test_same_as_json_booleans_differ_from_numbers():
    assert not SecretValue.from_json({"enabled": True}).same_as(text('{"enabled": 1}'))


def test_check_size():
    assert text("x" * 65536).check_size("secret_string").size == 65536
    with pytest.raises(InvalidOption) as info:
        text(VALUE * 6000).check_size("secret_string")
    assert info.value.option == "secret_string" and "65536" in str(info.value)
    assert VALUE not in str(info.value), NOT_SHOWN


def test_repr_is_masked():
    assert VALUE not in repr(text(VALUE)), NOT_SHOWN
    assert VALUE not in repr([SecretValue.from_json({"k": VALUE})]), NOT_SHOWN
    assert repr(UNKNOWN) == "UNKNOWN"


# -- masking -------------------------------------------------------------------------------------
def test_mask_value():
    assert mask_value(None) is None
    assert mask_value(UNKNOWN) is None
    assert mask_value(text(VALUE)) == MASK
    assert mask_value(SecretValue.from_binary(b"\x00")) == MASK
    assert mask_value(text('{"k": "v"}')) == {"k": MASK}


def test_masked_value_diff():
    assert masked_value_diff(None, text(VALUE)) == (None, MASK)
    assert masked_value_diff(UNKNOWN, text(VALUE)) == (None, MASK)
    assert masked_value_diff(text(VALUE2), text(VALUE)) == (MASK, CHANGED_MASK)
    before, after = masked_value_diff(text('{"a": 1, "b": 2}'), text('{"a": 1, "b": 3, "c": 4}'))
    assert before == {"a": MASK, "b": MASK}
    assert after == {"a": MASK, "b": CHANGED_MASK, "c": MASK}


def test_masked_value_diff_between_json_and_text():
    assert masked_value_diff(text(VALUE), text('{"A": 1}')) == (MASK, {"A": MASK})
    assert masked_value_diff(text('{"A": 1}'), text(VALUE)) == ({"A": MASK}, CHANGED_MASK)


def test_masked_diff_never_holds_values():
    before, after = masked_value_diff(text(json.dumps({"A": VALUE})), text(json.dumps({"A": VALUE2, "B": VALUE})))
    assert VALUE not in repr((before, after)) and VALUE2 not in repr((before, after)), NOT_SHOWN


# -- request_token --------------------------------------------------------------------------------
def test_request_token_deterministic():
    a = request_token(ARN, "v1", text(VALUE2), text(VALUE))
    assert a == request_token(ARN, "v1", text(VALUE2), text(VALUE))
    assert 32 <= len(a) <= 64
    assert uuid.UUID(a).version == 4


def test_request_token_depends_on_data_not_on_objects():
    assert request_token(ARN, "v1", text('{"a":1}'), text(VALUE)) == request_token(ARN, "v1", SecretValue.from_json({"a": 1}), text(VALUE))


@pytest.mark.parametrize("other", [
    (ARN, "v2", text(VALUE2), text(VALUE)),          # another replaced version
    (ARN, None, text(VALUE2), text(VALUE)),
    (ARN, "v1", text("other"), text(VALUE)),        # another replaced value
    (ARN, "v1", text(VALUE2), text("other")),       # another new value
    (PARTIAL_ARN, "v1", text(VALUE2), text(VALUE)),  # another secret
])
def test_request_token_differs(other):
    assert request_token(ARN, "v1", text(VALUE2), text(VALUE)) != request_token(*other)


def test_request_token_is_keyed_by_the_replaced_value():
    """Everything a metadata-only reader sees (secret, VersionIds) and a guessed new value are not
    enough to recompute a token: it also depends on the replaced value, which they cannot read."""
    public = (ARN, "v1")
    tokens = {request_token(*public, text(replaced), text(VALUE)) for replaced in ("a", "b", "c", VALUE2)}
    assert len(tokens) == 4


@pytest.mark.parametrize("replaced", [None, UNKNOWN])
def test_request_token_random_when_nothing_is_replaced(replaced):
    tokens = {request_token("prod/shop/database", None, replaced, text(VALUE)) for dummy in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert uuid.UUID(token).version == 4


def test_request_token_binary_and_not_the_value():
    binary = SecretValue.from_binary(b"\x00\x01")
    token = request_token(ARN, "v1", binary, binary)
    assert token == request_token(ARN, "v1", SecretValue.from_binary(b"\x00\x01"), SecretValue.from_binary(b"\x00\x01"))
    assert VALUE not in request_token(ARN, "v1", text(VALUE), text(VALUE)), NOT_SHOWN


def test_revert_to_earlier_value_gets_new_token():
    """v1 (value A) -> v2 (value B) -> back to A must not reuse any earlier token."""
    create = request_token("prod/shop/database", None, None, text(VALUE))
    second = request_token(ARN, create, text(VALUE), text(VALUE2))
    back = request_token(ARN, second, text(VALUE2), text(VALUE))
    assert len({create, second, back}) == 3


# -- result shape ------------------------------------------------------------------------------------
def test_current_version_id():
    assert current_version_id({"VersionIdsToStages": {"a": ["AWSPREVIOUS"], "b": ["AWSCURRENT", "X"]}}) == "b"
    assert current_version_id({"VersionIdsToStages": {}}) is None
    assert current_version_id({}) is None


def test_secret_result_has_no_value_and_tags_as_dict():
    described = {"ARN": ARN, "Name": "prod/shop/database", "VersionIdsToStages": {"v1": ["AWSCURRENT"]},
                 "Tags": [{"Key": "A", "Value": "1"}], "SecretString": VALUE}
    res = secret_result(described)
    assert res["tags"] == {"A": "1"} and res["version_id"] == "v1"
    assert res["arn"] == ARN and res["name"] == "prod/shop/database" and res["description"] == ""
    assert res["rotation_enabled"] is False and res["deleted_date"] is None
    assert VALUE not in repr(res), NOT_SHOWN


def test_secret_result_dates_and_rotation():
    when = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    res = secret_result({"ARN": ARN, "Name": "n", "DeletedDate": when, "RotationEnabled": True,
                         "RotationRules": {"AutomaticallyAfterDays": 30, "ScheduleExpression": "rate(30 days)"},
                         "ReplicationStatus": [{"Region": "eu-west-1", "Status": "InSync", "LastAccessedDate": when}]})
    assert res["deleted_date"] == "2024-05-01T12:00:00+00:00"
    assert res["rotation_rules"] == {"automatically_after_days": 30, "schedule_expression": "rate(30 days)"}
    assert res["replication_status"] == [{"region": "eu-west-1", "status": "InSync", "last_accessed_date": when.isoformat()}]


def test_secret_result_of_nothing():
    assert secret_result(None) == {} and secret_result({}) == {}


def test_snake_dict():
    assert snake_dict({"KmsKeyId": "k", "RotationLambdaARN": "a", "Region": "r"}) == {
        "kms_key_id": "k", "rotation_lambda_arn": "a", "region": "r"}


def test_version_result():
    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    assert version_result({"VersionId": "v1", "VersionStages": ["B", "AWSCURRENT"], "CreatedDate": when}) == {
        "version_id": "v1", "version_stages": ["AWSCURRENT", "B"], "created_date": when.isoformat(), "last_accessed_date": None}
    assert version_result({"VersionId": "v0"})["version_stages"] == []
