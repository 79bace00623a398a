# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the ``secretsops.aws.dotenv_categories`` filter (plugins/filter/dotenv_categories.py).

Every value contains the marker ``s3cr3t``: no error message, exception chain or traceback may
contain it. Key and category names are not secret and are expected in messages.
"""
import traceback

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.secretsops.aws.plugins.filter.dotenv_categories import FilterModule
from ansible_collections.secretsops.aws.plugins.filter.dotenv_categories import category_problem
from ansible_collections.secretsops.aws.plugins.filter.dotenv_categories import dotenv_categories

MARKER = "s3cr3t"

# The guide's app, in file order.
ENV = {
    "NODE_ENV": "production",
    "PORT": "3000",
    "DATABASE_URL": f"postgres://shop:{MARKER}@db/shop",
    "DB_PASSWORD": f"{MARKER}-db",
    "JWT_SECRET": f"{MARKER}-jwt",
    "JWT_REFRESH_SECRET": f"{MARKER}-refresh",
    "OPENAI_API_KEY": f"{MARKER}-openai",
    "POSTMARK_SERVER_TOKEN": f"{MARKER}-postmark",
    "STRIPE_SECRET_KEY": f"{MARKER}-stripe",
    "STRIPE_WEBHOOK_SECRET": f"{MARKER}-whsec",
    "SESSION_SECRET": f"{MARKER}-session",
}
CATEGORIES = {
    "database": ["DATABASE_URL", "DB_*"],
    "jwt": ["JWT_*"],
    "openai": ["OPENAI_*"],
    "postmark": ["POSTMARK_*"],
    "stripe": ["STRIPE_*"],
}


def failure(*args, **kwargs):
    """The error of a call that must fail, checked to contain no value anywhere."""
    with pytest.raises(AnsibleFilterError) as info:
        dotenv_categories(*args, **kwargs)
    text = "".join(traceback.format_exception(info.type, info.value, info.tb))
    assert MARKER not in text, "a value appeared in the error or its traceback"
    assert info.value.__cause__ is None and (info.value.__context__ is None or info.value.__suppress_context__)
    return str(info.value)


def test_filter_is_registered():
    assert FilterModule().filters() == {"dotenv_categories": dotenv_categories}


def test_guide_app_is_sorted_in_order_with_exclude_and_default():
    result = dotenv_categories(ENV, CATEGORIES, exclude=["NODE_ENV", "PORT"], default_category="app")
    assert list(result) == ["database", "jwt", "openai", "postmark", "stripe", "app"]
    assert list(result["database"]) == ["DATABASE_URL", "DB_PASSWORD"]
    assert list(result["jwt"]) == ["JWT_SECRET", "JWT_REFRESH_SECRET"]
    assert list(result["stripe"]) == ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
    assert result["app"] == {"SESSION_SECRET": ENV["SESSION_SECRET"]}
    merged = {key: value for keys in result.values() for key, value in keys.items()}
    assert merged == {key: value for key, value in ENV.items() if key not in ("NODE_ENV", "PORT")}


@pytest.mark.parametrize("pattern, key, matches", [
    ("DB_*", "DB_HOST", True),
    ("DB_*", "db_host", False),  # case-sensitive on every platform
    ("DB_?", "DB_X", True),
    ("DB_?", "DB_XY", False),
    ("DB_[HP]*", "DB_PORT", True),
    ("DB_[!HP]*", "DB_PORT", False),
    ("*_SECRET", "JWT_SECRET", True),
    ("*", "ANYTHING", True),
    ("DB_HOST", "DB_HOST", True),
    ("DB_HOST", "DB_HOSTNAME", False),  # a literal key is matched whole
])
def test_globs_are_shell_style_and_case_sensitive(pattern, key, matches):
    result = dotenv_categories({key: "v"}, {"c": [pattern]}, default_category="rest")
    assert (list(result) == ["c"]) is matches


def test_exclude_wins_over_categories_and_default():
    result = dotenv_categories(ENV, {"app": ["*"]}, exclude=["NODE_ENV", "P?RT"], default_category="other")
    assert list(result) == ["app"]
    assert "NODE_ENV" not in result["app"] and "PORT" not in result["app"]


def test_default_category_may_also_be_listed():
    result = dotenv_categories({"A": "1", "B": "2"}, {"app": ["A"], "x": ["Z"]}, default_category="app")
    assert result == {"app": {"A": "1", "B": "2"}}  # x gets no key: left out


def test_empty_default_category_means_none():
    message = failure({"A": "1"}, {"x": ["B"]}, default_category="")
    assert "keys matched by no category" in message and "A" in message


def test_empty_input_gives_an_empty_mapping():
    assert dotenv_categories({}, {"app": ["*"]}) == {}


def test_unmapped_keys_are_named_without_values():
    message = failure(ENV, CATEGORIES, exclude=["NODE_ENV"])
    assert message == (
        "dotenv_categories: keys matched by no category (map them in categories, exclude them, "
        "or set a default category): PORT, SESSION_SECRET"
    )


def test_a_key_in_two_categories_names_the_key_and_both_categories():
    message = failure(ENV, dict(CATEGORIES, app=["*_SECRET"], legacy=["JWT_SECRET"]), default_category="app")
    assert "keys matched by more than one category" in message
    assert "JWT_SECRET (categories jwt and app and legacy)" in message
    assert "STRIPE_WEBHOOK_SECRET (categories stripe and app)" in message
    assert "JWT_REFRESH_SECRET (categories jwt and app)" in message
    assert "DB_PASSWORD" not in message


def test_two_patterns_of_one_category_are_no_conflict():
    result = dotenv_categories({"DB_HOST": "h"}, {"database": ["DB_*", "DB_HOST", "*HOST"]})
    assert result == {"database": {"DB_HOST": "h"}}


def test_unmapped_and_doubles_are_reported_together():
    message = failure({"A": MARKER, "B": MARKER}, {"x": ["B"], "y": ["B"]})
    assert "B (categories x and y)" in message and "matched by no category" in message and message.endswith(": A")


def test_many_unmapped_keys_are_shortened():
    message = failure({f"K{i:02d}": MARKER for i in range(25)}, {"x": ["NONE"]})
    assert "K19" in message and "K20" not in message and "and 5 more" in message


@pytest.mark.parametrize("name", ["database", "a", "jwt-v2", "app.prod", "x_y", "a+b=c@d", "A" * 256, ".hidden"])
def test_valid_category_names(name):
    assert category_problem(name) is None
    assert dotenv_categories({"K": "v"}, {name: ["K"]}) == {name: {"K": "v"}}


@pytest.mark.parametrize("name, expected", [
    ("", "not a valid secret name element"),
    ("prod/shop", "no '/'"),
    ("with space", "not a valid secret name element"),
    ("ünïcode", "not a valid secret name element"),
    ("A" * 257, "not a valid secret name element"),
    ("..", "only dots"),
    (".", "only dots"),
    (5, "must be a string, got int"),
])
def test_invalid_category_names_fail(name, expected):
    assert expected in failure({"K": MARKER}, {name: ["K"]})
    if name not in ("", 5):  # an empty default category means "none"
        message = failure({"K": MARKER}, {}, default_category=name)
        assert "default_category: " in message and expected in message
        assert "matched by no category" not in message  # not reported on top of the bad default


@pytest.mark.parametrize("categories, exclude, expected", [
    ({"app": "DB_*"}, [], "categories.app must be a list of keys or globs, not a string"),
    ({"app": {"DB_*": 1}}, [], "categories.app must be a list of keys or globs, not dict"),
    ({"app": ["DB_*", 5]}, [], "categories.app[1] must be a non-empty string"),
    ({"app": [""]}, [], "categories.app[0] must be a non-empty string"),
    ({"app": ["*"]}, "NODE_ENV", "exclude must be a list of keys or globs, not a string"),
    ({"app": ["*"]}, [None], "exclude[0] must be a non-empty string"),
])
def test_wrong_shapes_fail_before_matching(categories, exclude, expected):
    message = failure({"DB_HOST": MARKER}, categories, exclude=exclude)
    assert expected in message
    assert "matched by no category" not in message


def test_a_category_without_patterns_takes_no_key():
    assert dotenv_categories({"A": "1"}, {"empty": None, "x": [], "app": ["A"]}) == {"app": {"A": "1"}}


@pytest.mark.parametrize("env, categories, expected", [
    (f"A={MARKER}", {"app": ["*"]}, "expects the dictionary of a .env file, got str"),
    ([("A", MARKER)], {"app": ["*"]}, "expects the dictionary of a .env file, got list"),
    ({"A": MARKER}, "app", "categories must be a mapping"),
    ({"A": MARKER}, ["app"], "categories must be a mapping"),
    ({1: MARKER}, {"app": ["*"]}, "every key must be a string"),
])
def test_wrong_argument_types_fail(env, categories, expected):
    assert expected in failure(env, categories)


def test_an_unexpected_error_carries_no_value():
    class Exploding(dict):
        def __iter__(self):
            raise RuntimeError(MARKER)

    message = failure(Exploding(A=MARKER), {"app": ["*"]})
    assert message == "dotenv_categories: unexpected RuntimeError while sorting the keys"


def test_values_keep_their_type_and_identity():
    value = object()
    result = dotenv_categories({"A": value}, {"app": ["A"]})
    assert result["app"]["A"] is value
