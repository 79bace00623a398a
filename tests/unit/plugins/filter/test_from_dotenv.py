# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the ``secretsops.aws.from_dotenv`` filter (plugins/filter/from_dotenv.py).

Every syntax rule is a fixture file under ``fixtures/`` (``*.dotenv``: the repository ignores
``*.env``) with the dictionary python-dotenv's rules give for it. Each fixture is also parsed
with CRLF and CR line endings and with a UTF-8 byte order mark. Errors (duplicate keys,
malformed lines) are tables of inline texts whose values all contain the marker ``s3cr3t``:
no error message, exception chain or traceback may contain it.
"""
import importlib.util
import pathlib
import re
import sys
import traceback

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.secretsops.aws.plugins.filter import from_dotenv as plugin
from ansible_collections.secretsops.aws.plugins.filter.from_dotenv import FilterModule
from ansible_collections.secretsops.aws.plugins.filter.from_dotenv import from_dotenv

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
MARKER = "s3cr3t"

RULES = {
    "export.dotenv": {
        "DB_HOST": "db.internal",
        "DB_PORT": "5432",
        "DB_NAME": "shop",
        "DB_USER": "shop",
    },
    "comments.dotenv": {
        "DB_HOST": "db.internal",
        "DB_PASSWORD": "pa#ss",
        "QUOTED": "has # inside",
        "SINGLE": "also # inside",
        "EMPTY_WITH_COMMENT": "",
    },
    "single_quotes.dotenv": {
        "LITERAL": 'no $EXPANSION, no ${BRACES}, no \\n escape, "double" inside',
        "ESCAPED_QUOTE": "it's",
        "BACKSLASH": "C:\\path\\to",
        "MULTI": "first line\nsecond line",
    },
    "double_quotes.dotenv": {
        "NEWLINE": "line one\nline two",
        "TAB": "a\tb",
        "QUOTE": 'say "hi"',
        "SINGLE_QUOTE": "it's",
        "BACKSLASH": "C:\\path",
        "CARRIAGE": "a\rb",
        "DOLLAR": "pa$$word ${NOT_EXPANDED}",
        "TRAILING_BACKSLASH": "ends with \\",
        "AFTER": "still-parsed",
    },
    "multiline.dotenv": {
        "BEFORE": "1",
        "PRIVATE_KEY": (
            "-----BEGIN EXAMPLE KEY-----\n"
            "ZXhhbXBsZS1ub3QtYS1rZXk=\n"
            "NOT_A_KEY=this line is part of the value\n"
            "# nor is this a comment\n"
            "-----END EXAMPLE KEY-----"
        ),
        "AFTER": "2",
    },
    "equals.dotenv": {
        "DATABASE_URL": "postgres://shop:pw@db.internal:5432/shop?sslmode=require&application_name=api",
        "BASE64_PADDING": "YWJjZA==",
        "QUOTED_EQUALS": "a=b=c",
        "STARTS_WITH_EQUALS": "=leading",
    },
    "empty.dotenv": {
        "UNQUOTED": "",
        "SINGLE": "",
        "DOUBLE": "",
        "SPACES_ONLY": "",
        "SET": "value",
    },
    "no_interpolation.dotenv": {
        "BASE": "https://api.example.com",
        "URL": "${BASE}/v1",
        "BARE": "$BASE/v2",
        "DEFAULTED": "${MISSING:-fallback}",
        "HOME_REF": "$HOME",
        "DOUBLE_DOLLAR": "$$",
    },
    "whitespace.dotenv": {
        "LEADING": "spaces before the key",
        "SPACED": "around the equals sign",
        "TAB_AFTER": "value",
        "LAST": "1",
    },
    "unicode.dotenv": {
        "GREETING": "h\u00e9llo w\u00f6rld",
        "QUOTED": "\u65e5\u672c\u8a9e \u2713",
    },
    "guide_app.dotenv": {
        "NODE_ENV": "production",
        "PORT": "3000",
        "DATABASE_URL": "postgres://shop:Zm9v%2Fbar@db.internal:5432/shop?sslmode=require",
        "DB_PASSWORD": "s3cr3t$with$dollars",
        "JWT_SECRET": "q1w2e3r4t5y6u7i8o9p0",
        "JWT_REFRESH_SECRET": "refresh-fake-value",
        "OPENAI_API_KEY": "sk-fake-openai-key",
        "POSTMARK_SERVER_TOKEN": "00000000-0000-0000-0000-000000000000",
        "STRIPE_SECRET_KEY": "sk_test_fake",
        "STRIPE_WEBHOOK_SECRET": "whsec_fake",
        "SENTRY_DSN": "https://public@o0.ingest.sentry.io/0",
        "APP_SIGNING_KEY": "-----BEGIN EC EXAMPLE KEY-----\nZmFrZS1rZXktbWF0ZXJpYWw=\n-----END EC EXAMPLE KEY-----",
        "EMPTY_OPTIONAL": "",
    },
}


def read_fixture(name):
    # newline="" keeps the file's line endings exactly as they are on disk.
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        return handle.read()


def with_line_ending(text, ending):
    """The same file written with another line ending. A value spanning lines keeps the file's
    line ending inside it (python-dotenv takes a quoted value's characters as they are)."""
    return text.replace("\n", ending)


def expected_with_line_ending(expected, ending, text):
    """Expected values for ``with_line_ending(text, ending)``: the literal line breaks inside
    quoted multi-line values change with the file; ``\\n`` escapes do not."""
    out = {}
    for key, value in expected.items():
        literal = value.replace("\n", ending)
        out[key] = literal if literal in with_line_ending(text, ending) else value
    return out


def error_text(exc_info):
    """Everything an exception can show: the message, repr and arguments of the exception and
    of every exception chained to it (the traceback's source lines are this test file's own)."""
    shown = []
    exc = exc_info.value
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        shown += [str(exc), repr(exc), repr(exc.args)] + traceback.format_exception_only(type(exc), exc)
        shown += [repr(getattr(exc, name, None)) for name in ("message", "orig_exc")]
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\n".join(shown)


def test_every_fixture_is_in_the_table():
    assert sorted(p.name for p in FIXTURES.glob("*.dotenv")) == sorted(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_syntax_rule(name):
    result = from_dotenv(read_fixture(name))
    assert result == RULES[name]
    assert list(result) == list(RULES[name]), "keys keep the file's order"
    assert all(isinstance(value, str) for value in result.values())


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize("name", sorted(RULES))
def test_syntax_rule_with_other_line_endings(name, ending):
    text = read_fixture(name)
    assert "\r" not in text, "fixtures are stored with LF endings"
    result = from_dotenv(with_line_ending(text, ending))
    assert result == expected_with_line_ending(RULES[name], ending, text)


@pytest.mark.parametrize("name", sorted(RULES))
def test_syntax_rule_with_byte_order_mark(name):
    assert from_dotenv("\ufeff" + read_fixture(name)) == RULES[name]
    assert from_dotenv(read_fixture(name).encode("utf-8-sig")) == RULES[name]


def test_crlf_multiline_value_keeps_its_line_break():
    assert from_dotenv('A="one\r\ntwo"\r\nB=2\r\n') == {"A": "one\r\ntwo", "B": "2"}


def test_byte_order_mark_does_not_change_the_first_key():
    result = from_dotenv("\ufeffFIRST=1\r\nSECOND=2\r\n")
    assert list(result) == ["FIRST", "SECOND"]


def test_bytes_are_decoded_as_utf8():
    assert from_dotenv("A=\u00e9\n".encode("utf-8")) == {"A": "\u00e9"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "\ufeff", "   \r\n\t\r\n"])
def test_no_keys_is_an_empty_dict(text):
    assert from_dotenv(text) == {}


def test_no_variable_expansion_and_no_environment(monkeypatch):
    monkeypatch.setenv("BASE", "from-the-environment")
    monkeypatch.setenv("HOME", "/home/from-the-environment")
    result = from_dotenv("BASE=from-the-file\nURL=${BASE}/v1\nH=\"${HOME}\"\nUNSET=${NOT_SET_ANYWHERE}\n")
    assert result == {"BASE": "from-the-file", "URL": "${BASE}/v1", "H": "${HOME}", "UNSET": "${NOT_SET_ANYWHERE}"}


def test_values_are_marked_unsafe():
    """Values are never templated by Ansible: on ansible-core < 2.19 they are AnsibleUnsafeText,
    on 2.19+ plain (untrusted) strings -- the integration test checks the behaviour itself."""
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText

    value = from_dotenv("A={{ lookup('env', 'HOME') }}\n")["A"]
    assert value == "{{ lookup('env', 'HOME') }}"
    if AnsibleUnsafeText("x").__class__ is AnsibleUnsafeText:  # ansible-core < 2.19
        assert isinstance(value, AnsibleUnsafeText)


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"from_dotenv": from_dotenv}


