# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed policy written by the ``iam_secret_access`` role, proven by evaluation.

moto's server authorises Secrets Manager calls against resource ``*`` (see ENVIRONMENT.md), so the
prefix scoping cannot be proven by calling the emulator with the policy attached. Instead the role
runs against the emulator, the policy document it wrote is read back from IAM, and that document
is evaluated against concrete ARNs with moto's IAM policy evaluator
(``moto.iam.access_control.IAMPolicy``, the one moto's server uses when it enforces IAM), called
directly. Then ``parliament`` (IAM policy linter) checks it.

What moto's evaluator does and does not do (moto 5.2.x, read from its source), and how this test
deals with it:

- ``Resource``/``Action`` patterns: ``*`` becomes ``.*`` in a regular expression, other characters
  are not escaped and ``?`` is no wildcard. The prefix used here has no regex metacharacters, so
  the result is the one AWS gives. Matching is case-sensitive (AWS: actions are not); the test
  uses the canonical case.
- An Allow statement whose condition fails makes moto answer DENIED (AWS: the statement does not
  apply, an implicit deny). Both mean "not allowed", which is all the test asserts.
- Conditions: only ``StringEquals`` is evaluated; any other operator is silently treated as met,
  and a condition key that is absent from the request is treated as met (AWS: ``StringEquals`` on
  an absent key is false). So "kms:Decrypt with the right kms:ViaService" and "with another
  service" are evaluated, while "kms:Decrypt with no kms:ViaService at all" cannot be: it is
  asserted structurally instead (operator exactly ``StringEquals`` -- no ``...IfExists``, which AWS
  would let pass without the key -- on exactly the key ``kms:ViaService``, with one value).
- A negative control checks that the evaluator does tell the prefix boundary apart: the same
  document with ``prod/shop*`` (no slash) is caught allowing ``prod/shop-old/...``.
"""
import copy
import json
import os
import subprocess
import sys
from urllib.parse import unquote

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)

REGION = "eu-west-1"  # not the emulator's default region: the role must put its own region everywhere
PREFIX = "prod/shop"
READ_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
# Everything else a workload could try on a secret: none of it may be allowed.
OTHER_SECRET_ACTIONS = [
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:TagResource",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:CreateSecret",
]
OTHER_KMS_ACTIONS = ["kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:DescribeKey"]
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"


@pytest.fixture(scope="module")
def policy(aws, tmp_path_factory):
    """Run the role once against a freshly reset emulator; return (the policy document read back
    from IAM, account id). Module scope: the document is plain data, every test below only
    evaluates it."""
    aws.reset()
    tmp_path = tmp_path_factory.mktemp("iam_policy_evaluation")
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Write the read policy",
        "hosts": "localhost",
        "gather_facts": False,
        "connection": "local",
        "vars": {"ansible_python_interpreter": sys.executable},
        "roles": [{
            "role": "secretsops.aws.iam_secret_access",
            "vars": {"iam_secret_access_prefix": PREFIX, "iam_secret_access_region": REGION},
        }],
    }], sort_keys=False))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook)],
                          capture_output=True, text=True, env=aws.ansible_env(tmp_path), cwd=ROOT,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]

    iam = aws.client("iam")
    managed = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith("secretsops-")]
    assert len(managed) == 1, [p["PolicyName"] for p in managed]
    version = iam.get_policy_version(PolicyArn=managed[0]["Arn"], VersionId=managed[0]["DefaultVersionId"])
    document = version["PolicyVersion"]["Document"]
    if isinstance(document, str):  # URL-encoded JSON when botocore does not decode it
        document = json.loads(unquote(document))
    account = aws.client("sts").get_caller_identity()["Account"]
    return document, account


def evaluate(document, action, resource, context=None):
    """True when moto's evaluator allows ``action`` on ``resource`` with the condition ``context``
    (PERMITTED); False for an explicit or implicit deny (DENIED, NEUTRAL)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    result = IAMPolicy(json.dumps(document)).is_action_permitted(
        action, resource, incoming_condition_values=context)
    return result == PermissionResult.PERMITTED


def secret_arn(account, name, region=REGION, partition="aws"):
    # Secrets Manager appends a hyphen and 6 random characters to the name in the ARN.
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"


def key_arn(account, region=REGION):
    return f"arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_reads_exactly_the_prefix(policy):
    document, account = policy
    allowed = [secret_arn(account, name) for name in ("prod/shop/x", "prod/shop/database", "prod/shop/nested/deeper")]
    denied = [
        secret_arn(account, "prod/shop-old/x"),
        secret_arn(account, "prod/other/x"),
        secret_arn(account, "prod/shop"),  # the prefix itself is no secret under the prefix
        secret_arn(account, "prod/shopping/x"),
        secret_arn(account, "dev/shop/x"),
        secret_arn(account, "x/prod/shop/x"),
        secret_arn(account, "prod/shop/x", region="us-east-1"),
        secret_arn(str(int(account) + 1).zfill(12), "prod/shop/x"),
        "*",
    ]
    for action in READ_ACTIONS:
        for arn in allowed:
            assert evaluate(document, action, arn), f"{action} denied on {arn}"
        for arn in denied:
            assert not evaluate(document, action, arn), f"{action} allowed on {arn}"


@pytest.mark.parametrize("action", OTHER_SECRET_ACTIONS + ["secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"])
def test_no_other_secrets_manager_action(policy, action):
    document, account = policy
    for resource in (secret_arn(account, "prod/shop/x"), "*"):
        assert not evaluate(document, action, resource), f"{action} allowed on {resource}"


def test_decrypt_only_via_secrets_manager_in_the_region(policy):
    document, account = policy
    key = key_arn(account)
    assert evaluate(document, "kms:Decrypt", key, {"kms:ViaService": VIA_SECRETS_MANAGER})
    for service in ("ssm", "s3", "lambda", "ec2", "rds"):
        via = f"{service}.{REGION}.amazonaws.com"
        assert not evaluate(document, "kms:Decrypt", key, {"kms:ViaService": via}), via
    for other_region in ("us-east-1", "eu-central-1"):
        via = f"secretsmanager.{other_region}.amazonaws.com"
        assert not evaluate(document, "kms:Decrypt", key, {"kms:ViaService": via}), via
    for action in OTHER_KMS_ACTIONS:
        assert not evaluate(document, action, key, {"kms:ViaService": VIA_SECRETS_MANAGER}), action


def test_decrypt_condition_cannot_pass_without_the_key(policy):
    """moto treats an absent condition key as met, so "kms:Decrypt called directly, without
    kms:ViaService" is checked on the statement's structure (see the module docstring)."""
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    document = policy[0]
    decrypting = [s for s in document["Statement"] if "kms:Decrypt" in as_list(s.get("Action"))]
    assert len(decrypting) == 1
    statement = decrypting[0]
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["kms:Decrypt"]
    # StringEquals (never StringEqualsIfExists / ForAnyValue:...) is false when the key is absent.
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": VIA_SECRETS_MANAGER}}
    # ...and is an operator moto evaluates, so the evaluations above did test the condition.
    assert set(statement["Condition"]) <= set(CONDITION_OPERATIONS)


def test_document_has_no_other_grant(policy):
    """Nothing outside the evaluated cases: two Allow statements, no Deny/NotAction/NotResource
    (which the cases above would not exercise), no wildcard action."""
    document = policy[0]
    assert document["Version"] == "2012-10-17"
    actions = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "NotPrincipal", "Principal"} & set(statement), statement.get("Sid")
        actions.update(as_list(statement["Action"]))
    assert actions == set(READ_ACTIONS) | {"kms:Decrypt"}
    assert not any("*" in action for action in actions)


