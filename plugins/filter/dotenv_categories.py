# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: dotenv_categories
short_description: Sort the keys of a C(.env) dictionary into secret categories
version_added: 0.1.0
description:
  - "Takes the dictionary of a C(.env) file (for example the output of P(secretsops.aws.from_dotenv#filter))
    and returns one dictionary per category, C({category: {KEY: value}}), ready to be stored as one JSON
    secret per category under a prefix (C(prod/shop/database), C(prod/shop/jwt)...)."
  - A key goes to the category whose list names it, literally or with a shell-style glob
    (C(*), C(?), C([abc]), C([!abc]); Python C(fnmatch), case-sensitive, so C(DB_*) does not match C(db_host)).
  - Keys matched by O(exclude) are left out first, whatever the categories say (plain settings such as
    C(NODE_ENV) or C(PORT) that are no secrets).
  - Keys that no category matches go to O(default_category) when it is set; without it they fail the filter.
  - Fails with a message that names keys and categories, never a value, when a key matches no category
    (and there is no O(default_category)), when a key matches two categories (naming the key and both
    categories), when a category name is not a valid path element of a secret name
    (1 to 256 characters of C(A-Z a-z 0-9 _ + = . @ -), not only dots), or when an argument has the
    wrong type (a string where a list of patterns is expected, for instance). Every problem is reported
    at once.
  - Categories are returned in the order of O(categories) (then O(default_category)), keys in the order
    of the input; a category that gets no key is left out. Values are returned as given (unsafe strings
    stay unsafe).
  - Pure and local; makes no AWS call.
author:
  - secretsops contributors (@secretsops)
positional: _input, categories
options:
  _input:
    description:
      - "The C(.env) keys and values, C({KEY: value})."
    type: dict
    required: true
  categories:
    description:
      - "The categories and the keys each one takes, C({category: [KEY or glob, ...]}), for example
        C({database: [DATABASE_URL, DB_*], jwt: [JWT_*]})."
      - Each list must be a YAML list; a single string is refused (it is not a list of patterns).
    type: dict
    required: true
  exclude:
    description:
      - Keys or globs left out of every category.
    type: list
    elements: str
    default: []
  default_category:
    description:
      - Category of the keys that no entry of O(categories) matches. Omitted or empty, such keys fail the filter.
    type: str
seealso:
  - plugin: secretsops.aws.from_dotenv
    plugin_type: filter
  - name: Python fnmatch
    description: The glob syntax of the patterns.
    link: https://docs.python.org/3/library/fnmatch.html
"""

EXAMPLES = r"""
- name: Store each category of a .env file as one JSON secret (values never shown)
  secretsops.aws.secret_bulk:
    prefix: prod/shop
    secrets: "{{ by_category | dict2items(key_name='category', value_name='json') }}"
  vars:
    by_category: >-
      {{ lookup('ansible.builtin.file', '/home/me/shop/.env') | secretsops.aws.from_dotenv
         | secretsops.aws.dotenv_categories({'database': ['DATABASE_URL', 'DB_*'], 'jwt': ['JWT_*']},
                                            exclude=['NODE_ENV', 'PORT'], default_category='app') }}
  no_log: true

# With {"NODE_ENV": "production", "DB_HOST": "db", "DB_PASSWORD": "pw", "JWT_SECRET": "j", "SENTRY_DSN": "s"}
# the result is
#   {"database": {"DB_HOST": "db", "DB_PASSWORD": "pw"}, "jwt": {"JWT_SECRET": "j"}, "app": {"SENTRY_DSN": "s"}}
# Without default_category the same input fails with:
#   dotenv_categories: keys matched by no category (map them in categories, exclude them, or set a
#   default category): SENTRY_DSN

- name: Only the key names per category (safe to show)
  ansible.builtin.debug:
    msg: "{{ dict(by_category.keys() | zip(by_category.values() | map('list'))) }}"
  vars:
    by_category: "{{ app_env | secretsops.aws.dotenv_categories({'database': ['DB_*']}, default_category='app') }}"
"""

RETURN = r"""
_value:
  description:
    - "C({category: {KEY: value}}), categories in the order of O(categories) then O(default_category),
      keys in input order; a category without keys is left out."
  type: dict
