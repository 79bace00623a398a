# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/dotenv.yml against the moto server (fixture ``emulator`` from conftest.py).

The playbook is run by file path with extra vars.  Values are random test strings; assertions
compare data and their messages never show a value (only key names and flags).
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(ROOT, "playbooks", "dotenv.yml")
HIDDEN = "a secret value appeared in the output"

# Values chosen to exercise the .env quoting: quotes, backslashes, $, newlines, JSON types.
DATABASE = {
    "DATABASE_URL": 'postgres://u:p"w\\x$HOME@db:5432/shop',
    "DB_PORT": 5432,
    "MULTILINE": "line one\nline two\r\nline three",
    "SHARED": "from-database",
}
APP = {
    "FLAGS": {"beta": True, "list": [1, "two", None]},
    "ENABLED": True,
    "DISABLED": False,
    "RATIO": 0.25,
    "EMPTY": "",
    "NOTHING": None,
    "ITEMS": ["a", "b"],
    "SHARED": "from-jwt-wins",  # dev/shop/jwt sorts after dev/shop/database
    "DOLLAR_BRACES": "${NOT_EXPANDED} and $$",
}
SIBLING = {"SIBLING_ONLY": "must-not-appear"}
SECRET_VALUES = ['p"w\\x$HOME', "line one", "from-jwt-wins", "must-not-appear", "from-database"]


def expected():
    merged = dict(DATABASE)
    merged.update(APP)
    out = {}
    for key, value in merged.items():
        if isinstance(value, str):
            out[key] = value
        elif value is None:
            out[key] = ""
        else:
            out[key] = json.dumps(value, separators=(",", ":"))
    return out


_LINE = re.compile(r'\A([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\Z')
_UNESCAPE = {"\\": "\\", '"': '"', "$": "$", "n": "\n", "r": "\r"}


def parse_dotenv(path):
    """The inverse of the playbook's quoting: KEY="..." with \\ \" \\$ \\n \\r escapes.

    Takes the path (not the text) so that a failing assertion's traceback cannot show values."""
    values = {}
    for number, line in enumerate(path.read_text().split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match, f"line {number} is not KEY=\"...\" (key {line.split('=', 1)[0]!r})"
        key, body = match.groups()
        values[key] = re.sub(r"\\(.)", lambda m: _UNESCAPE[m.group(1)], body)
    return values


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        data = json.loads(proc.stdout[proc.stdout.find("{"):]) if "{" in proc.stdout else {}
        self.tasks = [dict(task["hosts"].get("localhost", {}), _task=task["task"]["name"])
                      for play in data.get("plays", []) for task in play.get("tasks", [])]
        self.stats = data.get("stats", {}).get("localhost", {})

    def failed_msgs(self):
        return [str(t.get("msg", "")) for t in self.tasks if t.get("failed")]

    def summary(self):
        return f"rc={self.rc}; " + "; ".join(
            f"{t['_task']}: changed={t.get('changed')} failed={t.get('failed')} skipped={t.get('skipped')}" for t in self.tasks)

    def assert_no_values(self):
        for value in SECRET_VALUES:
            assert value not in self.stdout and value not in self.stderr, HIDDEN


@pytest.fixture
def dotenv(emulator, tmp_path):
    def run(check=False, **extra_vars):
        env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        extra_vars.setdefault("ansible_python_interpreter", sys.executable)
        command = [os.path.join(BIN, "ansible-playbook"), PLAYBOOK, "-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
        result = Run(proc)
        result.assert_no_values()
        return result

    return run


@pytest.fixture
def seeded(emulator):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name="dev/shop/database", SecretString=json.dumps(DATABASE))
    sm.create_secret(Name="dev/shop/jwt", SecretString=json.dumps(APP))
    sm.create_secret(Name="dev/shop-old/x", SecretString=json.dumps(SIBLING))
    sm.create_secret(Name="prod/shop/database", SecretString=json.dumps(SIBLING))
    return sm


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                            GIT_COMMITTER_EMAIL="t@t"))


