# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guide's read-only access, enforced: moto started with INITIAL_NO_AUTH_ACTION_COUNT
evaluates IAM for every request after the first N (ENVIRONMENT.md).

moto 5.2.5 authorises Secrets Manager requests against resource ``*`` (its Secrets Manager
responses define no per-request resource), so a policy scoped to ``.../secret:prod/shop/*``
denies everything there, unlike AWS. The user therefore gets the actions of the
``iam_secret_access`` document (GetSecretValue, DescribeSecret; no BatchGetSecretValue, no
writes) on ``*``; the prefix scoping of the document itself is asserted by the role's test
(molecule scenario extensions/molecule/iam_secret_access/). Proves: the lookup falls back to
GetSecretValue when BatchGetSecretValue is denied; a denied action fails with an error that
names the action, the secret and the fix; ``on_denied`` works; a no-change module run needs
only read permissions, and a change names the denied write action.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from emulator import _die_with_parent, free_port, stop, wait_until_up  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
VALUES = {
    "prod/shop/database": {"DB_PASSWORD": "enforced-test-db", "DB_PORT": 5432},
    "prod/shop/jwt": {"JWT_SECRET": "enforced-test-jwt"},
    "prod/other/db": {"PASSWORD": "enforced-test-other"},
}
# Unauthenticated set-up requests: 3 secrets, user, access key, policy, attachment.
SETUP_REQUESTS = len(VALUES) + 4


def read_policy(prefix, region=REGION, account=ACCOUNT):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecretsUnderPrefix",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                # AWS: f"arn:aws:secretsmanager:{region}:{account}:secret:{prefix}/*" (see module docstring)
                "Resource": "*",
            },
            {
                "Sid": "DecryptViaSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }


@pytest.fixture(scope="module")
def enforced(tmp_path_factory):
    import boto3

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_REQUESTS))
    log = open(tmp_path_factory.mktemp("moto-iam") / "moto.log", "ab")
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, env=env, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        wait_until_up(url, proc)
        admin = dict(region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
        secrets = boto3.client("secretsmanager", **admin)
        for name, value in VALUES.items():
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="shop-reader")
        key = iam.create_access_key(UserName="shop-reader")["AccessKey"]
        arn = iam.create_policy(PolicyName="secretsops-prod-shop-read",
                                PolicyDocument=json.dumps(read_policy("prod/shop")))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="shop-reader", PolicyArn=arn)
        yield {"url": url, "key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    finally:
        stop(proc)
        log.close()


def play(enforced, tmp_path, tasks):
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                     "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]))
    env = dict(os.environ, AWS_ENDPOINT_URL=enforced["url"], AWS_ACCESS_KEY_ID=enforced["key_id"],
               AWS_SECRET_ACCESS_KEY=enforced["secret"], AWS_REGION=REGION,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    env.pop("AWS_PROFILE", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    for value in (v for item in VALUES.values() for v in item.values() if isinstance(v, str)):
        assert value not in proc.stdout + proc.stderr, "a secret value reached the output"
    return proc


def test_reads_under_prefix_fall_back_from_denied_batch(enforced, tmp_path):
    proc = play(enforced, tmp_path, [{
        "name": "read two secrets under the prefix (BatchGetSecretValue is not granted)",
        "ansible.builtin.assert": {"quiet": True, "fail_msg": "wrong values", "that": [
            "lookup('secretsops.aws.secret', 'prod/shop/database', 'prod/shop/jwt', wantlist=true) == expected",
            "lookup('secretsops.aws.secret', 'prod/shop/database:DB_PORT') == 5432",
        ]},
        "vars": {"expected": [VALUES["prod/shop/database"], VALUES["prod/shop/jwt"]]},
    }])
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_denied_action_gives_an_actionable_error(enforced, tmp_path):
    proc = play(enforced, tmp_path, [
        {"name": "list a path (ListSecrets is not granted)",
         "ansible.builtin.debug": {"msg": "{{ lookup('secretsops.aws.secret', 'prod/shop', bypath=true) | length }}"},
         "ignore_errors": True},
        {"name": "skip a denied path", "ansible.builtin.assert": {"that": [
            "lookup('secretsops.aws.secret', 'prod/shop', bypath=true, on_denied='skip', default='fallback') == 'fallback'"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Access denied calling ListSecrets on prod/shop/" in proc.stdout
    assert "must allow secretsmanager:ListSecrets" in proc.stdout


def test_module_needs_only_read_access_when_nothing_changes(enforced, tmp_path):
    proc = play(enforced, tmp_path, [
        {"name": "same value: reads only", "secretsops.aws.secret": {
            "name": "prod/shop/jwt", "json_secret": VALUES["prod/shop/jwt"]}, "register": "same"},
        {"name": "no change", "ansible.builtin.assert": {"that": ["not same.changed"]}},
        {"name": "new value: the write is denied", "secretsops.aws.secret": {
            "name": "prod/shop/jwt", "json_secret": {"JWT_SECRET": "enforced-test-other"}},
         "register": "write", "ignore_errors": True},
        {"name": "the error names the action", "ansible.builtin.assert": {"that": [
            "write is failed", "'Access denied calling PutSecretValue' in write.msg"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-3000:]