# --- errors: key or line number, never a value ---------------------------------------------

MALFORMED = [
    pytest.param("A=s3cr3t\nB\n", ["line 2: no '='"], id="key-without-equals"),
    pytest.param("export ONLY_KEY\nOTHER=s3cr3t\n", ["line 1: no '='"], id="export-key-without-equals"),
    pytest.param("A=1\n\n\ns3cr3t_pasted_on_its_own_line\n", ["line 4: no '='"], id="bare-value-after-blank-lines"),
    pytest.param("A=1\nKEY s3cr3t-value\n", ["line 2: not a KEY=VALUE line"], id="space-instead-of-equals"),
    pytest.param("=s3cr3t-value\n", ["line 1: not a KEY=VALUE line"], id="no-key"),
    pytest.param("A=\"s3cr3t unterminated\nB=2\n", ["line 1: not a KEY=VALUE line"], id="unterminated-double-quote"),
    pytest.param("A='s3cr3t unterminated\nB=2\n", ["line 1: not a KEY=VALUE line"], id="unterminated-single-quote"),
    pytest.param("A=\"s3cr3t\" trailing-s3cr3t\n", ["line 1: not a KEY=VALUE line"], id="text-after-closing-quote"),
    pytest.param("A=\"s3cr3t one\ns3cr3t two\"\ns3cr3t_bare\n", ["line 3: no '='"], id="after-multiline-value"),
    pytest.param("# c\r\n\r\ns3cr3t_bare\r\nB=2\r\n", ["line 3: no '='"], id="crlf-line-numbers"),
    pytest.param("A=1\rs3cr3t_bare\r", ["line 2: no '='"], id="cr-line-numbers"),
    pytest.param("\ufeffs3cr3t_bare\n", ["line 1: no '='"], id="bom-first-line"),
    pytest.param(
        "GOOD=s3cr3t-1\ns3cr3t_bare\nKEY s3cr3t\n=s3cr3t\n",
        ["line 2: no '='", "line 3: not a KEY=VALUE line", "line 4: not a KEY=VALUE line"],
        id="every-bad-line-reported",
    ),
]

