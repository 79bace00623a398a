# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: from_dotenv
short_description: Parse the text of a C(.env) file into a dictionary of strings
version_added: 0.1.0
description:
  - Parses C(.env) text by the rules of the C(python-dotenv) library (its parser is used, not a
    copy of it) and returns a dictionary of C(KEY) to C(value), in file order, every value a string.
  - Supported syntax, as in C(python-dotenv) - an optional C(export) prefix; C(#) comment lines and
    inline comments after a value (a C(#) preceded by whitespace); single-quoted values taken
    literally (only C(\') and C(\\) are escapes); double-quoted values with the escapes C(\n),
    C(\t), C(\r), C(\"), C(\\) and the like; single- or double-quoted values spanning several
    lines; C(=) inside values (only the first C(=) separates key and value); empty values (C(KEY=));
    C(LF), C(CRLF) or C(CR) line endings; a leading UTF-8 byte order mark.
  - No variable expansion - C(${OTHER}) and C($OTHER) stay in the value literally (a secret may
    contain C($)), and nothing is read from the environment.
  - Values are marked unsafe, so Ansible never templates a value that contains C({{).
  - Fails, naming the key or the line number and never a value, on a duplicate key (python-dotenv
    would silently keep the last one), on a line that is not C(KEY=VALUE) (such as a bare word or a
    key without C(=), which python-dotenv would map to a null value, or an unterminated quote), and
    on text that is not a string. A bare word is reported by line number only, since it may be a
    pasted value.
  - Runs on the controller and needs the C(python-dotenv) Python library (1.2.4 or later) there,
    in the Python that runs Ansible (C(pip install python-dotenv)).
author:
  - secretsops contributors (@secretsops)
requirements:
  - python-dotenv >= 1.2.4 (on the Ansible controller)
positional: _input
options:
  _input:
    description:
      - The text of a C(.env) file, for example from C(lookup('ansible.builtin.file', '.env')).
      - Bytes are decoded as UTF-8.
    type: str
    required: true
seealso:
  - name: python-dotenv file format
    description: The C(.env) syntax this filter follows.
    link: https://github.com/theskumar/python-dotenv#file-format
  - plugin: ansible.builtin.file
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Read a .env file on the controller into a dictionary (never print it)
  ansible.builtin.set_fact:
    app_env: "{{ lookup('ansible.builtin.file', 'files/app.env') | secretsops.aws.from_dotenv }}"
  no_log: true

# With files/app.env containing:
#   # database
#   export DB_HOST=db.internal
#   DB_PASSWORD='p@ss$word'            # single quotes: taken literally
#   JWT_SECRET="line one\nline two"     # double quotes: escapes decoded
#   DATABASE_URL=postgres://u:p@h/db?sslmode=require
#   EMPTY=
# app_env is
#   {"DB_HOST": "db.internal", "DB_PASSWORD": "p@ss$word", "JWT_SECRET": "line one<newline>line two",
#    "DATABASE_URL": "postgres://u:p@h/db?sslmode=require", "EMPTY": ""}

- name: Store the file's keys as one JSON secret
  secretsops.aws.secret:
    name: prod/shop/app
    json_secret: "{{ lookup('ansible.builtin.file', 'files/app.env') | secretsops.aws.from_dotenv }}"

- name: Only the names of the keys (safe to show)
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'files/app.env') | secretsops.aws.from_dotenv | list }}"
"""

RETURN = r"""
_value:
  description:
    - The keys of the file and their values, in file order. Every value is a string (an empty value
      is an empty string); values are marked unsafe, so they are never templated.
  type: dict
"""

import io
import re

try:
    from dotenv.parser import parse_stream
except ImportError as exc:
    parse_stream = None
    DOTENV_IMPORT_ERROR = exc
else:
    DOTENV_IMPORT_ERROR = None

from ansible.errors import AnsibleFilterError

try:
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # a future ansible-core without the unsafe proxy: its strings are never templated
    def wrap_var(value):
        return value

_BOM = "\ufeff"
# The line endings python-dotenv counts (its parser's _newline).
_NEWLINE = re.compile(r"\r\n|\n|\r")

MISSING_LIBRARY = (
    "The secretsops.aws.from_dotenv filter needs the python-dotenv Python library on the Ansible "
    "controller, in the Python that runs Ansible. Install it with: pip install python-dotenv "
    "(or add python-dotenv to the execution environment)"
)


class DotenvError(AnsibleFilterError):
    """A .env text that cannot be turned into a dictionary; the message names keys and line
    numbers only, never a value (and no exception with file content is chained to it)."""


def _text(data):
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # The codec's own message quotes the offending byte: report its line only.
            line = len(_NEWLINE.findall(data[:exc.start].decode("utf-8", "replace"))) + 1
            raise DotenvError(f"from_dotenv: line {line} is not valid UTF-8") from None
    if isinstance(data, str):
        return str(data)
    raise DotenvError(
        f"from_dotenv expects the text of a .env file (a string), got {type(data).__name__}; "
        "for example lookup('ansible.builtin.file', '.env') | secretsops.aws.from_dotenv"
    )


def _first_line(binding):
    """Line number of the binding's first non-blank line: python-dotenv reports the line where
    its reader started, which includes the blank lines before the statement."""
    text = binding.original.string
    leading = text[:len(text) - len(text.lstrip())]
    return binding.original.line + len(_NEWLINE.findall(leading))


def parse_dotenv(data):
    """Parse .env text into a dict {key: value} by python-dotenv's rules, without expansion.

    Raises DotenvError naming the line number (malformed line, key without ``=``) or the key
    and its lines (duplicate key); a message never contains a value.
    """
    if parse_stream is None:
        raise AnsibleFilterError(MISSING_LIBRARY) from DOTENV_IMPORT_ERROR
    text = _text(data)
    if text.startswith(_BOM):  # python-dotenv < 1.2.3 keeps it as part of the first key
        text = text[len(_BOM):]

    result = {}
    first_seen = {}
    problems = []
    for binding in parse_stream(io.StringIO(text, newline="")):
        line = _first_line(binding)
        if binding.error:
            problems.append(
                f"line {line}: not a KEY=VALUE line (python-dotenv cannot parse it; "
                "an unterminated quote or a space in the key?)"
            )
        elif binding.key is None:
            continue  # a comment or blank lines
        elif binding.value is None:
            # A bare word: a key without '=', or a value pasted on a line of its own. Its text
            # is not repeated, as it may be a secret.
            problems.append(f"line {line}: no '=' (a KEY=VALUE line is expected; write KEY= for an empty value)")
        elif binding.key in first_seen:
            problems.append(f"line {line}: duplicate key {binding.key} (first set on line {first_seen[binding.key]})")
        else:
            first_seen[binding.key] = line
            result[binding.key] = binding.value
    if problems:
        shown = problems[:20]
        more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise DotenvError("from_dotenv: " + "; ".join(shown) + more)
    return wrap_var(result)


def from_dotenv(data):
    try:
        return parse_dotenv(data)
    except AnsibleFilterError:
        raise
    except Exception as exc:  # never let an unexpected error carry file content along
        raise AnsibleFilterError(
            f"from_dotenv: unexpected {type(exc).__name__} while parsing the .env text"
        ) from None


class FilterModule(object):
    def filters(self):
        return {"from_dotenv": from_dotenv}