def test_writes_0600_file_with_merged_values_and_is_idempotent(dotenv, seeded, tmp_path, emulator):
    path = tmp_path / "out" / ".env"
    path.parent.mkdir()
    check = dotenv(check=True, secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert check.rc == 0, check.summary()
    assert check.stats.get("changed") == 1, check.summary()
    assert not path.exists(), "check mode wrote the file"
    first = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert first.rc == 0, first.summary()
    assert first.stats.get("changed") == 1, first.summary()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header_ok = path.read_text().startswith("# Generated by secretsops.aws.dotenv from dev/shop/ (us-east-1)")
    assert header_ok, "header line"
    lines = path.read_text().split("\n")
    shape_ok = lines[-1] == "" and all(lines[:-1]) and len(lines) == len(expected()) + 2
    assert shape_ok, "expected a header, one line per key, no blank lines, a final newline"
    # Compare into local names/flags first: pytest's assertion introspection would show values.
    parsed = parse_dotenv(path)
    want = expected()
    assert sorted(parsed) == sorted(want), "keys differ"
    wrong = sorted(key for key in want if parsed[key] != want[key])
    assert not wrong, f"values differ for keys {wrong}"
    assert "SIBLING_ONLY" not in parsed
    # The value-carrying tasks are censored in the output.
    for task in first.tasks:
        if task["_task"] in ("Read and merge every secret under the prefix", "Write the .env file with mode 0600"):
            assert "censored" in str(task), task["_task"]
    reads = emulator.calls()
    assert "secretsmanager:ListSecrets" in reads

    second = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert second.rc == 0, second.summary()
    assert second.stats.get("changed") == 0, second.summary()
    assert not emulator.writes()

    # A changed secret changes the file; a loosened mode is put back to 0600.
    seeded.put_secret_value(SecretId="dev/shop/database", SecretString=json.dumps(dict(DATABASE, DB_PORT=6543)))
    path.chmod(0o644)
    third = dotenv(secretsops_prefix="dev/shop/", secretsops_dotenv_path=str(path))
    assert third.rc == 0, third.summary()
    assert third.stats.get("changed") == 1, third.summary()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    updated = parse_dotenv(path)["DB_PORT"] == "6543"
    assert updated, "DB_PORT not updated"


@pytest.mark.usefixtures("seeded")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
def test_refuses_a_path_git_would_track(dotenv, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    path = repo / "config" / "app.env.local"
    path.parent.mkdir()
    result = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert result.rc != 0, result.summary()
    messages = " ".join(result.failed_msgs())
    assert "inside a git work tree and not ignored by git" in messages, result.summary()
    assert not path.exists()

    # Once ignored, the same path is fine.
    (repo / ".gitignore").write_text("app.env.local\n")
    ok = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert ok.rc == 0, ok.summary()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.usefixtures("seeded")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")
def test_refuses_a_tracked_file_even_if_the_pattern_is_ignored(dotenv, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    path = repo / ".env"
    path.write_text("# placeholder\n")
    git("add", ".env", cwd=repo)
    git("commit", "-qm", "oops", cwd=repo)
    (repo / ".gitignore").write_text(".env\n")
    result = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert result.rc != 0, result.summary()
    untouched = path.read_text() == "# placeholder\n"
    assert untouched, "tracked file was overwritten"


@pytest.mark.usefixtures("seeded")
def test_refuses_a_non_dev_prefix(dotenv, tmp_path, emulator):
    path = tmp_path / ".env"
    result = dotenv(secretsops_env="prod", secretsops_app="shop", secretsops_dotenv_path=str(path))
    assert result.rc != 0, result.summary()
    assert "only prefixes under dev/" in " ".join(result.failed_msgs()), result.summary()
    assert not path.exists()
    assert not emulator.calls(), "no AWS call before the refusal"

    allowed = dotenv(secretsops_prefix="prod/shop", secretsops_dotenv_allow_non_dev=True, secretsops_dotenv_path=str(path))
    assert allowed.rc == 0, allowed.summary()
    same = parse_dotenv(path) == {"SIBLING_ONLY": SIBLING["SIBLING_ONLY"]}
    assert same, "prod/shop content differs"


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("extra, message", [
    ({"secretsops_app": "shop"}, "needs secretsops_dotenv_path"),
    ({"secretsops_app": "shop", "secretsops_dotenv_path": "relative/.env"}, "an absolute path"),
    ({"secretsops_dotenv_path": "/tmp/x.env"}, "secretsops_app"),
    ({"secretsops_app": "shop", "secretsops_dotenv_path": "/nonexistent-dir-secretsops/.env"}, "must exist"),
])
def test_input_errors_name_the_fix(dotenv, extra, message):
    result = dotenv(**extra)
    assert result.rc != 0, result.summary()
    assert message in " ".join(result.failed_msgs()), result.summary()


@pytest.mark.usefixtures("seeded")
def test_refuses_a_symlink_and_an_empty_prefix(dotenv, tmp_path):
    target = tmp_path / "elsewhere.env"
    target.write_text("")
    link = tmp_path / "link.env"
    link.symlink_to(target)
    result = dotenv(secretsops_app="shop", secretsops_dotenv_path=str(link))
    assert result.rc != 0 and "symlink" in " ".join(result.failed_msgs()), result.summary()
    assert target.read_text() == ""

    empty = dotenv(secretsops_app="nothing-here", secretsops_dotenv_path=str(tmp_path / ".env"))
    assert empty.rc != 0 and "No JSON secrets found under dev/nothing-here/" in " ".join(empty.failed_msgs()), empty.summary()
    assert not (tmp_path / ".env").exists()
