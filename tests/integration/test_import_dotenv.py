# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/import_dotenv.yml (and its neighbours dotenv.yml and provision.yml) against the moto
server, every AWS call recorded (fixture ``emulator`` from conftest.py).

A realistic ``.env`` of the production guide's app (17 keys, comments, quotes, a multi-line key)
is imported into ``{env}/shop/{category}``; idempotency and check mode are asserted as zero write
calls, refusals (unmapped or doubly mapped keys, a malformed file, wrong variable shapes) as zero
API calls. Values are random per test; assertions compare data into flags first, so no failing
assertion message shows a value. The leak tests look for every value -- raw, JSON-escaped, line
by line and base64 -- in stdout, stderr, the Ansible log and every file under the test's tmp dirs.
"""
import base64
import fnmatch
import json
import os
import secrets
import subprocess
import sys

import pytest
import yaml

from ansible_collections.secretsops.aws.plugins.filter.from_dotenv import parse_dotenv

pytestmark = pytest.mark.integration

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)
PLAYBOOKS = os.path.join(ROOT, "playbooks")
REPORT = "Report each secret (key names only)"
NEXT = "Say what to do with the .env file now"
LEAKED = "a secret value appeared in the output or in a file"

CATEGORIES = {
    "database": ["DATABASE_URL", "DB_*"],
    "jwt": ["JWT_*"],
    "openai": ["OPENAI_*"],
    "postmark": ["POSTMARK_*"],
    "stripe": ["STRIPE_*"],
    "app": ["SESSION_SECRET", "ENCRYPTION_KEY"],
}
EXCLUDE = ["NODE_ENV", "PORT", "LOG_LEVEL"]


def token(n=18):
    return secrets.token_urlsafe(n)


def guide_app():
    """(text of the guide app's .env, {KEY: value} it must parse to). Fresh random values."""
    values = {
        "db_password": token() + "$" + token(6),
        "jwt": token(32),
        "jwt_refresh": token(32),
        "key_body": [token(30), token(30)],
        "openai": "sk-" + token(24),
        "openai_org": "org-" + token(12),
        "postmark": token(16) + "-" + token(8),
        "stripe": "sk_test_" + token(24),
        "whsec": "whsec_" + token(20),
        "session": token(24) + "#" + token(6),
        "encryption": token(32) + "=",
    }
    text = "\n".join([
        "# The shop -- production settings (fake values; this file is what the guide wants gone)",
        "NODE_ENV=production",
        "PORT=3000",
        "LOG_LEVEL=info",
        "",
        "# database",
        f"export DATABASE_URL=\"postgres://shop_app:{values['db_password']}@shop-db.internal:5432/shop?sslmode=require\"",
        f"DB_PASSWORD='{values['db_password']}'",
        "DB_POOL_MAX=10",
        "",
        "# jwt",
        f"JWT_SECRET=\"{values['jwt']}\"",
        f"JWT_REFRESH_SECRET={values['jwt_refresh']}   # rotated monthly",
        "JWT_PRIVATE_KEY=\"-----BEGIN EXAMPLE KEY-----",
        values["key_body"][0],
        values["key_body"][1],
        "-----END EXAMPLE KEY-----\"",
        "",
        "# third parties",
        f"OPENAI_API_KEY={values['openai']}",
        f"OPENAI_ORG_ID='{values['openai_org']}'",
        f"POSTMARK_SERVER_TOKEN={values['postmark']}",
        "POSTMARK_FROM=\"Shop <no-reply@shop.example>\"",
        f"STRIPE_SECRET_KEY={values['stripe']}",
        f"STRIPE_WEBHOOK_SECRET=\"{values['whsec']}\"",
        "",
        "# app",
        f"SESSION_SECRET='{values['session']}'",
        f"ENCRYPTION_KEY={values['encryption']}",
        "",
    ])
    expected = {
        "NODE_ENV": "production",
        "PORT": "3000",
        "LOG_LEVEL": "info",
        "DATABASE_URL": f"postgres://shop_app:{values['db_password']}@shop-db.internal:5432/shop?sslmode=require",
        "DB_PASSWORD": values["db_password"],
        "DB_POOL_MAX": "10",
        "JWT_SECRET": values["jwt"],
        "JWT_REFRESH_SECRET": values["jwt_refresh"],
        "JWT_PRIVATE_KEY": "-----BEGIN EXAMPLE KEY-----\n" + "\n".join(values["key_body"]) + "\n-----END EXAMPLE KEY-----",
        "OPENAI_API_KEY": values["openai"],
        "OPENAI_ORG_ID": values["openai_org"],
        "POSTMARK_SERVER_TOKEN": values["postmark"],
        "POSTMARK_FROM": "Shop <no-reply@shop.example>",
        "STRIPE_SECRET_KEY": values["stripe"],
        "STRIPE_WEBHOOK_SECRET": values["whsec"],
        "SESSION_SECRET": values["session"],
        "ENCRYPTION_KEY": values["encryption"],
    }
    return text, expected


def by_category(env):
    """The secrets the import must produce from ``env`` with CATEGORIES and EXCLUDE."""
    out = {}
    for key, value in env.items():
        if key in EXCLUDE:
            continue
        category = next(name for name, patterns in CATEGORIES.items()
                        if any(fnmatch.fnmatchcase(key, p) for p in patterns))
        out.setdefault(category, {})[key] = value
    return out


def secret_values(env):
    """The values a leak check looks for: the imported ones (excluded plain settings and
    short non-secret texts such as POSTMARK_FROM are left out)."""
    return [value for key, value in env.items() if key not in EXCLUDE and key not in ("DB_POOL_MAX", "POSTMARK_FROM")]


def leak_forms(value):
    """Ways a value could show up: raw, JSON-escaped, each long line of it, base64 at each of
    the three byte alignments (the middle part, which does not depend on its neighbours)."""
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms.update(line for line in value.splitlines() if len(line) >= 12 and "EXAMPLE KEY" not in line)
    raw = value.encode("utf-8")
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        forms.add(encoded[4:-4])
    return {form for form in forms if len(form) >= 8}


def assert_no_leak(values, texts=(), dirs=(), skip=()):
    __tracebackhide__ = True  # pytest would show this frame's arguments: the texts under test
    forms = set().union(*(leak_forms(value) for value in values))
    for text in texts:
        found = any(form in text for form in forms)
        assert not found, LEAKED
    for base in dirs:
        for folder, _dirs, files in os.walk(base):
            for name in files:
                path = os.path.join(folder, name)
                if any(os.path.commonpath([path, str(s)]) == str(s) for s in skip):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read().decode("utf-8", "replace")
                found = any(form in data for form in forms)
                assert not found, f"{LEAKED}: {os.path.relpath(path, str(base))}"


class Run:
    def __init__(self, proc, json_output):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.tasks = []
        self.stats = {}
        if json_output and "{" in proc.stdout:
            data = json.loads(proc.stdout[proc.stdout.find("{"):])
            self.tasks = [dict(task["hosts"].get("localhost", {}), _task=task["task"]["name"])
                          for play in data.get("plays", []) for task in play.get("tasks", [])]
            self.stats = data.get("stats", {}).get("localhost", {})

    def task(self, name):
        matches = [task for task in self.tasks if task["_task"] == name]
        assert len(matches) == 1, f"task {name!r} ran {len(matches)} times; {self.summary()}"
        return matches[0]

    @property
    def report(self):
        return self.task(REPORT)["msg"]

    @property
    def message(self):
        return " ".join(self.task(NEXT)["msg"])

    def failure(self):
        return " ".join(str(t.get("msg", "")) for t in self.tasks if t.get("failed"))

    def summary(self):
        """rc and task names/flags with failure messages (value-free by design of the playbook)."""
        return f"rc={self.rc}; " + "; ".join(
            f"{t['_task']}: changed={t.get('changed')} failed={t.get('failed')}"
            + (f" msg={str(t.get('msg', ''))[:400]}" if t.get("failed") else "") for t in self.tasks)


@pytest.fixture
def playbook(emulator, tmp_path):
    """``playbook(name, variables, check=False, diff=False, verbose=0, json_output=True, files=())``
    runs playbooks/<name> with ``variables`` written to a vars file (-e @file, never -e k=v)
    against the emulator; ``ANSIBLE_LOG_PATH`` and the remote temp dir are under tmp_path."""
    counter = {"n": 0}

    def run(name, variables, check=False, diff=False, verbose=0, json_output=True, extra_args=()):
        counter["n"] += 1
        vars_file = tmp_path / f"vars{counter['n']}.yml"
        vars_file.write_text(yaml.safe_dump(dict({"ansible_python_interpreter": sys.executable}, **variables), sort_keys=False))
        env = emulator.ansible_env(
            tmp_path, ANSIBLE_LOG_PATH=str(tmp_path / "ansible.log"), ANSIBLE_REMOTE_TMP=str(tmp_path / "remote-tmp"),
            **({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_output else {}))
        command = [os.path.join(BIN, "ansible-playbook"), os.path.join(PLAYBOOKS, name), "-e", "@" + str(vars_file),
                   *extra_args]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if verbose:
            command.append("-" + "v" * verbose)
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
        return Run(proc, json_output)

    return run


@pytest.fixture
def src_dir(tmp_path_factory):
    """Where the .env files live: a tmp dir of its own, so the leak scan of tmp_path can skip nothing."""
    return tmp_path_factory.mktemp("dotenv-src")


def import_vars(src, env="prod", **extra):
    return dict({"secretsops_env": env, "secretsops_app": "shop", "secretsops_dotenv_src": str(src),
                 "secretsops_dotenv_categories": CATEGORIES, "secretsops_dotenv_exclude": EXCLUDE}, **extra)


def stored(emulator, name):
    return json.loads(emulator.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])


def report_keys(report):
    """{secret: {outcome: [keys]}} without arn and status (check mode and a real run compare equal)."""
    return {name: {k: v for k, v in entry.items() if k not in ("arn", "status")} for name, entry in report.items()}


def test_import_guide_app_into_an_empty_account(playbook, emulator, src_dir):
    text, env = guide_app()
    src = src_dir / ".env"
    src.write_text(text)
    parsed_ok = parse_dotenv(text) == env
    assert parsed_ok, "the test's .env does not parse to what the test expects"
    want = by_category(env)
    variables = import_vars(src, secretsops_tags={"Team": "payments", "Application": "shop-api"})

    check = playbook("import_dotenv.yml", variables, check=True)
    assert check.rc == 0, check.summary()
    assert emulator.writes() == [], "check mode wrote"
    assert emulator.client("secretsmanager").list_secrets()["SecretList"] == []
    assert check.stats.get("changed") == 1, check.summary()
    assert sorted(check.report) == sorted(f"prod/shop/{c}" for c in CATEGORIES)
    for category, keys in want.items():
        entry = check.report[f"prod/shop/{category}"]
        assert entry["status"] == "would be created" and sorted(entry["added"]) == sorted(keys), category
    assert "Check mode: nothing was written" in check.message

    emulator.recorder.reset()
    first = playbook("import_dotenv.yml", variables)
    assert first.rc == 0, first.summary()
    assert report_keys(first.report) == report_keys(check.report), "check mode reported something else"
    # One bulk invocation: one listing for all categories, one create per category.
    calls = emulator.calls()
    assert calls.count("secretsmanager:ListSecrets") == 1, calls
    assert calls.count("secretsmanager:CreateSecret") == len(CATEGORIES), calls
    sm = emulator.client("secretsmanager")
    for category, keys in want.items():
        name = f"prod/shop/{category}"
        same = stored(emulator, name) == keys
        assert same, f"{name}: stored keys/values differ from the file"
        described = sm.describe_secret(SecretId=name)
        tags = {t["Key"]: t["Value"] for t in described["Tags"]}
        assert tags == {"Environment": "prod", "Application": "shop-api", "Team": "payments"}, name
        entry = first.report[name]
        assert entry["status"] == "created" and entry["arn"] == described["ARN"], name
    assert "NODE_ENV" not in json.dumps(first.report) and "PORT" not in stored(emulator, "prod/shop/app")
    assert "The file can now be deleted" in first.message and "secretsops.aws.dotenv" in first.message
    assert src.exists(), "the playbook must never delete the file"

    emulator.recorder.reset()
    second = playbook("import_dotenv.yml", variables)
    assert second.rc == 0, second.summary()
    assert second.stats.get("changed") == 0, second.summary()
    assert emulator.writes() == []
    for category, keys in want.items():
        entry = second.report[f"prod/shop/{category}"]
        assert entry["status"] == "unchanged" and sorted(entry["unchanged"]) == sorted(keys), category
    assert_no_leak(secret_values(env), texts=[check.stdout + check.stderr, first.stdout + first.stderr,
                                              second.stdout + second.stderr])


def test_differing_keys_are_kept_then_overwritten_and_aws_only_keys_survive(playbook, emulator, src_dir):
    text, env = guide_app()
    src = src_dir / ".env"
    src.write_text(text)
    sm = emulator.client("secretsmanager")
    aws_only = {"DB_HOST": "shop-db.internal", "DB_REPLICA_PASSWORD": token()}
    old_password = token()
    sm.create_secret(Name="prod/shop/database", SecretString=json.dumps(
        dict(aws_only, DB_PASSWORD=old_password, DATABASE_URL=env["DATABASE_URL"])),
        Tags=[{"Key": "Owner", "Value": "dba"}])
    sm.create_secret(Name="prod/shop/jwt", SecretString=json.dumps({"JWT_SECRET": env["JWT_SECRET"]}))
    variables = import_vars(src)

    check = playbook("import_dotenv.yml", variables, check=True)
    assert check.rc == 0 and emulator.writes() == [], check.summary()
    first = playbook("import_dotenv.yml", variables)
    assert first.rc == 0, first.summary()
    assert report_keys(first.report) == report_keys(check.report), "check mode reported something else"
    database = first.report["prod/shop/database"]
    assert database["status"] == "updated"
    assert database["differs_kept"] == ["DB_PASSWORD"]
    assert database["unchanged"] == ["DATABASE_URL"]
    assert sorted(database["kept"]) == sorted(aws_only)
    assert sorted(database["added"]) == ["DB_POOL_MAX"]
    assert "overwritten" not in database and "removed" not in database
    jwt = first.report["prod/shop/jwt"]
    assert jwt["unchanged"] == ["JWT_SECRET"] and sorted(jwt["added"]) == ["JWT_PRIVATE_KEY", "JWT_REFRESH_SECRET"]
    value = stored(emulator, "prod/shop/database")
    kept = value["DB_PASSWORD"] == old_password and all(value[k] == v for k, v in aws_only.items())
    assert kept, "a differing or AWS-only key was not kept"
    assert value["DB_POOL_MAX"] == "10"
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId="prod/shop/database")["Tags"]}
    assert tags == {"Owner": "dba", "Environment": "prod", "Application": "shop"}, "tags are merged, never purged"
    assert "1 key(s)" in first.message and "DB_PASSWORD" in first.message and "secretsops_dotenv_overwrite=true" in first.message
    assert "The file can now be deleted" not in first.message

    overwrite = dict(variables, secretsops_dotenv_overwrite=True)
    emulator.recorder.reset()
    check = playbook("import_dotenv.yml", overwrite, check=True)
    assert check.rc == 0 and emulator.writes() == [], check.summary()
    emulator.recorder.reset()
    second = playbook("import_dotenv.yml", overwrite)
    assert second.rc == 0, second.summary()
    assert report_keys(second.report) == report_keys(check.report)
    database = second.report["prod/shop/database"]
    assert database["overwritten"] == ["DB_PASSWORD"] and "differs_kept" not in database
    assert sorted(database["kept"]) == sorted(aws_only)
    assert [op for op in emulator.writes() if op.startswith("secretsmanager:")] == ["secretsmanager:PutSecretValue"]
    value = stored(emulator, "prod/shop/database")
    replaced = value["DB_PASSWORD"] == env["DB_PASSWORD"] and all(value[k] == v for k, v in aws_only.items())
    assert replaced, "the flag did not overwrite the differing key, or dropped an AWS-only key"
    assert "The file can now be deleted" in second.message

    emulator.recorder.reset()
    again = playbook("import_dotenv.yml", overwrite)
    assert again.rc == 0 and again.stats.get("changed") == 0 and emulator.writes() == [], again.summary()
    assert_no_leak(secret_values(env) + [old_password, aws_only["DB_REPLICA_PASSWORD"]],
                   texts=[r.stdout + r.stderr for r in (check, first, second, again)])


