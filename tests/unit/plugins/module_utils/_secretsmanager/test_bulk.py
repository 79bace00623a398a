# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/bulk.py``: the listing selectors (pure), batched reads,
``find_secrets`` and ``reconcile_many`` with the in-memory fake client of conftest.py (fixture
``fake``): a lagging listing only ever decides "no change", batches fall back to single reads.

Test values such as ``test-value-1`` are not real secrets; assertion messages never print them.
"""
import json

import botocore.exceptions
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import find_secrets
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import get_current_values
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import list_filters
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import listed_as_described
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import probe_unlisted
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import reconcile_many
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import select_listed
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import validate_many
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_rotation

VALUE = "test-value-1"
VALUE2 = "test-value-2"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
NOT_SHOWN = "a secret value leaked into the output"
NAMES = ["prod/shop/a", "prod/shop/b", "prod/shop/c"]


def desired(name, **params):
    return build_desired(dict(params, name=name))


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def client_error(code, message="", operation="GetSecretValue"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)


def seed(fake, names=None, value=VALUE, **extra):
    return [fake.add_secret(name, value, **extra) for name in (NAMES if names is None else names)]


def by_name(results):
    return {result["name"]: result for result in results}


# -- listing selectors (pure) --------------------------------------------------------------------------------
def test_list_filters():
    assert list_filters("prod/shop") == [{"Key": "name", "Values": ["prod/shop/"]}]
    assert list_filters("prod/shop/", tags={"Environment": "prod"}) == [
        {"Key": "name", "Values": ["prod/shop/"]},
        {"Key": "tag-key", "Values": ["Environment"]},
        {"Key": "tag-value", "Values": ["prod"]},
    ]
    assert list_filters(filters={"description": "x", "tag-key": ["a", "b"]}) == [
        {"Key": "description", "Values": ["x"]},
        {"Key": "tag-key", "Values": ["a", "b"]},
    ]
    assert list_filters() == []


def test_list_filters_bad_prefix():
    with pytest.raises(InvalidOption) as info:
        list_filters("bad prefix")
    assert info.value.option == "name_prefix"


def test_select_listed():
    listed = [
        {"Name": "prod/shop/a", "Tags": tag_list({"Environment": "prod", "Application": "shop"})},
        {"Name": "prod/shop/b", "Tags": tag_list({"Environment": "dev"})},
        {"Name": "prod/shop-old/a", "Tags": tag_list({"Environment": "prod"})},
        {"Name": "prod/shop/c"},
    ]
    assert [s["Name"] for s in select_listed(listed, "prod/shop")] == ["prod/shop/a", "prod/shop/b", "prod/shop/c"]
    assert [s["Name"] for s in select_listed(listed, None, {"Environment": "prod"})] == ["prod/shop/a", "prod/shop-old/a"]
    assert [s["Name"] for s in select_listed(listed, "prod/shop", {"Environment": "prod"})] == ["prod/shop/a"]


def test_listed_as_described():
    item = {"Name": "n", "SecretVersionsToStages": {"v1": ["AWSCURRENT"]}}
    assert listed_as_described(item)["VersionIdsToStages"] == {"v1": ["AWSCURRENT"]}
    assert listed_as_described({"Name": "n"})["VersionIdsToStages"] == {}
    assert "VersionIdsToStages" not in item


@pytest.mark.parametrize("names, fragment", [
    (["prod/a", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/b-AbCdEf"], "not ARNs"),
    (["prod/a", "prod/b", "prod/a"], "prod/a is listed twice"),
])
def test_validate_many(names, fragment):
    with pytest.raises(InvalidOption) as info:
        validate_many([desired(name) for name in names])
    assert info.value.option == "secrets" and fragment in str(info.value)


# -- find_secrets ------------------------------------------------------------------------------------------------
def test_find_secrets_by_names(fake):
    seed(fake, ["prod/b", "prod/a"])
    secrets, missing = find_secrets(fake, names=["prod/b", "prod/x", "prod/a"])
    assert [s["name"] for s in secrets] == ["prod/a", "prod/b"] and missing == ["prod/x"]
    assert VALUE not in repr(secrets), NOT_SHOWN


def test_find_secrets_by_names_validates_them(fake):
    with pytest.raises(InvalidOption) as info:
        find_secrets(fake, names=["bad name"])
    assert info.value.option == "names" and fake.calls == []


def test_find_secrets_by_prefix_keeps_the_path_boundary(fake):
    seed(fake, ["prod/shop/a", "prod/shop-old/a", "prod/shop/b"])
    fake.add_secret("prod/shop/gone", deleted=True)
    secrets, missing = find_secrets(fake, name_prefix="prod/shop")
    assert [s["name"] for s in secrets] == ["prod/shop/a", "prod/shop/b"] and missing == []
    secrets, dummy = find_secrets(fake, name_prefix="prod/shop", include_planned_deletion=True)
    assert [s["name"] for s in secrets] == ["prod/shop/a", "prod/shop/b", "prod/shop/gone"]
    assert secrets[0]["version_id"] == fake.holder("prod/shop/a")


def test_find_secrets_by_tags_needs_key_and_value_together(fake):
    fake.add_secret("prod/a", tags={"Environment": "prod", "Team": "dev"})
    fake.add_secret("prod/b", tags={"Environment": "dev", "Team": "prod"})  # matches both filters apart
    secrets, dummy = find_secrets(fake, tags={"Environment": "prod"})
    assert [s["name"] for s in secrets] == ["prod/a"]


# -- batched reads -----------------------------------------------------------------------------------------------
def test_get_current_values_in_one_batch(fake):
    arns = seed(fake, value='{"k": 1}')
    values = get_current_values(fake, arns)
    assert [values[arn].json for arn in arns] == [{"k": 1}] * 3
    assert fake.ops() == ["batch_get_secret_value"]


def test_get_current_values_single_secret_is_one_get(fake):
    arn, = seed(fake, ["prod/a"])
    assert get_current_values(fake, [arn])[arn].raw == VALUE
    assert fake.ops() == ["get_secret_value"]


@pytest.mark.parametrize("exc", [
    client_error("ResourceNotFoundException", "one listed secret has no value", "BatchGetSecretValue"),  # moto
    client_error("AccessDeniedException", "not allowed", "BatchGetSecretValue"),
    botocore.exceptions.EndpointConnectionError(endpoint_url="https://x"),
])
def test_batch_whole_call_failure_falls_back_to_single_reads(fake, exc):
    arns = seed(fake)
    fake.errors["batch_get_secret_value"] = [exc]
    values = get_current_values(fake, arns)
    assert all(values[arn].raw == VALUE for arn in arns)
    assert fake.ops() == ["batch_get_secret_value"] + ["get_secret_value"] * 3


def test_get_current_values_per_secret_answers(fake):
    ok = fake.add_secret("prod/ok", VALUE)
    empty = fake.add_secret("prod/empty")  # no AWSCURRENT version
    gone = fake.add_secret("prod/gone", VALUE, deleted=True)
    values = get_current_values(fake, [ok, empty, gone])
    assert values[ok].raw == VALUE and values[empty] is None and values[gone] is UNKNOWN


def test_get_current_values_other_per_secret_error_raises(fake):
    arns = seed(fake, ["prod/a", "prod/b"])
    fake.batch_errors[arns[1]] = "AccessDeniedException"
    with pytest.raises(SecretsManagerError) as err:
        get_current_values(fake, arns)
    assert arns[1] in str(err.value)


def test_probe_unlisted_describes_only_what_exists(fake):
    fake.add_secret("prod/new", VALUE)
    fake.add_secret("prod/gone", VALUE, deleted=True)
    found = probe_unlisted(fake, ["prod/new", "prod/none", "prod/gone"])
    assert sorted(found) == ["prod/gone", "prod/new"]
    assert fake.ops() == ["batch_get_secret_value", "describe_secret", "describe_secret"]


def test_probe_unlisted_without_batch_describes_each(fake):
    fake.add_secret("prod/new", VALUE)
    fake.errors["batch_get_secret_value"] = [client_error("AccessDeniedException", "no", "BatchGetSecretValue")]
    assert list(probe_unlisted(fake, ["prod/new", "prod/none"])) == ["prod/new"]
    assert fake.count("describe_secret") == 2


def test_probe_nothing(fake):
    assert probe_unlisted(fake, []) == {} and fake.calls == []


# -- reconcile_many ------------------------------------------------------------------------------------------------
def test_create_then_rerun_makes_no_write_with_two_reads(fake):
    desireds = [desired(name, json_secret={"NAME": name}, generate=["PASSWORD"], tags={"Application": "shop"})
                for name in NAMES]
    results = reconcile_many(fake, desireds)
    assert [r["name"] for r in results] == NAMES
    assert all(r["changed"] and r["changes"] == ["created"] for r in results)
    assert fake.write_ops() == ["create_secret"] * 3
    assert VALUE not in repr(results), NOT_SHOWN
    fake.calls.clear()
    results = reconcile_many(fake, desireds)
    assert fake.writes == [] and not any(r["changed"] for r in results)
    assert fake.ops() == ["list_secrets", "batch_get_secret_value"]
    assert fake.calls[0][1]["Filters"] == [{"Key": "name", "Values": ["prod/shop/"]}]


def test_written_version_id_per_item(fake):
    seed(fake, NAMES[:1])
    results = reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE2), desired(NAMES[1], secret_string=VALUE)])
    assert results[0]["written_version_id"] == fake.holder(NAMES[0])
    assert results[1]["written_version_id"] == fake.holder(NAMES[1])
    fake.calls.clear()
    results = reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE2)])
    assert results[0]["written_version_id"] is None and fake.writes == []


def test_update_describes_again_before_writing(fake):
    seed(fake)
    desireds = [desired(NAMES[0], secret_string=VALUE2), desired(NAMES[1], secret_string=VALUE)]
    results = reconcile_many(fake, desireds)
    assert fake.write_ops() == ["put_secret_value"]
    assert [r["changed"] for r in results] == [True, False]
    assert fake.value(NAMES[0]) == VALUE2
    assert fake.count("describe_secret") == 2  # the re-plan from DescribeSecret, and the result after the write


def test_lagging_listing_makes_no_write_and_no_failure(fake):
    """ListSecrets does not show a secret that exists yet: it is probed, found, and unchanged."""
    seed(fake)
    fake.unlisted.add(NAMES[1])
    results = reconcile_many(fake, [desired(name, secret_string=VALUE) for name in NAMES])
    assert fake.writes == [] and not any(r["changed"] for r in results)
    assert by_name(results)[NAMES[1]]["secret"]["name"] == NAMES[1]


def test_lagging_listing_with_stale_metadata_makes_no_write(fake):
    seed(fake, tags={"Team": "new"})
    arn = fake.secrets[NAMES[0]]["ARN"]
    fake.stale_listing[NAMES[0]] = {"ARN": arn, "Name": NAMES[0], "Tags": tag_list({"Team": "old"}),
                                    "SecretVersionsToStages": fake.stages(NAMES[0])}
    results = reconcile_many(fake, [desired(name, tags={"Team": "new"}) for name in NAMES])
    assert fake.writes == [] and not any(r["changed"] for r in results)


def test_listing_still_showing_a_restored_secret_as_deleted_makes_no_write(fake):
    seed(fake)
    stale = dict(fake.secrets[NAMES[0]], DeletedDate="2024-01-01", SecretVersionsToStages=fake.stages(NAMES[0]))
    fake.stale_listing[NAMES[0]] = {k: stale[k] for k in ("ARN", "Name", "DeletedDate", "SecretVersionsToStages")}
    results = reconcile_many(fake, [desired(name, secret_string=VALUE) for name in NAMES])
    assert fake.writes == [] and not any(r["changed"] for r in results)


def test_new_secret_missing_from_the_listing_is_created(fake):
    seed(fake, NAMES[:2])
    results = reconcile_many(fake, [desired(name, secret_string=VALUE) for name in NAMES])
    assert fake.write_ops() == ["create_secret"]
    assert [r["changed"] for r in results] == [False, False, True]


def test_restore_of_a_secret_scheduled_for_deletion(fake):
    seed(fake)
    fake.secrets[NAMES[2]]["DeletedDate"] = "2024-01-01"
    desireds = [desired(name, secret_string=VALUE) for name in NAMES]
    results = reconcile_many(fake, desireds)
    assert fake.write_ops() == ["restore_secret"]
    restored = by_name(results)[NAMES[2]]
    assert restored["changed"] and restored["changes"] == ["restored"]
    assert restored["secret"]["deleted_date"] is None and not fake.secrets[NAMES[2]]["DeletedDate"]
    fake.calls.clear()
    assert not any(r["changed"] for r in reconcile_many(fake, desireds)) and fake.writes == []


def test_restore_then_write_a_new_value(fake):
    seed(fake, NAMES[:1], deleted=True)
    result, = reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE2)])
    assert fake.write_ops() == ["restore_secret", "put_secret_value"]
    assert result["changes"] == ["restored", "value"] and fake.value(NAMES[0]) == VALUE2


def test_create_finding_the_name_taken_falls_back_to_reconcile(fake):
    fake.before["create_secret"] = [lambda f, kwargs: f.add_secret(kwargs["Name"], VALUE)]
    result, = reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE)])
    assert fake.write_ops() == ["create_secret"]
    assert not result["changed"] and result["name"] == NAMES[0] and result["secret"]["name"] == NAMES[0]
    assert list(fake.secrets) == [NAMES[0]] and len(fake.secrets[NAMES[0]]["versions"]) == 1


def test_create_race_with_another_value_writes_ours(fake):
    fake.before["create_secret"] = [lambda f, kwargs: f.add_secret(kwargs["Name"], VALUE2)]
    result, = reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE)])
    assert fake.write_ops() == ["create_secret", "put_secret_value"]
    assert result["changed"] and fake.value(NAMES[0]) == VALUE
    assert len(fake.secrets) == 1


def test_other_write_errors_are_raised(fake):
    seed(fake, NAMES[:1])
    fake.errors["put_secret_value"] = [client_error("AccessDeniedException", "no", "PutSecretValue")]
    with pytest.raises(SecretsManagerError):
        reconcile_many(fake, [desired(NAMES[0], secret_string=VALUE2)])


def test_check_mode_makes_no_write(fake):
    seed(fake, NAMES[:2])
    fake.add_secret("prod/shop/gone", VALUE, deleted=True)
    desireds = [desired(NAMES[0], secret_string=VALUE2, tags={"a": "b"}), desired(NAMES[1], state="absent"),
                desired(NAMES[2], generate=["A"]), desired("prod/shop/gone", secret_string=VALUE)]
    results = reconcile_many(fake, desireds, check_mode=True)
    assert fake.writes == [], fake.write_ops()
    assert [r["changes"] for r in results] == [["value", "tags"], ["deleted"], ["created"], ["restored", "value"]]
    assert VALUE not in repr(results) and VALUE2 not in repr(results), NOT_SHOWN


def test_batch_whole_call_failure_falls_back_to_single_reads_in_a_run(fake):
    seed(fake)
    fake.errors["batch_get_secret_value"] = [client_error("ResourceNotFoundException", "x", "BatchGetSecretValue")]
    results = reconcile_many(fake, [desired(name, secret_string=VALUE) for name in NAMES])
    assert fake.writes == [] and not any(r["changed"] for r in results)
    assert fake.count("get_secret_value") == 3


def test_more_than_20_secrets_are_read_in_batches_of_20(fake):
    names = [f"prod/many/s{index:02d}" for index in range(25)]
    seed(fake, names)
    results = reconcile_many(fake, [desired(name, secret_string=VALUE) for name in names])
    assert not any(r["changed"] for r in results)
    assert fake.ops() == ["list_secrets", "batch_get_secret_value", "batch_get_secret_value"]


def test_required_keys_missing_fails_before_any_write(fake):
    # purge_keys: false makes the value depend on the secret's current one, so the check runs
    # after the reads, in the plan, still before any write.
    desireds = [desired(NAMES[0], secret_string=VALUE),
                desired(NAMES[1], json_secret={"A": "a"}, required_keys=["B"], purge_keys=False)]
    with pytest.raises(InvalidOption) as err:
        reconcile_many(fake, desireds)
    assert "would lack B" in str(err.value) and NAMES[1] in str(err.value)
    assert fake.writes == []


def test_required_keys_known_missing_fail_while_parsing():
    with pytest.raises(InvalidOption) as err:
        desired(NAMES[1], json_secret={"A": "a"}, required_keys=["B"])
    assert "would lack B" in str(err.value)


def test_required_keys_alone_are_checked_against_the_current_value(fake):
    seed(fake, NAMES[:1], value=json.dumps({"A": VALUE}))
    result, = reconcile_many(fake, [desired(NAMES[0], required_keys=["A"])])
    assert not result["changed"]
    with pytest.raises(InvalidOption):
        reconcile_many(fake, [desired(NAMES[0], required_keys=["A", "B"])])
    assert fake.writes == []


def test_invalid_input_fails_before_any_call(fake):
    with pytest.raises(InvalidOption):
        reconcile_many(fake, [desired("prod/a"), desired("prod/a")])
    assert fake.calls == []
    assert reconcile_many(fake, []) == [] and fake.calls == []


def test_rotation_item_is_configured_after_the_value(fake):
    rotation = parse_rotation({"name": NAMES[0], "rotation_lambda_arn": LAMBDA, "rotation_interval_days": 30})
    d = dict(desired(NAMES[0], secret_string=VALUE), rotation=rotation)
    result, = reconcile_many(fake, [d])
    assert fake.write_ops() == ["create_secret", "rotate_secret"]
    assert result["changes"] == ["created", "rotation_configured"] and result["secret"]["rotation_enabled"] is True
    fake.calls.clear()
    result, = reconcile_many(fake, [d])
    assert not result["changed"] and fake.writes == []


def test_rotation_item_in_check_mode_for_a_new_secret(fake):
    rotation = parse_rotation({"name": NAMES[0], "rotation_lambda_arn": LAMBDA, "rotation_interval_days": 30})
    result, = reconcile_many(fake, [dict(desired(NAMES[0], secret_string=VALUE), rotation=rotation)], check_mode=True)
    assert result["changes"] == ["created", "rotation_configured"] and fake.writes == []
