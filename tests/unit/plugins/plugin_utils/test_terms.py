# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``plugin_utils/_terms.py``: the lookup's term parsing, JSON key selection and
value decoding (pure; no AWS)."""
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import decode_value
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import parse_term
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import select_key

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf"
PARTIAL_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database"
VALUE = "test-value-1"
NOT_SHOWN = "a secret value leaked into the output"
DATA = {"n": 42, "f": 1.5, "b": True, "z": None, "s": "text", "o": {"x": {"y": [1, 2]}}, "a.b": "literal", "a": {"b": "path"}}


# -- parse_term ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("term, expected", [
    ("prod/shop/database", ("prod/shop/database", None, None, None)),
    ("app.prod.db", ("app.prod.db", None, None, None)),
    ("app.prod.db:DATABASE_URL", ("app.prod.db", "DATABASE_URL", None, None)),
    ("prod/shop/jwt:JWT_SECRET:AWSPREVIOUS", ("prod/shop/jwt", "JWT_SECRET", "AWSPREVIOUS", None)),
    ("prod/shop/jwt::AWSPREVIOUS", ("prod/shop/jwt", None, "AWSPREVIOUS", None)),
    ("prod/shop/jwt:::v-123", ("prod/shop/jwt", None, None, "v-123")),
    ("prod/shop/jwt:a.b::", ("prod/shop/jwt", "a.b", None, None)),
    ("prod/shop/jwt:", ("prod/shop/jwt", None, None, None)),
    (ARN, (ARN, None, None, None)),
    (ARN + ":DATABASE_URL::", (ARN, "DATABASE_URL", None, None)),
    (ARN + ":k:AWSCURRENT:v1", (ARN, "k", "AWSCURRENT", "v1")),
    (PARTIAL_ARN, (PARTIAL_ARN, None, None, None)),
    (PARTIAL_ARN + ":DATABASE_URL", (PARTIAL_ARN, "DATABASE_URL", None, None)),
    ("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x", ("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x",
                                                                    None, None, None)),
])
def test_parse_term(term, expected):
    assert parse_term(term) == expected


@pytest.mark.parametrize("term", [
    "",
    None,
    42,
    "name:a:b:c:d",
    ARN + ":a:b:c:d",
    "arn:aws:secretsmanager:us-east-1",
    "arn:aws:ssm:us-east-1:123456789012:parameter:x",  # another service
    "arn:aws:secretsmanager:us-east-1:123456789012:other:x",  # not a secret
    "bad name:key",
    ":key",
])
def test_parse_term_invalid(term):
    with pytest.raises(InvalidOption) as info:
        parse_term(term)
    assert info.value.option == "_terms"


def test_parse_term_wrong_arn_shows_the_expected_form():
    with pytest.raises(InvalidOption) as info:
        parse_term("arn:aws:ssm:us-east-1:123456789012:parameter:x")
    assert "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME" in str(info.value)


# -- select_key -----------------------------------------------------------------------------------------
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
    result = select_key(DATA, key, "prod/shop/app")
    assert result == expected and type(result) is type(expected)


def test_select_key_none_returns_any_value():
    assert select_key("text", None, "s") == "text"


@pytest.mark.parametrize("value, key", [(DATA, "missing"), (DATA, "o.missing"), (DATA, "n.x"), ("text", "k"), ([1], "k")])
def test_select_key_missing(value, key):
    with pytest.raises(KeyError) as info:
        select_key(value, key, "prod/shop/app")
    assert "prod/shop/app" in str(info.value)


@pytest.mark.parametrize("key, level", [
    ("missing", "at the top level: a, a.b, b, f, n, o, s, z"),
    ("o.missing", "under 'o': x"),
    ("o.x.missing", "under 'o.x': y"),
    ("n.x", "'n' is not a JSON object"),
])
def test_select_key_error_names_the_level_that_lacks_the_key(key, level):
    with pytest.raises(KeyError) as info:
        select_key(DATA, key, "prod/shop/app")
    assert level in str(info.value)


def test_select_key_error_lists_keys_not_values():
    with pytest.raises(KeyError) as info:
        select_key({"K": VALUE}, "other", "s")
    assert "K" in str(info.value) and VALUE not in str(info.value), NOT_SHOWN
    with pytest.raises(KeyError) as info:
        select_key({"K": {"inner": VALUE}}, "K.other", "s")
    assert VALUE not in str(info.value), NOT_SHOWN


def test_select_key_on_an_empty_object():
    with pytest.raises(KeyError) as info:
        select_key({}, "k", "s")
    assert "none" in str(info.value)


# -- decode_value -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("response, binary, expected", [
    ({"SecretString": '{"a": 1}'}, "base64", {"a": 1}),
    ({"SecretString": "[1, 2]"}, "base64", [1, 2]),
    ({"SecretString": VALUE}, "base64", VALUE),
    ({"SecretString": "42"}, "base64", "42"),
    ({"SecretString": "true"}, "base64", "true"),
    ({"SecretString": "null"}, "base64", "null"),
    ({"SecretString": ""}, "base64", ""),
    ({"SecretBinary": b"\x00\xff"}, "base64", "AP8="),
    ({"SecretBinary": b"\x00\xff"}, "raw", b"\x00\xff"),
    ({}, "base64", None),
])
def test_decode_value(response, binary, expected):
    result = decode_value(response, binary)
    assert result == expected and type(result) is type(expected)


def test_decode_value_default_is_base64():
    assert decode_value({"SecretBinary": b"\x00\xff"}) == "AP8="
