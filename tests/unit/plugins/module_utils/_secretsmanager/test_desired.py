# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/desired.py``: module options -> desired state, every bad
option refused with ``InvalidOption`` naming it (before any API call), never with a value."""
import base64
import json

import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import ROLLED_BACK_LABEL
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_staged
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf"
VALUE = "test-value-1"
NOT_SHOWN = "a secret value leaked into the output"


def desired(**params):
    params.setdefault("name", "prod/shop/database")
    return build_desired(params)


def invalid(option, **params):
    with pytest.raises(InvalidOption) as info:
        desired(**params)
    assert info.value.option == option
    assert str(info.value).startswith(option + ":")
    return str(info.value)


# -- defaults and names -----------------------------------------------------------------------------
def test_defaults():
    d = desired()
    assert d == {
        "name": "prod/shop/database", "state": "present", "value": None, "value_option": None,
        "overwrite": True, "purge_keys": True, "description": None, "kms_key_id": None,
        "block_public_policy": None, "force_overwrite_replica_secret": False, "purge_tags": True,
        "recovery_window": 30, "tags": None, "resource_policy": None, "replica": None, "version_stages": None,
        "generate": [], "regenerate": [], "required_keys": [], "generate_bytes": 48,
    }


@pytest.mark.parametrize("name", ["prod/shop/database", "x" * 512, ARN])
def test_valid_names(name):
    assert desired(name=name)["name"] == name


@pytest.mark.parametrize("name", ["", None, "bad name", "x" * 513])
def test_bad_names(name):
    invalid("name", name=name)


# -- values -----------------------------------------------------------------------------------------
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
    message = invalid("secret_string", secret_string=VALUE * 6000)
    assert VALUE not in message, NOT_SHOWN


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
    d = desired(secret_binary=base64.b64encode(b"\x00\xffbin").decode())
    assert isinstance(d["value"], SecretValue)
    assert d["value"].raw == b"\x00\xffbin" and d["value"].is_binary
    assert d["value_option"] == "secret_binary"


def test_json_secret_must_be_a_dict():
    invalid("json_secret", json_secret=["a"])


def test_json_secret_serialised_compactly():
    d = desired(json_secret={"b": 1, "a": "x"})
    assert d["value"].raw == '{"b":1,"a":"x"}'
    assert d["value"].json == {"b": 1, "a": "x"}
    assert d["value_option"] == "json_secret"


def test_secret_string_keeps_the_users_text():
    d = desired(secret_string='{ "a": 1 }')
    assert d["value"].raw == '{ "a": 1 }' and d["value"].json == {"a": 1}
    assert desired(secret_string="[1, 2]")["value"].json is None
    assert desired(secret_string=VALUE)["value"].json is None


def test_secret_string_is_stringified():
    assert desired(secret_string=42)["value"].raw == "42"


# -- recovery window, policy, tags, replica ------------------------------------------------------------
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


@pytest.mark.parametrize("policy", ["[]", "1", '"text"', ["a"]])
def test_policy_must_be_an_object(policy):
    invalid("resource_policy", resource_policy=policy)


@pytest.mark.parametrize("policy, expected", [
    ('{"Version": "2012-10-17"}', {"Version": "2012-10-17"}),
    ({"Version": "2012-10-17"}, {"Version": "2012-10-17"}),
    ("{}", {}),
    ("", {}),
    ("   ", {}),
])
def test_policy_parsed(policy, expected):
    assert desired(resource_policy=policy)["resource_policy"] == expected


def test_policy_omitted_is_none():
    assert desired()["resource_policy"] is None


def test_tags_aws_prefix_rejected():
    invalid("tags", tags={"aws:cloudformation:stack-name": "x"})


def test_tags_must_be_a_dict():
    invalid("tags", tags=["a"])


def test_tags_stringified():
    assert desired(tags={"Count": 3})["tags"] == {"Count": "3"}


@pytest.mark.parametrize("replica", [[{"kms_key_id": "k"}], [{"region": "eu-west-1"}, {"region": "eu-west-1"}], ["eu-west-1"]])
def test_replica_invalid(replica):
    invalid("replica", replica=replica)


def test_replica_normalised_to_dict():
    d = desired(replica=[{"region": "eu-west-1"}, {"region": "us-west-2", "kms_key_id": "alias/x"}])
    assert d["replica"] == {"eu-west-1": None, "us-west-2": "alias/x"}
    assert desired(replica=[])["replica"] == {}


@pytest.mark.parametrize("option, given, expected", [
    ("overwrite", False, False), ("overwrite", None, True),
    ("purge_keys", False, False), ("purge_keys", None, True),
    ("purge_tags", False, False), ("purge_tags", None, True),
])
def test_booleans_default_to_true(option, given, expected):
    assert desired(**{option: given})[option] is expected


# -- generate, regenerate, required_keys ---------------------------------------------------------------
@pytest.mark.parametrize("option", ["generate", "regenerate", "required_keys"])
@pytest.mark.parametrize("params", [{"secret_string": VALUE}, {"secret_string": "[1, 2]"}, {"secret_binary": "dGVzdA=="}])
def test_key_lists_need_a_json_value(option, params):
    message = invalid(option, **{option: ["JWT_SECRET"]}, **params)
    assert VALUE not in message, NOT_SHOWN


@pytest.mark.parametrize("option", ["generate", "regenerate", "required_keys"])
@pytest.mark.parametrize("params", [{}, {"json_secret": {"a": "b"}}, {"secret_string": '{"a": "b"}'}])
def test_key_lists_accepted(option, params):
    if option == "required_keys":
        params = dict(params, purge_keys=False)  # else a JSON value without the key fails at once
    assert desired(**{option: ["JWT_SECRET"]}, **params)[option] == ["JWT_SECRET"]


@pytest.mark.parametrize("option", ["generate", "regenerate", "required_keys"])
@pytest.mark.parametrize("keys", [[""], [None], [1]])
def test_key_list_entries_must_be_names(option, keys):
    invalid(option, **{option: keys})


def test_key_in_generate_and_regenerate_rejected():
    message = invalid("regenerate", generate=["A", "B"], regenerate=["B"])
    assert "'B'" in message


@pytest.mark.parametrize("nbytes", [-1, 0, 4097])
def test_generate_bytes_range(nbytes):
    invalid("generate_bytes", generate=["a"], generate_bytes=nbytes)


@pytest.mark.parametrize("nbytes, expected", [(None, 48), (1, 1), (4096, 4096)])
def test_generate_bytes_valid(nbytes, expected):
    assert desired(generate=["a"], generate_bytes=nbytes)["generate_bytes"] == expected


def test_required_keys_and_purge_keys_parsed():
    d = desired(json_secret={"A": "1"}, required_keys=["A", "B"], purge_keys=False)
    assert d["required_keys"] == ["A", "B"] and d["purge_keys"] is False


# -- version_stages -------------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [
    {"version_stages": [], "secret_string": VALUE},
    {"version_stages": "AWSPENDING", "secret_string": VALUE},
    {"version_stages": ["AWSPENDING", "AWSPENDING"], "secret_string": VALUE},
    {"version_stages": [ROLLED_BACK_LABEL], "secret_string": VALUE},
    {"version_stages": ["AWSPENDING"]},
    {"version_stages": [str(i) for i in range(21)], "secret_string": VALUE},
    {"version_stages": ["x" * 257], "secret_string": VALUE},
    {"version_stages": [""], "secret_string": VALUE},
])
def test_version_stages_rejected(params):
    message = invalid("version_stages", **params)
    assert VALUE not in message, NOT_SHOWN


@pytest.mark.parametrize("params", [{"secret_string": VALUE}, {"generate": ["A"]}, {"regenerate": ["A"]}])
def test_version_stages_with_something_to_write(params):
    assert desired(version_stages=["AWSPENDING"], **params)["version_stages"] == ["AWSPENDING"]


# -- writes_value, writes_staged -------------------------------------------------------------------------
@pytest.mark.parametrize("params, expected", [
    ({}, False),
    ({"description": "d", "tags": {"a": "b"}, "required_keys": ["A"]}, False),
    ({"secret_string": VALUE}, True),
    ({"json_secret": {}}, True),
    ({"generate": ["A"]}, True),
    ({"regenerate": ["A"]}, True),
])
def test_writes_value(params, expected):
    assert writes_value(desired(**params)) is expected


@pytest.mark.parametrize("stages, expected", [
    (None, False),
    (["AWSPENDING"], True),
    (["AWSCURRENT", "BLUE"], False),
    (["BLUE", "AWSCURRENT"], False),
])
def test_writes_staged(stages, expected):
    assert writes_staged(desired(secret_string=VALUE, version_stages=stages)) is expected


def test_invalid_option_messages_never_hold_values():
    for params in ({"secret_string": VALUE * 6000}, {"secret_string": VALUE, "json_secret": {"a": VALUE}},
                   {"secret_string": VALUE, "generate": ["x"]}, {"json_secret": {"k": VALUE}, "version_stages": []},
                   {"json_secret": json.loads(json.dumps({"k": VALUE})), "generate_bytes": 0, "generate": ["a"]}):
        with pytest.raises(InvalidOption) as info:
            desired(**params)
        assert VALUE not in str(info.value), NOT_SHOWN