def provision_vars(secrets_list):
    return {"secretsops_env": "prod", "secretsops_app": "shop", "secretsops_secrets": secrets_list}


def test_imported_keys_survive_a_provision_with_purge_keys_false(playbook, emulator, src_dir):
    text, env = guide_app()
    src = src_dir / ".env"
    src.write_text(text)
    first = playbook("import_dotenv.yml", import_vars(src))
    assert first.rc == 0, first.summary()

    # The vars file in git: non-secret keys, generated keys and the keys that must exist.
    in_git = [
        {"category": "database", "json": {"DB_HOST": "shop-db.internal", "DB_PORT": "5432"}, "purge_keys": False,
         "required_keys": ["DATABASE_URL", "DB_PASSWORD", "DB_HOST"]},
        # Generated only when absent: the imported values stay.
        {"category": "jwt", "purge_keys": False, "generate": ["JWT_SECRET", "JWT_REFRESH_SECRET"],
         "required_keys": ["JWT_PRIVATE_KEY"]},
        {"category": "app", "json": {}, "purge_keys": False, "generate": ["CSRF_SECRET"],
         "required_keys": ["SESSION_SECRET"]},
    ]
    provision = playbook("provision.yml", provision_vars(in_git))
    assert provision.rc == 0, provision.summary()
    database = stored(emulator, "prod/shop/database")
    survived = all(database[k] == env[k] for k in ("DATABASE_URL", "DB_PASSWORD", "DB_POOL_MAX"))
    survived = survived and database["DB_HOST"] == "shop-db.internal"
    assert survived, "imported keys lost by provision"
    jwt_same = stored(emulator, "prod/shop/jwt") == by_category(env)["jwt"]
    assert jwt_same, "generate replaced imported jwt keys"
    app = stored(emulator, "prod/shop/app")
    app_ok = app["SESSION_SECRET"] == env["SESSION_SECRET"] and len(app["CSRF_SECRET"]) == 64
    assert app_ok, "app: imported key lost or CSRF_SECRET not generated"

    # A new import keeps what provision added; provision again changes nothing.
    again = playbook("import_dotenv.yml", import_vars(src))
    assert again.rc == 0, again.summary()
    assert sorted(again.report["prod/shop/database"]["kept"]) == ["DB_HOST", "DB_PORT"]
    assert again.report["prod/shop/app"]["kept"] == ["CSRF_SECRET"]
    assert again.stats.get("changed") == 0, again.summary()
    emulator.recorder.reset()
    provision = playbook("provision.yml", provision_vars(in_git))
    assert provision.rc == 0, provision.summary()
    assert [op for op in emulator.writes() if op.startswith("secretsmanager:")] == []