"""

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase

from ansible.errors import AnsibleFilterError

try:
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # a future ansible-core without the unsafe proxy: its strings are never templated
    def wrap_var(value):
        return value

# A path element of a secret name: AWS's name charset without '/'.
_CATEGORY = re.compile(r"[A-Za-z0-9_+=.@-]{1,256}")
_SHOWN = 20


class DotenvCategoriesError(AnsibleFilterError):
    """Keys cannot be sorted into categories; the message names keys and categories only."""


def _names(items):
    items = list(items)
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _is_list(value):
    return isinstance(value, (list, tuple))


def category_problem(name):
    """Why ``name`` is not a valid category (a path element of a secret name), or None."""
    if not isinstance(name, str):
        return f"a category name must be a string, got {type(name).__name__}"
    if not _CATEGORY.fullmatch(name):
        return (f"category {name!r} is not a valid secret name element "
                "(1-256 characters of A-Z a-z 0-9 _ + = . @ -, no '/')")
    if set(name) == {"."}:
        return f"category {name!r} is not a valid secret name element (only dots)"
    return None


def _patterns(value, where, problems):
    """The patterns of ``where`` as a list of strings; problems appended for a wrong type."""
    if value is None:
        return []
    if not _is_list(value):
        problems.append(f"{where} must be a list of keys or globs, not {'a string' if isinstance(value, str) else type(value).__name__}")
        return []
    out = []
    for index, pattern in enumerate(value):
        if not isinstance(pattern, str) or not pattern:
            problems.append(f"{where}[{index}] must be a non-empty string (a key or a glob)")
        else:
            out.append(pattern)
    return out


def _check_arguments(env, categories, exclude, default_category):
    """(wanted {category: patterns}, excluded patterns, default category or None), or
    DotenvCategoriesError listing every argument problem."""
    problems = []
    if not isinstance(env, Mapping):
        raise DotenvCategoriesError(
            f"dotenv_categories expects the dictionary of a .env file, got {type(env).__name__}; "
            "for example lookup('ansible.builtin.file', path) | secretsops.aws.from_dotenv | secretsops.aws.dotenv_categories(...)"
        )
    bad_keys = [type(key).__name__ for key in env if not isinstance(key, str)]
    if bad_keys:
        problems.append(f"every key must be a string ({len(bad_keys)} are not: {_names(sorted(set(bad_keys)))})")
    if not isinstance(categories, Mapping):
        raise DotenvCategoriesError(
            "dotenv_categories: categories must be a mapping {category: [KEY or glob, ...]}, "
            f"not {'a string' if isinstance(categories, str) else type(categories).__name__}"
        )
    wanted = {}
    for name, value in categories.items():
        problem = category_problem(name)
        if problem:
            problems.append(problem)
            continue
        wanted[name] = _patterns(value, f"categories.{name}", problems)
    excluded = _patterns(exclude, "exclude", problems)
    default_category = None if default_category in (None, "") else default_category
    if default_category is not None and category_problem(default_category):
        problems.append("default_category: " + category_problem(default_category))
    if problems:  # argument problems first: key matching on wrong arguments only adds noise
        raise DotenvCategoriesError("dotenv_categories: " + "; ".join(problems))
    return wanted, excluded, default_category


def map_categories(env, categories, exclude=None, default_category=None):
    """Sort the keys of ``env`` into ``{category: {key: value}}``.

    Raises DotenvCategoriesError listing every problem: wrong argument types, invalid category
    names, keys matched by no category (without ``default_category``), keys matched by two or
    more categories.  Messages name keys and categories, never values.
    """
    wanted, excluded, default_category = _check_arguments(env, categories, exclude, default_category)
    order = list(wanted) + ([default_category] if default_category is not None and default_category not in wanted else [])
    result = {name: {} for name in order}
    unmapped, doubles, problems = [], [], []
    for key in env:
        if any(fnmatchcase(key, pattern) for pattern in excluded):
            continue
        matched = [name for name, patterns in wanted.items() if any(fnmatchcase(key, pattern) for pattern in patterns)]
        if len(matched) > 1:
            doubles.append(f"{key} (categories {' and '.join(matched)})")
        elif matched:
            result[matched[0]][key] = env[key]
        elif default_category is not None:
            result[default_category][key] = env[key]
        else:
            unmapped.append(key)
    if doubles:
        problems.append("keys matched by more than one category (each key must belong to exactly one): " + _names(doubles))
    if unmapped:
        problems.append("keys matched by no category (map them in categories, exclude them, or set a "
                        "default category): " + _names(unmapped))
    if problems:
        raise DotenvCategoriesError("dotenv_categories: " + "; ".join(problems))
    return wrap_var({name: keys for name, keys in result.items() if keys})


def dotenv_categories(env, categories, exclude=None, default_category=None):
    try:
        return map_categories(env, categories, exclude=exclude, default_category=default_category)
    except AnsibleFilterError:
        raise
    except Exception as exc:  # never let an unexpected error carry values along
        raise AnsibleFilterError(
            f"dotenv_categories: unexpected {type(exc).__name__} while sorting the keys"
        ) from None


class FilterModule(object):
    def filters(self):
        return {"dotenv_categories": dotenv_categories}