DUPLICATES = [
    pytest.param("A=s3cr3t-1\nB=2\nA=s3cr3t-2\n", ["line 3: duplicate key A (first set on line 1)"], id="same-line-form"),
    pytest.param("export TOKEN=s3cr3t-1\nTOKEN='s3cr3t-2'\n", ["line 2: duplicate key TOKEN (first set on line 1)"], id="export-and-plain"),
    pytest.param("A=s3cr3t\nA=s3cr3t\n", ["line 2: duplicate key A (first set on line 1)"], id="same-value-still-fails"),
    pytest.param(
        "A=\"s3cr3t\nmulti\"\nB=1\nA=s3cr3t-2\nB=s3cr3t-3\n",
        ["line 4: duplicate key A (first set on line 1)", "line 5: duplicate key B (first set on line 3)"],
        id="after-multiline-value",
    ),
]


@pytest.mark.parametrize("text, messages", MALFORMED + DUPLICATES)
def test_error_names_line_and_key_never_a_value(text, messages):
    assert MARKER in text
    with pytest.raises(AnsibleFilterError) as exc_info:
        from_dotenv(text)
    message = str(exc_info.value)
    for expected in messages:
        assert expected in message
    assert len(re.findall(r"(?:: |; )line \d+: ", message)) == len(messages), message
    shown = error_text(exc_info)
    assert MARKER not in shown.lower()
    assert exc_info.value.__cause__ is None


def test_error_lists_at_most_twenty_lines():
    text = "".join(f"s3cr3t_bare_{n}\n" for n in range(25))
    with pytest.raises(AnsibleFilterError, match=r"line 20: .*; and 5 more$") as exc_info:
        from_dotenv(text)
    assert "line 21" not in str(exc_info.value)
    assert MARKER not in error_text(exc_info)


def test_invalid_utf8_names_the_line_not_the_byte():
    text = b"A=1\nB=s3cr3t-\xff\xfe-tail\n"
    with pytest.raises(AnsibleFilterError, match=r"line 2 is not valid UTF-8") as exc_info:
        from_dotenv(text)
    shown = error_text(exc_info)
    assert MARKER not in shown
    assert "0xff" not in shown and "xff" not in shown


@pytest.mark.parametrize("value", [None, 42, ["A=1"], {"A": "1"}])
def test_input_must_be_text(value):
    with pytest.raises(AnsibleFilterError, match=r"expects the text of a \.env file \(a string\), got " + type(value).__name__):
        from_dotenv(value)


def test_unexpected_error_carries_no_content(monkeypatch):
    def broken_parser(stream):
        raise RuntimeError("parser failed on " + stream.read())

    monkeypatch.setattr(plugin, "parse_stream", broken_parser)
    with pytest.raises(AnsibleFilterError, match="unexpected RuntimeError") as exc_info:
        from_dotenv("A=s3cr3t\n")
    assert MARKER not in error_text(exc_info)


def test_missing_python_dotenv_names_the_package(monkeypatch):
    """Load the plugin file as if python-dotenv were not installed (an import of a module set to
    None in sys.modules raises ImportError)."""
    monkeypatch.setitem(sys.modules, "dotenv", None)
    monkeypatch.setitem(sys.modules, "dotenv.parser", None)
    spec = importlib.util.spec_from_file_location("from_dotenv_without_library", plugin.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.parse_stream is None
    with pytest.raises(AnsibleFilterError) as exc_info:
        module.from_dotenv("A=s3cr3t\n")
    message = str(exc_info.value)
    assert "python-dotenv" in message
    assert "pip install python-dotenv" in message
    assert MARKER not in error_text(exc_info)
