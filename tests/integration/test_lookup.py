# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup secretsops.aws.secret against the moto server, through the recording proxy.

Values are only ever compared inside the playbook (``ansible.builtin.assert`` against play
variables, ``quiet`` and with a fixed ``fail_msg``), so neither the output nor an assertion
message can show one.  Secrets are set up with boto3 straight against moto, so the recorder
only sees what the lookup does.
"""
import base64
import json

import pytest
from emulator import free_port  # tools/, put on sys.path by conftest.py

pytestmark = pytest.mark.integration

L = "secretsops.aws.secret"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
VALUE3 = "test-value-3"
HIDDEN = "a secret value appeared in the output"


def check(label, *that):
    """An assert task: every expression must hold; never prints the values."""
    return {"name": label, "ansible.builtin.assert": {"that": list(that), "quiet": True, "fail_msg": f"{label} failed"}}


def assert_play_ok(result, *values):
    assert result.rc == 0, result.summary()
    for res in result.tasks:
        assert not res.get("failed"), result.summary()
    for value in values:
        assert value not in result.stdout and value not in result.stderr, HIDDEN


def lookups(emulator, op=None):
    calls = emulator.calls()
    return [c for c in calls if op is None or c == f"secretsmanager:{op}"]


def value_reads(emulator):
    return [c for c in emulator.calls() if c in ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")]


def test_names_arns_and_typed_keys(run_play, emulator):
    sm = emulator.client("secretsmanager")
    dotted = {"url": VALUE, "port": 5432}
    typed = {"num": 42, "flag": True, "off": False, "ratio": 0.5, "obj": {"inner": {"deep": VALUE2}}, "text": VALUE3}
    arn = sm.create_secret(Name="app.prod.db", SecretString=json.dumps(dotted))["ARN"]
    sm.create_secret(Name="prod/shop/typed", SecretString=json.dumps(typed))
    sm.create_secret(Name="prod/shop/plain", SecretString=VALUE3)
    partial = arn[:-7]
    tasks = [
        check("dotted name", f"lookup('{L}', 'app.prod.db') == exp_dotted",
              f"lookup('{L}', 'app.prod.db') is mapping"),
        check("dotted name with key", f"lookup('{L}', 'app.prod.db:url') == exp_url",
              f"lookup('{L}', 'app.prod.db', key='port') == 5432"),
        check("full ARN", f"lookup('{L}', exp_arn) == exp_dotted",
              f"lookup('{L}', exp_arn ~ ':url::') == exp_url"),
        check("partial ARN", f"lookup('{L}', exp_partial) == exp_dotted",
              f"lookup('{L}', exp_partial ~ ':url') == exp_url"),
        check("number key", f"lookup('{L}', 'prod/shop/typed:num') == 42",
              f"lookup('{L}', 'prod/shop/typed:num') is number",
              f"lookup('{L}', 'prod/shop/typed:num') is not string",
              f"lookup('{L}', 'prod/shop/typed:ratio') == 0.5"),
        check("bool key", f"lookup('{L}', 'prod/shop/typed:flag') is sameas true",
              f"lookup('{L}', 'prod/shop/typed:off') is sameas false"),
        check("object key", f"lookup('{L}', 'prod/shop/typed:obj') is mapping",
              f"lookup('{L}', 'prod/shop/typed:obj') == exp_typed.obj",
              f"lookup('{L}', 'prod/shop/typed:obj.inner.deep') == exp_deep",
              f"lookup('{L}', 'prod/shop/typed', key='obj.inner') == exp_typed.obj.inner"),
        check("batched names and ARNs",
              f"query('{L}', exp_arn ~ ':url', exp_partial ~ ':port', 'app.prod.db:url', 'prod/shop/typed:num') "
              "== [exp_url, 5432, exp_url, 42]"),
        check("plain text", f"lookup('{L}', 'prod/shop/plain') == exp_plain",
              f"lookup('{L}', 'prod/shop/plain') is string"),
    ]
    result = run_play(tasks, vars={"exp_dotted": dotted, "exp_url": VALUE, "exp_arn": arn, "exp_partial": partial,
                                   "exp_typed": typed, "exp_deep": VALUE2, "exp_plain": VALUE3})
    assert_play_ok(result, VALUE, VALUE2, VALUE3)
    assert len(result) == len(tasks)


def test_previous_binary_and_merge(run_play, emulator):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name="prod/shop/jwt", SecretString=json.dumps({"JWT_SECRET": VALUE}))
    sm.put_secret_value(SecretId="prod/shop/jwt", SecretString=json.dumps({"JWT_SECRET": VALUE2}))
    sm.put_secret_value(SecretId="prod/shop/jwt", SecretString=json.dumps({"JWT_SECRET": VALUE3}))
    raw = b"\x00\x01\xfe\xfftest-value-1"
    sm.create_secret(Name="prod/shop/cert", SecretBinary=raw)
    sm.create_secret(Name="prod/shop/a", SecretString=json.dumps({"A": "a", "SHARED": "from-a"}))
    sm.create_secret(Name="prod/shop/b", SecretString=json.dumps({"B": "b", "SHARED": "from-b"}))
    tasks = [
        check("AWSCURRENT after two updates", f"lookup('{L}', 'prod/shop/jwt:JWT_SECRET') == exp_current"),
        check("AWSPREVIOUS after two updates",
              f"lookup('{L}', 'prod/shop/jwt:JWT_SECRET:AWSPREVIOUS') == exp_previous",
              f"lookup('{L}', 'prod/shop/jwt', key='JWT_SECRET', version_stage='AWSPREVIOUS') == exp_previous"),
        check("binary round trip", f"lookup('{L}', 'prod/shop/cert') == exp_b64",
              f"lookup('{L}', 'prod/shop/cert') | b64decode(encoding='latin-1') == exp_b64 | b64decode(encoding='latin-1')"),
        check("merge later wins",
              f"lookup('{L}', 'prod/shop/a', 'prod/shop/b', merge=true) == {{'A': 'a', 'B': 'b', 'SHARED': 'from-b'}}",
              f"lookup('{L}', 'prod/shop/b', 'prod/shop/a', merge=true).SHARED == 'from-a'"),
    ]
    result = run_play(tasks, vars={"exp_current": VALUE3, "exp_previous": VALUE2,
                                   "exp_b64": base64.b64encode(raw).decode()})
    assert_play_ok(result, VALUE, VALUE2, VALUE3)


def test_module_binary_round_trip(run_play, emulator):
    raw = b"\x00\x10\x80\xfftest-value-2\n"
    b64 = base64.b64encode(raw).decode()
    tasks = [
        {"name": "store", "secretsops.aws.secret": {"name": "prod/shop/bin", "secret_binary": "{{ exp_b64 }}"}},
        check("read back", f"lookup('{L}', 'prod/shop/bin', cache_ttl=0) == exp_b64"),
    ]
    result = run_play(tasks, vars={"exp_b64": b64})
    assert_play_ok(result, b64, VALUE2)


def test_bypath_and_batching(run_play, emulator):
    sm = emulator.client("secretsmanager")
    expected = {}
    for i in range(25):
        name = f"prod/shop/s{i:02d}"
        expected[name] = {"N": i}
        sm.create_secret(Name=name, SecretString=json.dumps({"N": i}))
    sm.create_secret(Name="prod/shop-old/database", SecretString=json.dumps({"N": -1}))
    sm.create_secret(Name="prod/shopx", SecretString=json.dumps({"N": -2}))
    result = run_play([check("bypath", f"lookup('{L}', 'prod/shop', bypath=true) == exp_all",
                             f"lookup('{L}', 'prod/shop/', bypath=true, cache_ttl=0) | length == 25")],
                      vars={"exp_all": expected})
    assert_play_ok(result)
    assert lookups(emulator, "GetSecretValue") == []
    # 2 lookups (the second uncached) x ceil(25 / 20) batches
    assert len(lookups(emulator, "BatchGetSecretValue")) <= 4
    assert 1 <= len(lookups(emulator, "ListSecrets")) <= 2

    emulator.recorder.reset()
    terms = ", ".join(f"'{name}:N'" for name in expected)
    result = run_play([check("25 terms", f"query('{L}', {terms}) == range(25) | list")])
    assert_play_ok(result)
    batches = lookups(emulator, "BatchGetSecretValue")
    assert 1 <= len(batches) <= 2, f"{len(batches)} BatchGetSecretValue calls for 25 terms"
    assert lookups(emulator, "GetSecretValue") == []


def test_on_missing(run_play, emulator):
    emulator.client("secretsmanager").create_secret(Name="prod/shop/here", SecretString=json.dumps({"K": VALUE}))
    tasks = [
        check("skip", f"query('{L}', 'prod/shop/missing', on_missing='skip') == []",
              f"query('{L}', 'prod/shop/missing', 'prod/shop/here:K', on_missing='skip') == [exp]",
              f"query('{L}', 'prod/shop/here:NOKEY', on_missing='skip') == []"),
        check("default", f"lookup('{L}', 'prod/shop/missing', on_missing='skip', default='fallback') == 'fallback'",
              f"lookup('{L}', 'prod/shop/missing', on_missing='skip', default={{}}) == {{}}"),
        check("warn", f"lookup('{L}', 'prod/shop/missing-warned', on_missing='warn', default='fallback') == 'fallback'"),
    ]
    result = run_play(tasks, vars={"exp": VALUE})
    assert_play_ok(result, VALUE)
    output = result.stdout + result.stderr
    assert "prod/shop/missing-warned" in output, "on_missing=warn printed no warning naming the secret"


def test_on_deleted_skip(run_play, emulator):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name="prod/shop/deleted", SecretString=VALUE)
    sm.delete_secret(SecretId="prod/shop/deleted", RecoveryWindowInDays=7)
    result = run_play([check("deleted skipped", f"query('{L}', 'prod/shop/deleted', on_deleted='skip') == []",
                             f"lookup('{L}', 'prod/shop/deleted', on_deleted='skip', default='gone') == 'gone'")])
    assert_play_ok(result, VALUE)


def test_on_deleted_error_by_default(run_play, emulator):
    sm = emulator.client("secretsmanager")
    sm.create_secret(Name="prod/shop/deleted", SecretString=VALUE)
    sm.delete_secret(SecretId="prod/shop/deleted", RecoveryWindowInDays=7)
    result = run_play([dict(check("deleted fails", f"lookup('{L}', 'prod/shop/deleted') == 1"), ignore_errors=True)])
    assert result[0].get("failed") is True
    assert "prod/shop/deleted" in result[0]["msg"]
    assert VALUE not in result.stdout, HIDDEN


def test_cache(run_play, emulator):
    emulator.client("secretsmanager").create_secret(Name="prod/shop/cached", SecretString=json.dumps({"K": VALUE}))
    loop_task = {
        "name": "same lookup twice in a loop",
        "ansible.builtin.assert": {"that": [f"lookup('{L}', 'prod/shop/cached:K') == exp"], "quiet": True,
                                   "fail_msg": "cached lookup failed"},
        "loop": [1, 2],
    }
    result = run_play([loop_task], vars={"exp": VALUE})
    assert_play_ok(result, VALUE)
    assert len(value_reads(emulator)) == 1, f"cached lookup read {len(value_reads(emulator))} times"

    emulator.recorder.reset()
    loop_task["ansible.builtin.assert"]["that"] = [f"lookup('{L}', 'prod/shop/cached:K', cache_ttl=0) == exp"]
    result = run_play([loop_task], vars={"exp": VALUE})
    assert_play_ok(result, VALUE)
    assert len(value_reads(emulator)) == 2, f"cache_ttl=0 read {len(value_reads(emulator))} times"


@pytest.mark.parametrize("source", ["AWS_DEFAULT_REGION", "config file"])
def test_default_region_without_region_option(run_play, emulator, tmp_path, source):
    """No region option (AWS_REGION unset): the region comes from AWS_DEFAULT_REGION or the
    config file's default profile, as amazon.aws resolves it, for every item of a loop (the
    lookup asks once per process), and errors name it."""
    sm = emulator.client("secretsmanager")
    for index in range(3):
        sm.create_secret(Name=f"prod/region/s{index}", SecretString=json.dumps({"K": VALUE, "I": index}))
    env = {"AWS_REGION": None}
    if source == "config file":
        config = tmp_path / "aws-config"
        config.write_text("[default]\nregion = us-east-1\n")
        env.update(AWS_DEFAULT_REGION=None, AWS_CONFIG_FILE=str(config))
    emulator.recorder.reset()
    loop_task = {
        "name": "read in a loop",
        "ansible.builtin.assert": {"that": [f"lookup('{L}', 'prod/region/s' ~ item) == {{'K': exp, 'I': item}}"],
                                   "quiet": True, "fail_msg": "loop read failed"},
        "loop": [0, 1, 2],
    }
    missing = dict(check("missing", f"lookup('{L}', 'prod/region/nothere') == 1"), ignore_errors=True)
    result = run_play([loop_task, missing], vars={"exp": VALUE}, extra_env=env)
    assert not result[0].get("failed"), result.summary()
    assert VALUE not in result.stdout and VALUE not in result.stderr, HIDDEN
    assert len(value_reads(emulator)) == 4
    assert result[1].get("failed") is True and "us-east-1" in result[1]["msg"], result[1].get("msg")


def test_missing_secret_error_names_secret_region_endpoint(run_play, emulator):
    task = dict(check("missing", f"lookup('{L}', 'prod/shop/nothere') == 1"), ignore_errors=True)
    result = run_play([task])
    assert result[0].get("failed") is True
    msg = result[0]["msg"]
    assert "prod/shop/nothere" in msg, msg
    assert "us-east-1" in msg, msg
    assert emulator.url in msg, msg


def test_invalid_term_fails_before_any_call(run_play, emulator):
    task = dict(check("bad term", f"lookup('{L}', 'bad name:k:s:v:extra') == 1"), ignore_errors=True)
    result = run_play([task])
    assert result[0].get("failed") is True and "_terms" in result[0]["msg"]
    assert emulator.recorder.calls() == []


def test_unknown_option_fails_before_any_call(run_play, emulator):
    """Ansible ignores unknown lookup keywords; a typo must not silently change the answer."""
    task = dict(check("typo", f"lookup('{L}', 'prod/shop', bypth=true) == 1"), ignore_errors=True)
    result = run_play([task])
    assert result[0].get("failed") is True
    assert "unknown option 'bypth'" in result[0]["msg"] and "bypath" in result[0]["msg"], result[0]["msg"]
    assert emulator.recorder.calls() == []


def test_empty_path_is_missing(run_play, emulator):
    """A path with no secret under it is 'missing' (a mistyped prefix is not a silent {})."""
    emulator.client("secretsmanager").create_secret(Name="prod/shop-old/x", SecretString=json.dumps({"K": 1}))
    failing = dict(check("empty path", f"lookup('{L}', 'prod/shop', bypath=true) == {{}}"), ignore_errors=True)
    tasks = [failing,
             check("default", f"lookup('{L}', 'prod/shop', bypath=true, on_missing='skip', default={{}}) == {{}}",
                   f"query('{L}', 'prod/shop', bypath=true, on_missing='skip') == []")]
    result = run_play(tasks)
    assert result[0].get("failed") is True
    assert "No secret under the path prod/shop" in result[0]["msg"] and emulator.url in result[0]["msg"], result[0]["msg"]
    assert not result[1].get("failed"), result.summary()


@pytest.mark.parametrize("terms", [
    "'prod/shop/a'",
    "'prod/shop/a', 'prod/shop/b'",  # the batched reader (was a bare BotoCoreError before 321e2ff)
], ids=["single", "batched"])
def test_unreachable_endpoint_error_is_explained(run_play, emulator, terms):
    url = f"http://127.0.0.1:{free_port()}"
    task = dict(check("unreachable", f"lookup('{L}', {terms}) == 1"), ignore_errors=True)
    result = run_play([task], extra_env={"AWS_ENDPOINT_URL": url, "AWS_MAX_ATTEMPTS": "1"})
    msg = result[0]["msg"]
    assert result[0].get("failed") is True
    assert "No answer from" in msg and "us-east-1" in msg and "VPC interface endpoint" in msg, msg