def test_required_keys_alone_see_the_keys_already_in_aws(playbook, emulator):
    emulator.client("secretsmanager").create_secret(Name="prod/shop/jwt", SecretString=json.dumps({"JWT_SECRET": token()}))
    run = playbook("provision.yml", provision_vars([{"category": "jwt", "purge_keys": False, "required_keys": ["JWT_SECRET"]}]))
    assert run.rc == 0, run.summary()


def test_required_keys_missing_fail_before_any_write(playbook, emulator):
    in_git = [
        {"category": "database", "json": {"DB_HOST": "shop-db.internal"}, "purge_keys": False,
         "required_keys": ["DB_HOST", "DB_PASSWORD"]},
        {"category": "stripe", "purge_keys": False, "required_keys": ["STRIPE_SECRET_KEY"]},
    ]
    run = playbook("provision.yml", provision_vars(in_git))
    assert run.rc != 0, run.summary()
    message = run.failure()
    assert "DB_PASSWORD" in message and "required_keys" in message, run.summary()
    assert emulator.writes() == []
    assert emulator.client("secretsmanager").list_secrets()["SecretList"] == []


def write_src(src_dir, text):
    src = src_dir / ".env"
    src.write_text(text)
    return src


@pytest.mark.parametrize("text, extra, expected", [
    pytest.param("A_SECRET=s3cr3t-1\nUNMAPPED_ONE=s3cr3t-2\nOTHER=s3cr3t-3\n", {"secretsops_dotenv_categories": {"app": ["*_SECRET"]}},
                 "keys matched by no category (map them in categories, exclude them, or set a default category): UNMAPPED_ONE, OTHER",
                 id="unmapped"),
    pytest.param("JWT_SECRET=s3cr3t-1\nSTRIPE_SECRET_KEY=s3cr3t-2\n",
                 {"secretsops_dotenv_categories": {"jwt": ["JWT_*"], "app": ["*_SECRET"], "stripe": ["STRIPE_*"]}},
                 "JWT_SECRET (categories jwt and app)", id="doubly-mapped"),
    pytest.param("A=s3cr3t-1\nA=s3cr3t-2\n", {"secretsops_dotenv_default_category": "app"},
                 "line 2: duplicate key A (first set on line 1)", id="duplicate-key"),
    pytest.param("A=s3cr3t-1\ns3cr3t-pasted\n", {"secretsops_dotenv_default_category": "app"},
                 "line 2: no '='", id="malformed-line"),
    pytest.param("# only settings\nNODE_ENV=production\n", {"secretsops_dotenv_categories": {"app": ["*"]},
                                                            "secretsops_dotenv_exclude": ["NODE_ENV"]},
                 "has no key to import", id="nothing-to-import"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_categories": {"app": "A"}},
                 "secretsops_dotenv_categories.app must be a list of keys or globs", id="categories-string"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_categories": {"app": ["A"]}, "secretsops_dotenv_exclude": "NODE_ENV,PORT"},
                 "secretsops_dotenv_exclude must be a list", id="exclude-string"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_categories": {"prod/app": ["A"]}},
                 "category prod/app is not a valid secret name element", id="bad-category"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_categories": ["app"]},
                 "secretsops_dotenv_categories", id="categories-list"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_categories": {}},
                 "secretsops_dotenv_categories", id="no-categories"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_src": "relative/.env", "secretsops_dotenv_default_category": "app"},
                 "absolute path", id="relative-src"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_src": "/nonexistent-secretsops/.env",
                                  "secretsops_dotenv_default_category": "app"},
                 "absolute path of an existing", id="missing-src"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_app": None, "secretsops_dotenv_default_category": "app"},
                 "Give secretsops_env and secretsops_app", id="no-prefix"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_prefix": "/prod//shop", "secretsops_dotenv_default_category": "app"},
                 "not a valid secret name path", id="bad-prefix"),
    pytest.param("A=s3cr3t-1\n", {"secretsops_dotenv_overwrite": "maybe", "secretsops_dotenv_default_category": "app"},
                 "secretsops_dotenv_overwrite", id="overwrite-not-bool"),
])
def test_refusals_make_no_call(playbook, emulator, src_dir, text, extra, expected):
    src = write_src(src_dir, text)
    variables = {"secretsops_env": "prod", "secretsops_app": "shop", "secretsops_dotenv_src": str(src)}
    variables.update(extra)
    variables = {k: v for k, v in variables.items() if v is not None}
    run = playbook("import_dotenv.yml", variables)
    assert run.rc != 0, run.summary()
    assert expected in run.failure(), run.summary()
    assert "s3cr3t" not in run.stdout + run.stderr, LEAKED
    assert emulator.recorder.calls() == [], "an AWS call was made before the refusal"


