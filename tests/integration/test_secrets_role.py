# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secrets role against moto: check mode writes nothing, the whole list is one module
invocation, the no-change run reads with one ListSecrets page plus batched value reads (no
per-secret calls) and writes nothing, generated values are never regenerated, and a category
with ``rotation`` gets Lambda rotation configured."""
import json

import pytest

PREFIX = "roletest/shop"


def role_task(secrets_list):
    return [{"name": "secrets role", "ansible.builtin.include_role": {"name": "secretsops.aws.secrets"},
             "vars": {"secrets_prefix": PREFIX, "secrets_list": secrets_list,
                      "secrets_tags": {"Environment": "roletest", "Application": "shop"}}}]


@pytest.fixture
def forty_secrets():
    return [{"category": f"c{i:02d}", "json": {"USER": f"user{i}"}, "generate": ["PASSWORD"]} for i in range(40)]


def test_bulk_reconcile_is_idempotent_with_batched_reads(emulator, run_play, forty_secrets):
    check = run_play(role_task(forty_secrets), check=True)
    assert check.rc == 0, check.summary()
    assert emulator.writes() == [] and emulator.client("secretsmanager").list_secrets()["SecretList"] == []

    first = run_play(role_task(forty_secrets))
    assert first.rc == 0, first.summary()
    bulk = first.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")
    assert bulk["changed"] and len(bulk["results"]) == 40
    client = emulator.client("secretsmanager")
    before = {s["Name"]: s["VersionIdsToStages"] if "VersionIdsToStages" in s else s["SecretVersionsToStages"]
              for s in client.list_secrets(MaxResults=100)["SecretList"]}
    assert len(before) == 40

    emulator.recorder.reset()
    second = run_play(role_task(forty_secrets))
    assert second.rc == 0, second.summary()
    assert not second.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")["changed"]
    assert emulator.writes() == []
    calls = emulator.calls()
    assert calls.count("secretsmanager:ListSecrets") == 1
    assert calls.count("secretsmanager:BatchGetSecretValue") == 2  # 40 values, 20 a call
    assert len(calls) == 3, calls
    after = {s["Name"]: s["SecretVersionsToStages"] for s in client.list_secrets(MaxResults=100)["SecretList"]}
    assert after == before  # generated passwords were not regenerated (no new version)


def test_rotation_is_configured_once(emulator, run_play):
    arn = emulator.rotation_lambda("roletest-rotation")
    secrets_list = [{"category": "db", "json": {"USER": "app"}, "generate": ["PASSWORD"],
                     "rotation": {"lambda_arn": arn, "interval_days": 30}}]
    first = run_play(role_task(secrets_list))
    assert first.rc == 0, first.summary()
    # One module invocation reconciles the value and then the rotation of the item.
    result = first.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")["results"][0]
    assert result["changes"][-1] == "rotation_configured", result["changes"]
    described = emulator.client("secretsmanager").describe_secret(SecretId=f"{PREFIX}/db")
    assert described["RotationEnabled"] and described["RotationLambdaARN"] == arn
    assert described["RotationRules"]["AutomaticallyAfterDays"] == 30

    emulator.recorder.reset()
    second = run_play(role_task(secrets_list))
    assert second.rc == 0, second.summary()
    assert not second.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")["changed"]
    assert emulator.writes() == []


def lagging_listing(operation, body):
    """ListSecrets as AWS may answer it: "might not reflect changes from the last five minutes"
    (API reference). Here it misses the secret created last and shows no tags on the others."""
    if operation != "secretsmanager:ListSecrets":
        return body
    data = json.loads(body)
    data["SecretList"] = [item for item in data.get("SecretList", []) if not item["Name"].endswith("/new")]
    for item in data["SecretList"]:
        item["Tags"] = []
    return json.dumps(data).encode("utf-8")


@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "apply"])
def test_a_lagging_listing_neither_fails_nor_writes(emulator, run_play, check):
    items = [{"category": "old", "json": {"K": "one"}}, {"category": "new", "json": {"K": "two"}}]
    first = run_play(role_task(items))
    assert first.rc == 0, first.summary()

    emulator.recorder.reset()
    emulator.recorder.rewrite = lagging_listing
    again = run_play(role_task(items), check=check)
    assert again.rc == 0, again.summary()
    assert not again.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")["changed"]
    assert emulator.writes() == []


def test_a_secret_scheduled_for_deletion_is_restored_once(emulator, run_play):
    items = [{"category": "db", "json": {"K": "one"}}]
    assert run_play(role_task(items)).rc == 0
    client = emulator.client("secretsmanager")
    client.delete_secret(SecretId=f"{PREFIX}/db", RecoveryWindowInDays=7)

    again = run_play(role_task(items))
    assert again.rc == 0, again.summary()
    bulk = again.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")
    assert bulk["changed"] and "restored" in bulk["results"][0]["changes"]
    assert "DeletedDate" not in client.describe_secret(SecretId=f"{PREFIX}/db")

    # Moments later the listing may still say "scheduled for deletion": no second restore.
    def still_deleted(operation, body):
        if operation != "secretsmanager:ListSecrets":
            return body
        data = json.loads(body)
        for item in data.get("SecretList", []):
            item["DeletedDate"] = 1764000000.0
        return json.dumps(data).encode("utf-8")

    emulator.recorder.reset()
    emulator.recorder.rewrite = still_deleted
    third = run_play(role_task(items))
    assert third.rc == 0, third.summary()
    assert not third.by_name("secretsops.aws.secrets : Reconcile every secret under the prefix")["changed"]
    assert emulator.writes() == []


def test_arns_masked_by_ansible_core_are_rebuilt_or_published_as_unknown(emulator, run_play):
    # ansible-core hides each leaf value of a no_log mapping wherever it occurs in the result: the
    # value "shop" turns the returned ARNs into ...:secret:roletest/********/db-xxxxxx; the role
    # rebuilds them from the secret's name. The value 1 masks the account id and maybe the suffix:
    # such an ARN cannot be rebuilt and is published as "" (unknown), never as the masked text.
    show = [{"name": "show", "ansible.builtin.debug": {"msg": "{{ secrets_arns }}"}}]
    masked = [{"category": "db", "json": {"DB_NAME": "shop"}}, {"category": "cache", "json": {"HOST": "c.example"}}]
    result = run_play(role_task(masked) + show)
    assert result.rc == 0, result.summary()
    real = {s["Name"]: s["ARN"] for s in emulator.client("secretsmanager").list_secrets()["SecretList"]}
    assert result.by_name("show")["msg"] == {"db": real[f"{PREFIX}/db"], "cache": real[f"{PREFIX}/cache"]}

    result = run_play(role_task([dict(masked[0], json={"DB_NAME": "shop", "REPLICAS": 1}), masked[1]]) + show)
    assert result.rc == 0, result.summary()
    assert result.by_name("show")["msg"] == {"db": "", "cache": ""}