def test_evaluator_catches_a_prefix_without_the_boundary(policy):
    """Negative control: the evaluator does tell prod/shop/ from prod/shop-old/."""
    document, account = policy
    loose = copy.deepcopy(document)
    for statement in loose["Statement"]:
        if statement.get("Resource", "*") != "*":
            statement["Resource"] = [r.replace(f":secret:{PREFIX}/*", f":secret:{PREFIX}*") for r in as_list(statement["Resource"])]
    assert evaluate(loose, "secretsmanager:GetSecretValue", secret_arn(account, "prod/shop-old/x"))
    assert not evaluate(document, "secretsmanager:GetSecretValue", secret_arn(account, "prod/shop-old/x"))


# --- parliament ----------------------------------------------------------------------------

def parliament_findings(document):
    """All findings of parliament (its own and the community auditors, every severity) as
    (issue, detail, statement index) -- the index found from the line parliament reports."""
    import parliament

    text = json.dumps(document, indent=2)
    # With indent=2 each statement object opens on a line of its own, "    {".
    starts = [number for number, line in enumerate(text.splitlines(), 1) if line == "    {"]
    assert len(starts) == len(document["Statement"])
    analysed = parliament.analyze_policy_string(text, include_community_auditors=True)
    findings = []
    for finding in analysed.findings:
        line = (finding.location or {}).get("line")
        index = starts.index(line) if line in starts else None
        findings.append((finding.issue, finding.detail, index))
    return findings


def test_parliament_has_no_finding(policy):
    """parliament reports one finding that is accepted here, and only in exactly this form:
    RESOURCE_STAR ("Unnecessary use of Resource *", severity LOW) for kms:Decrypt on the statement
    that carries the kms:ViaService condition. parliament does not take conditions into account:
    kms:Decrypt could be scoped to key ARNs, but the role cannot know the keys (each secret may use
    its own customer managed key, or aws/secretsmanager) and the design bounds the statement with
    kms:ViaService = secretsmanager.REGION.amazonaws.com instead, so the key is only usable through
    Secrets Manager in that region, where the first statement limits which secrets can be read.
    Any other finding -- or this one on another statement, another action, or without that
    condition -- fails the test."""
    document = policy[0]
    unexpected = []
    for issue, detail, index in parliament_findings(document):
        statement = document["Statement"][index] if index is not None else {}
        accepted = (issue == "RESOURCE_STAR" and detail == ["kms:Decrypt"]
                    and as_list(statement.get("Action")) == ["kms:Decrypt"]
                    and statement.get("Resource") == "*"
                    and statement.get("Condition") == {"StringEquals": {"kms:ViaService": VIA_SECRETS_MANAGER}})
        if not accepted:
            unexpected.append((issue, detail, statement.get("Sid", index)))
    assert not unexpected, unexpected


def test_parliament_would_flag_a_broader_policy(policy):
    """Negative control: the same linter run flags Resource * on the secrets statement."""
    document = policy[0]
    broad = copy.deepcopy(document)
    for statement in broad["Statement"]:
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            statement["Resource"] = "*"
    issues = [(finding[0], finding[2]) for finding in parliament_findings(broad)]
    read_index = next(i for i, s in enumerate(broad["Statement"]) if "secretsmanager:GetSecretValue" in as_list(s["Action"]))
    assert ("RESOURCE_STAR", read_index) in issues


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