# Values that exercise the .env quoting both ways: $, quotes, #, =, backslashes, newlines, CR,
# unicode, empty values, leading/trailing spaces.
TRICKY = {
    "DOLLAR": "pa$word ${NOT_EXPANDED} $HOME $$",
    "DOUBLE_QUOTES": 'say "hi" and \\"escaped\\"',
    "SINGLE_QUOTES": "it's 'quoted'",
    "HASH": "before # not a comment #x",
    "EQUALS": "a=b==c=",
    "BACKSLASHES": "C:\\path\\to\\n not a newline \\",
    "MULTILINE": "line one\nline two\n\nline four",
    "CRLF": "dos\r\nline",
    "UNICODE": "gr\u00fc\u00dfe \u2603 \U0001F511 caf\u00e9",
    "EMPTY": "",
    "SPACES": "  padded  ",
    "TAB": "a\tb",
    "JSONISH": '{"a": [1, 2], "b": null}',
    "URL": "postgres://u:p%40ss@h:5432/db?sslmode=require&x=1",
}


def dotenv_line(key, value):
    """One KEY="value" line written as a user would (double quotes, python-dotenv escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'{key}="{escaped}"'


def test_round_trip_through_dotenv_playbook(playbook, emulator, src_dir, tmp_path):
    lines = ["# tricky values", "export PLAIN=plain-value", "SINGLE='literal $HOME \\n # not a comment'",
             'REAL_MULTILINE="first', 'second"', "UNQUOTED=value with spaces  # comment"]
    lines += [dotenv_line(key, value) for key, value in TRICKY.items()]
    text = "\n".join(lines) + "\n"
    src = write_src(src_dir, text)
    original = parse_dotenv(text)
    expected = dict({"PLAIN": "plain-value", "SINGLE": "literal $HOME \\n # not a comment",
                     "REAL_MULTILINE": "first\nsecond", "UNQUOTED": "value with spaces"}, **TRICKY)
    parsed_ok = original == expected
    assert parsed_ok, "the test's .env does not parse to what the test expects"

    first = playbook("import_dotenv.yml", {"secretsops_env": "dev", "secretsops_app": "shop", "secretsops_dotenv_src": str(src),
                                           "secretsops_dotenv_categories": {"database": ["URL"], "app": ["D*"]},
                                           "secretsops_dotenv_default_category": "misc"})
    assert first.rc == 0, first.summary()
    assert sorted(first.report) == ["dev/shop/app", "dev/shop/database", "dev/shop/misc"]
    assert "ansible-playbook secretsops.aws.dotenv -e secretsops_prefix=dev/shop" in first.message

    out = tmp_path / "rendered" / ".env"
    out.parent.mkdir()
    rendered = playbook("dotenv.yml", {"secretsops_prefix": "dev/shop", "secretsops_dotenv_path": str(out)})
    assert rendered.rc == 0, rendered.summary()
    back = parse_dotenv(out.read_text(encoding="utf-8"))
    assert sorted(back) == sorted(original), "keys differ"
    wrong = sorted(key for key in original if back[key] != original[key])
    assert not wrong, f"values differ after the round trip for keys {wrong}"

    # The rendered file imports back as "unchanged": no write.
    emulator.recorder.reset()
    again = playbook("import_dotenv.yml", {"secretsops_env": "dev", "secretsops_app": "shop", "secretsops_dotenv_src": str(out),
                                           "secretsops_dotenv_categories": {"database": ["URL"], "app": ["D*"]},
                                           "secretsops_dotenv_default_category": "misc"})
    assert again.rc == 0 and again.stats.get("changed") == 0, again.summary()
    assert emulator.writes() == []


def test_no_value_leaks_at_vvvv_with_diff(playbook, emulator, src_dir, tmp_path):
    text, env = guide_app()
    src = write_src(src_dir, text)
    old = {"DB_PASSWORD": token(), "DB_REPLICA_PASSWORD": token()}
    emulator.client("secretsmanager").create_secret(Name="prod/shop/database", SecretString=json.dumps(old))
    variables = import_vars(src)
    runs = [
        playbook("import_dotenv.yml", variables, check=True, diff=True, verbose=4, json_output=False),
        playbook("import_dotenv.yml", variables, diff=True, verbose=4, json_output=False),
        playbook("import_dotenv.yml", dict(variables, secretsops_dotenv_overwrite=True), diff=True, verbose=4,
                 json_output=False),
        playbook("import_dotenv.yml", variables, diff=True, verbose=4, json_output=False),
    ]
    for run in runs:
        assert run.rc == 0, f"rc={run.rc}"  # never print the output: it is under test
    # The diff is shown, masked, with the key names.
    assert "Show the masked diff" in runs[1].stdout and "DB_POOL_MAX" in runs[1].stdout and "********" in runs[1].stdout
    assert "DB_PASSWORD" in runs[2].stdout
    # A failing run (unmapped key) at -vvvv leaks nothing either.
    failing = playbook("import_dotenv.yml", dict(variables, secretsops_dotenv_exclude=[]), verbose=4, json_output=False)
    assert failing.rc != 0 and "NODE_ENV" in failing.stdout + failing.stderr
    assert (tmp_path / "ansible.log").exists(), "ANSIBLE_LOG_PATH was not used"
    values = secret_values(env) + list(old.values())
    assert_no_leak(values, texts=[r.stdout + r.stderr for r in runs + [failing]], dirs=[tmp_path])


def vault(*args, cwd, input_text=None):
    proc = subprocess.run([os.path.join(BIN, "ansible-vault"), *args], capture_output=True, text=True, cwd=cwd,
                          input=input_text, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-500:]
    return proc.stdout


def test_vaulted_vars_files_feed_provision_without_leaks(playbook, emulator, tmp_path):
    password_file = tmp_path / "vault-password"
    password_file.write_text(token() + "\n")
    password_file.chmod(0o600)
    db_password, stripe_key, webhook = token(), "sk_live_" + token(), "whsec_" + token()

    # 1. A whole vars file encrypted with ansible-vault.
    whole = tmp_path / "secrets-vault.yml"
    whole.write_text(yaml.safe_dump({"secretsops_secrets": [
        {"category": "database", "json": {"DB_HOST": "shop-db.internal", "DB_PASSWORD": db_password}},
    ]}))
    vault("encrypt", "--vault-password-file", str(password_file), str(whole), cwd=tmp_path)
    assert whole.read_text().startswith("$ANSIBLE_VAULT;"), "not encrypted"

    # 2. A plain vars file with inline !vault values.
    def inline(value, name):
        out = vault("encrypt_string", "--vault-password-file", str(password_file), "--stdin-name", name,
                    cwd=tmp_path, input_text=value)
        return out.split(":", 1)[1].rstrip("\n")

    inline_file = tmp_path / "secrets-inline.yml"
    inline_file.write_text(
        "secretsops_secrets:\n"
        "  - category: stripe\n"
        "    json:\n"
        "      STRIPE_SECRET_KEY:" + inline(stripe_key, "STRIPE_SECRET_KEY").replace("\n", "\n    ") + "\n"
        "      STRIPE_WEBHOOK_SECRET:" + inline(webhook, "STRIPE_WEBHOOK_SECRET").replace("\n", "\n    ") + "\n"
        "    required_keys: [STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET]\n")
    assert stripe_key not in inline_file.read_text() and "!vault |" in inline_file.read_text()

    base = {"secretsops_env": "prod", "secretsops_app": "shop"}
    runs = []
    for vars_file in (whole, inline_file):
        run = playbook("provision.yml", base, verbose=4, json_output=False,
                       extra_args=("-e", "@" + str(vars_file), "--vault-password-file", str(password_file)))
        assert run.rc == 0, f"rc={run.rc}"  # the output is under test: never print it
        runs.append(run)
    database = stored(emulator, "prod/shop/database")
    stripe = stored(emulator, "prod/shop/stripe")
    same = database == {"DB_HOST": "shop-db.internal", "DB_PASSWORD": db_password} and \
        stripe == {"STRIPE_SECRET_KEY": stripe_key, "STRIPE_WEBHOOK_SECRET": webhook}
    assert same, "the vaulted values did not reach AWS"

    # A re-run with the inline file changes nothing.
    emulator.recorder.reset()
    again = playbook("provision.yml", base, extra_args=("-e", "@" + str(inline_file), "--vault-password-file",
                                                        str(password_file)))
    assert again.rc == 0, again.summary()
    assert [op for op in emulator.writes() if op.startswith("secretsmanager:")] == []
    assert_no_leak([db_password, stripe_key, webhook], texts=[r.stdout + r.stderr for r in runs + [again]],
                   dirs=[tmp_path])
