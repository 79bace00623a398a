# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``secretsops.aws.from_dotenv`` filter through ``ansible-playbook`` (``run_play`` from
conftest.py): ``lookup('ansible.builtin.file', ...) | secretsops.aws.from_dotenv`` as a user
writes it, on a file with a byte order mark and CRLF line endings.

The filter needs no AWS; ``run_play`` runs the playbook the way every integration test does.
Values are fake; assertions compare data and their messages name keys only.
"""
import pytest

pytestmark = pytest.mark.integration

MARKER = "s3cr3t"

# Written with a UTF-8 byte order mark and CRLF line endings (a file saved on Windows).
DOTENV = "\ufeff" + "\r\n".join([
    "# The guide's app (fake values)",
    "NODE_ENV=production",
    "export DATABASE_URL=\"postgres://shop:pw@db.internal:5432/shop?sslmode=require\"",
    "DB_PASSWORD='s3cr3t-$HOME-${NOT_EXPANDED}'",
    "JWT_SECRET=\"s3cr3t-jwt\\nsecond line\"  # inline comment",
    "TEMPLATE_LIKE={{ 6 * 7 }}",
    "LOOKUP_LIKE=\"{{ lookup('ansible.builtin.env', 'HOME') }}\"",
    "EMPTY=",
    "",
])
EXPECTED = {
    "NODE_ENV": "production",
    "DATABASE_URL": "postgres://shop:pw@db.internal:5432/shop?sslmode=require",
    "DB_PASSWORD": "s3cr3t-$HOME-${NOT_EXPANDED}",
    "JWT_SECRET": "s3cr3t-jwt\nsecond line",
    "TEMPLATE_LIKE": "{{ 6 * 7 }}",
    "LOOKUP_LIKE": "{{ lookup('ansible.builtin.env', 'HOME') }}",
    "EMPTY": "",
}

PARSE_TASKS = [
    {
        "name": "Parse the .env file",
        "ansible.builtin.set_fact": {
            "parsed": "{{ lookup('ansible.builtin.file', dotenv_path) | secretsops.aws.from_dotenv }}",
        },
    },
    {
        # Values that look like Jinja must stay text when used again in a template.
        "name": "Use the values in other templates",
        "ansible.builtin.set_fact": {
            "reused": "{{ parsed.TEMPLATE_LIKE }}|{{ parsed['LOOKUP_LIKE'] }}",
            "key_names": "{{ parsed | list }}",
        },
    },
]


def write_dotenv(tmp_path, text):
    path = tmp_path / "app.dotenv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_filter_parses_a_file_read_by_the_file_lookup(run_play, tmp_path):
    path = write_dotenv(tmp_path, DOTENV)
    result = run_play(PARSE_TASKS, vars={"dotenv_path": str(path)})
    assert result.rc == 0, result.summary()
    parsed = result.by_name("Parse the .env file")["ansible_facts"]["parsed"]
    assert sorted(parsed) == sorted(EXPECTED), "keys differ"
    wrong = sorted(key for key in EXPECTED if parsed[key] != EXPECTED[key])
    assert not wrong, f"values differ for keys {wrong}"
    facts = result.by_name("Use the values in other templates")["ansible_facts"]
    assert facts["key_names"] == list(EXPECTED), "key order"
    templated = facts["reused"] != EXPECTED["TEMPLATE_LIKE"] + "|" + EXPECTED["LOOKUP_LIKE"]
    assert not templated, "a value that looks like Jinja was templated"


@pytest.mark.parametrize("text, expected", [
    pytest.param("NODE_ENV=production\r\nDB_PASSWORD=s3cr3t-1\r\nDB_PASSWORD=s3cr3t-2\r\n",
                 "line 3: duplicate key DB_PASSWORD (first set on line 2)", id="duplicate-key"),
    pytest.param("\ufeffA=s3cr3t-1\n\ns3cr3t_pasted_value\n", "line 3: no '='", id="bare-value"),
    pytest.param("A=\"s3cr3t unterminated\nB=2\n", "line 1: not a KEY=VALUE line", id="unterminated-quote"),
])
def test_failure_names_the_line_never_a_value_at_any_verbosity(run_play, tmp_path, text, expected):
    path = write_dotenv(tmp_path, text)
    result = run_play(PARSE_TASKS[:1], vars={"dotenv_path": str(path)}, extra_env={"ANSIBLE_VERBOSITY": "4"})
    assert result.rc != 0, result.summary()
    message = str(result.by_name("Parse the .env file").get("msg", ""))
    assert expected in message, result.summary()
    leaked = MARKER in result.stdout or MARKER in result.stderr
    assert not leaked, "a value of the .env file appeared in the output"
