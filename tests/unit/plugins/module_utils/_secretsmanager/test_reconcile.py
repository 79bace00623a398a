# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/reconcile.py`` (read -> plan -> apply for one secret) with
the in-memory fake client of conftest.py (fixture ``fake``): idempotence, check mode, restore,
the create race, and compare-and-swap label moves with lost answers and concurrent writers.

Test values such as ``test-value-1`` are not real secrets; assertion messages never print them.
"""
import json

import botocore.exceptions
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import ROLLED_BACK_LABEL
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import error_code
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import configure_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import move_version_stage
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import reconcile
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_version_move

NAME = "prod/shop/database"
VALUE = "test-value-1"
VALUE2 = "test-value-2"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rotate-db"
MARK = ROLLED_BACK_LABEL
NOT_SHOWN = "a secret value leaked into the output"


def desired(**params):
    params.setdefault("name", NAME)
    return build_desired(params)


def move(**params):
    params.setdefault("name", NAME)
    return parse_version_move(params)


def client_error(code, message="", operation="GetSecretValue"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)


def rerun_makes_no_write(fake, run, *args, **kwargs):
    fake.calls.clear()
    result = run(fake, *args, **kwargs)
    assert fake.writes == [], fake.write_ops()
    assert not result["changed"], result["changes"]
    return result


# -- reconcile: create, update, idempotence ------------------------------------------------------------
def test_create_then_rerun_makes_no_write(fake):
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD"], description="db", tags={"Environment": "prod"},
                resource_policy={"Version": "2012-10-17", "Statement": []})
    result = reconcile(fake, d)
    assert result["changed"] and result["changes"] == ["created", "resource_policy"]
    assert fake.write_ops() == ["create_secret", "put_resource_policy"]
    data = json.loads(fake.value(NAME))
    assert data["USER"] == "app" and len(data["PASSWORD"]) == 64
    assert result["secret"]["name"] == NAME and result["secret"]["tags"] == {"Environment": "prod"}
    assert result["secret"]["version_id"] == fake.holder(NAME)
    assert VALUE not in repr(result), NOT_SHOWN
    rerun_makes_no_write(fake, reconcile, d)
    assert json.loads(fake.value(NAME)) == data, "generate must never regenerate"


def test_update_then_rerun_makes_no_write(fake):
    fake.add_secret(NAME, VALUE, description="old", tags={"Old": "x"})
    d = desired(secret_string=VALUE2, description="new", tags={"New": "y"})
    result = reconcile(fake, d)
    assert fake.write_ops() == ["put_secret_value", "update_secret", "untag_resource", "tag_resource"]
    assert result["changes"] == ["value", "metadata", "tags"]
    assert fake.value(NAME) == VALUE2 and len(fake.secrets[NAME]["versions"]) == 2
    assert result["secret"]["description"] == "new" and result["secret"]["tags"] == {"New": "y"}
    assert result["diff"]["before"]["value"] == "********" and result["diff"]["after"]["value"] == "******** (changed)"
    rerun_makes_no_write(fake, reconcile, d)


def test_written_version_id_and_keys(fake):
    d = desired(json_secret={"USER": "app"}, generate=["PASSWORD"])
    result = reconcile(fake, d)
    assert result["written_version_id"] == fake.holder(NAME)
    assert result["keys"]["added"] == ["USER"] and result["keys"]["generated"] == ["PASSWORD"]
    again = reconcile(fake, d)
    assert again["written_version_id"] is None
    assert again["keys"]["unchanged"] == ["USER"] and again["keys"]["kept"] == ["PASSWORD"]
    updated = reconcile(fake, desired(json_secret={"USER": "other"}, generate=["PASSWORD"]))
    assert updated["written_version_id"] == fake.holder(NAME) != result["written_version_id"]
    assert updated["keys"]["overwritten"] == ["USER"]


def test_written_version_id_in_check_mode_is_none(fake):
    assert reconcile(fake, desired(secret_string=VALUE), check_mode=True)["written_version_id"] is None


def test_put_with_a_lost_answer_makes_one_version(fake):
    """The SDK resends PutSecretValue with the same ClientRequestToken: AWS makes no second version."""
    fake.add_secret(NAME, VALUE)
    fake.lose_answer["put_secret_value"] = 1
    result = reconcile(fake, desired(secret_string=VALUE2))
    assert result["changed"] and fake.write_ops() == ["put_secret_value", "put_secret_value"]
    assert len(fake.secrets[NAME]["versions"]) == 2 and fake.value(NAME) == VALUE2


def test_metadata_only_run_reads_no_value_and_no_policy(fake):
    fake.add_secret(NAME, VALUE, policy='{"Version": "2012-10-17"}')
    result = reconcile(fake, desired(description="d"))
    assert fake.ops() == ["describe_secret", "update_secret", "describe_secret"]
    assert result["changes"] == ["metadata"]


def test_policy_is_read_only_when_managed(fake):
    fake.add_secret(NAME, VALUE, policy='{"Version": "2012-10-17"}')
    rerun_makes_no_write(fake, reconcile, desired(resource_policy={"Version": "2012-10-17"}))
    assert fake.count("get_resource_policy") == 1 and fake.count("get_secret_value") == 0


def test_staged_write_then_rerun_makes_no_write(fake):
    fake.add_secret(NAME, VALUE)
    d = desired(secret_string=VALUE2, version_stages=["AWSPENDING"])
    result = reconcile(fake, d)
    assert result["changes"] == ["value"]
    assert fake.value(NAME) == VALUE and fake.value(NAME, "AWSPENDING") == VALUE2
    rerun_makes_no_write(fake, reconcile, d)
    assert ("get_secret_value", {"SecretId": fake.secrets[NAME]["ARN"], "VersionStage": "AWSPENDING"}) in fake.calls


def test_absent_then_rerun_makes_no_write(fake):
    fake.add_secret(NAME, VALUE)
    d = desired(state="absent", recovery_window=7)
    result = reconcile(fake, d)
    assert fake.write_ops() == ["delete_secret"] and result["changes"] == ["deleted"]
    assert result["secret"]["deleted_date"] is not None
    rerun_makes_no_write(fake, reconcile, d)


def test_force_delete_of_a_scheduled_secret(fake):
    fake.add_secret(NAME, VALUE, deleted=True)
    result = reconcile(fake, desired(state="absent", recovery_window=0))
    assert result["changed"] and NAME not in fake.secrets
    assert result["secret"] == {}
    rerun_makes_no_write(fake, reconcile, desired(state="absent", recovery_window=0))


def test_absent_missing_secret_makes_no_write(fake):
    rerun_makes_no_write(fake, reconcile, desired(state="absent"))


def test_an_aws_error_is_raised(fake):
    fake.add_secret(NAME, VALUE)
    fake.errors["put_secret_value"] = [client_error("AccessDeniedException", "no", "PutSecretValue")]
    with pytest.raises(SecretsManagerError) as err:
        reconcile(fake, desired(secret_string=VALUE2))
    assert error_code(err.value) == "AccessDeniedException"


# -- restore ----------------------------------------------------------------------------------------------
def test_restore_of_a_secret_scheduled_for_deletion(fake):
    arn = fake.add_secret(NAME, VALUE, deleted=True)
    d = desired(secret_string=VALUE)
    result = reconcile(fake, d)
    assert fake.write_ops() == ["restore_secret"]
    assert result["changed"] and result["changes"] == ["restored"]
    assert result["diff"]["before"]["deleted"] is True and result["diff"]["after"]["deleted"] is False
    assert result["secret"]["arn"] == arn and result["secret"]["deleted_date"] is None
    rerun_makes_no_write(fake, reconcile, d)


def test_restore_then_write_the_new_value(fake):
    fake.add_secret(NAME, VALUE, deleted=True)
    result = reconcile(fake, desired(secret_string=VALUE2))
    assert fake.write_ops() == ["restore_secret", "put_secret_value"]
    assert result["changes"] == ["restored", "value"] and fake.value(NAME) == VALUE2


def test_restore_then_keep_the_value_with_overwrite_false(fake):
    fake.add_secret(NAME, VALUE, deleted=True)
    result = reconcile(fake, desired(secret_string=VALUE2, overwrite=False))
    assert fake.write_ops() == ["restore_secret"] and result["changes"] == ["restored"]
    assert fake.value(NAME) == VALUE


# -- the create race ---------------------------------------------------------------------------------------
def another_pipeline_creates(value):
    def hook(fake, kwargs):
        fake.add_secret(kwargs["Name"], value)
    return hook


def test_create_finding_the_name_taken_reconciles_the_existing_secret(fake):
    fake.before["create_secret"] = [another_pipeline_creates(VALUE)]
    result = reconcile(fake, desired(secret_string=VALUE))
    assert fake.write_ops() == ["create_secret"]  # refused: ResourceExistsException
    assert fake.count("describe_secret") == 2
    assert list(fake.secrets) == [NAME] and len(fake.secrets[NAME]["versions"]) == 1
    assert not result["changed"] and result["secret"]["name"] == NAME


def test_create_race_with_another_value_writes_ours_once(fake):
    fake.before["create_secret"] = [another_pipeline_creates(VALUE2)]
    result = reconcile(fake, desired(secret_string=VALUE))
    assert fake.write_ops() == ["create_secret", "put_secret_value"]
    assert result["changes"] == ["value"]
    assert list(fake.secrets) == [NAME] and len(fake.secrets[NAME]["versions"]) == 2
    assert fake.value(NAME) == VALUE


def test_create_race_falls_back_only_once(fake):
    """If even the re-read cannot see the secret (a name taken but never described), give up."""
    fake.add_secret(NAME, VALUE)
    missing = client_error("ResourceNotFoundException", "not found", "DescribeSecret")
    fake.errors["describe_secret"] = [missing, missing]
    with pytest.raises(SecretsManagerError) as err:
        reconcile(fake, desired(secret_string=VALUE))
    assert error_code(err.value) == "ResourceExistsException"
    assert fake.count("create_secret") == 2


def test_other_errors_of_a_create_are_not_retried(fake):
    fake.errors["create_secret"] = [client_error("AccessDeniedException", "no", "CreateSecret")]
    with pytest.raises(SecretsManagerError):
        reconcile(fake, desired(secret_string=VALUE))
    assert fake.count("create_secret") == 1 and fake.count("describe_secret") == 1


# -- check mode ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed, params, changes", [
    (None, {"secret_string": VALUE}, ["created"]),
    (None, {"generate": ["A"], "tags": {"a": "b"}}, ["created"]),
    ({"value": VALUE}, {"secret_string": VALUE2, "description": "d", "tags": {"a": "b"}}, ["value", "metadata", "tags"]),
    ({"value": VALUE}, {"state": "absent"}, ["deleted"]),
    ({"value": VALUE, "deleted": True}, {"secret_string": VALUE}, ["restored", "value"]),
    ({"value": VALUE, "deleted": True}, {"description": "d"}, ["restored", "metadata"]),
    ({"value": VALUE, "deleted": True}, {"state": "absent", "recovery_window": 0}, ["deleted"]),
])
def test_check_mode_makes_no_write(fake, seed, params, changes):
    if seed is not None:
        fake.add_secret(NAME, **seed)
    result = reconcile(fake, desired(**params), check_mode=True)
    assert fake.writes == [], fake.write_ops()
    assert result["changed"] and result["changes"] == changes
    assert VALUE not in repr(result) and VALUE2 not in repr(result), NOT_SHOWN


def test_check_mode_without_change(fake):
    fake.add_secret(NAME, VALUE)
    result = reconcile(fake, desired(secret_string=VALUE), check_mode=True)
    assert not result["changed"] and fake.writes == []


# -- required_keys --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [None, {"value": json.dumps({"A": VALUE})}])
def test_required_keys_missing_fails_before_any_write(fake, seed):
    if seed is not None:
        fake.add_secret(NAME, **seed)
    with pytest.raises(InvalidOption) as err:
        reconcile(fake, desired(json_secret={"A": "a"}, required_keys=["A", "DATABASE_URL"], description="d"))
    assert err.value.option == "required_keys" and "DATABASE_URL" in str(err.value)
    assert fake.writes == []


def test_required_keys_satisfied_by_present_and_generated_keys(fake):
    fake.add_secret(NAME, json.dumps({"A": VALUE}))
    result = reconcile(fake, desired(generate=["B"], required_keys=["A", "B"]))
    assert fake.write_ops() == ["put_secret_value"] and result["changes"] == ["value"]
    assert set(json.loads(fake.value(NAME))) == {"A", "B"}


def test_required_keys_satisfied_with_purge_keys_false(fake):
    fake.add_secret(NAME, json.dumps({"SECRET": VALUE}))
    d = desired(json_secret={"HOST": "db"}, purge_keys=False, required_keys=["HOST", "SECRET"])
    reconcile(fake, d)
    assert json.loads(fake.value(NAME)) == {"HOST": "db", "SECRET": VALUE}
    rerun_makes_no_write(fake, reconcile, d)


def test_required_keys_alone_are_satisfied_by_the_current_value(fake):
    fake.add_secret(NAME, json.dumps({"A": VALUE}))
    result = reconcile(fake, desired(required_keys=["A"]))
    assert not result["changed"] and fake.writes == []
    assert fake.count("get_secret_value") == 1


def test_required_keys_alone_missing_from_the_current_value(fake):
    fake.add_secret(NAME, json.dumps({"A": VALUE}))
    with pytest.raises(InvalidOption) as err:
        reconcile(fake, desired(required_keys=["A", "B"]))
    assert "would lack B" in str(err.value) and fake.writes == []


def test_required_keys_missing_on_a_deleted_secret_fails_before_the_restore(fake):
    fake.add_secret(NAME, VALUE, deleted=True)
    with pytest.raises(InvalidOption):
        reconcile(fake, desired(json_secret={"A": "a"}, required_keys=["B"]))
    assert fake.writes == []


# -- move_version_stage -------------------------------------------------------------------------------------------
@pytest.fixture
def pending(fake):
    """A secret with v1 (AWSCURRENT) and v2 (AWSPENDING)."""
    fake.add_secret(NAME)
    fake.add_version(NAME, VALUE, ["AWSCURRENT"], version_id="v1")
    fake.add_version(NAME, VALUE2, ["AWSPENDING"], version_id="v2")
    return fake


def test_promote_then_rerun_makes_no_write(pending):
    fake = pending
    result = move_version_stage(fake, move(version_id="v2"))
    assert result["changed"] and result["changes"] == ["stage_moved"]
    assert result["version_id"] == "v2" and result["previous_version_id"] == "v1"
    assert fake.stages(NAME) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]}
    assert result["secret"]["version_id"] == "v2"
    again = rerun_makes_no_write(fake, move_version_stage, move(version_id="v2"))
    assert again["version_id"] == "v2"


def test_move_with_a_lost_answer_succeeds_after_a_replan(pending):
    """The move is applied, its answer is lost, the SDK resends it and AWS refuses the resend
    (AWSCURRENT is no longer on v1): the re-read finds the label on v2, which is success."""
    fake = pending
    fake.lose_answer["update_secret_version_stage"] = 1
    result = move_version_stage(fake, move(version_id="v2"))
    assert result["changed"] and result["version_id"] == "v2" and result["previous_version_id"] == "v1"
    assert fake.stages(NAME) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]}
    assert fake.count("update_secret_version_stage") == 2 and fake.count("describe_secret") == 2
    assert result["secret"]["version_id"] == "v2"


def test_move_conflicts_when_another_writer_moved_awscurrent(pending):
    """Between our read and our write someone promoted v3: the refused move is re-planned
    expecting AWSCURRENT on v1, finds it on v3 and reports Conflict; v3 stays current."""
    fake = pending
    fake.add_version(NAME, "third", [], version_id="v3")
    fake.before["update_secret_version_stage"] = [lambda f, kwargs: f.move_label(NAME, "AWSCURRENT", "v3")]
    with pytest.raises(Conflict) as err:
        move_version_stage(fake, move(version_id="v2"))
    assert "v3" in str(err.value) and "v1" in str(err.value)
    assert fake.count("update_secret_version_stage") == 1  # the refused one; no second try
    assert fake.holder(NAME) == "v3"


def test_move_with_an_expected_holder_that_moved_writes_nothing(pending):
    fake = pending
    fake.move_label(NAME, "AWSCURRENT", "v2")
    with pytest.raises(Conflict):
        move_version_stage(fake, move(version_id="v1", stage="AWSCURRENT", remove_from_version_id="v0"))
    assert fake.writes == []


def test_move_with_an_expected_holder_already_done_is_no_change(pending):
    fake = pending
    fake.move_label(NAME, "AWSCURRENT", "v2")
    result = move_version_stage(fake, move(version_id="v2", remove_from_version_id="v1"))
    assert not result["changed"] and fake.writes == []


def test_move_in_check_mode_makes_no_write(pending):
    result = move_version_stage(pending, move(version_id="v2"), check_mode=True)
    assert result["changed"] and pending.writes == []
    assert result["diff"]["after"]["version_ids_to_stages"]["v2"] == ["AWSCURRENT", "AWSPENDING"]


def test_move_gives_up_when_the_label_keeps_moving(pending):
    refused = client_error("InvalidParameterException", "not attached", "UpdateSecretVersionStage")
    pending.errors["update_secret_version_stage"] = [refused, refused, refused]
    with pytest.raises(SecretsManagerError) as err:
        move_version_stage(pending, move(version_id="v2", stage="BLUE"))
    assert "kept moving" in str(err.value)
    assert pending.count("update_secret_version_stage") == 3


def test_move_other_errors_are_not_retried(pending):
    pending.errors["update_secret_version_stage"] = [client_error("AccessDeniedException", "no", "UpdateSecretVersionStage")]
    with pytest.raises(SecretsManagerError) as err:
        move_version_stage(pending, move(version_id="v2"))
    assert error_code(err.value) == "AccessDeniedException"
    assert pending.count("update_secret_version_stage") == 1


def test_move_of_a_missing_secret(fake):
    with pytest.raises(InvalidOption) as err:
        move_version_stage(fake, move(version_id="v2"))
    assert err.value.option == "name"


def test_move_to_a_deprecated_version_lists_all_versions(pending):
    fake = pending
    fake.add_version(NAME, "old", [], version_id="v0")
    result = move_version_stage(fake, move(version_id="v0", stage="TEST"))
    assert result["changed"] and fake.count("list_secret_version_ids") == 1
    assert fake.stages(NAME)["v0"] == ["TEST"]


def test_remove_label_then_rerun(pending):
    result = move_version_stage(pending, move(stage="AWSPENDING", state="absent"))
    assert result["changes"] == ["stage_removed"] and result["version_id"] is None
    assert pending.stages(NAME) == {"v1": ["AWSCURRENT"]}
    rerun_makes_no_write(pending, move_version_stage, move(stage="AWSPENDING", state="absent"))


@pytest.fixture
def rollbackable(fake):
    """v1 (AWSPREVIOUS) and v2 (AWSCURRENT)."""
    fake.add_secret(NAME)
    fake.add_version(NAME, VALUE, ["AWSCURRENT"], version_id="v1")
    fake.add_version(NAME, VALUE2, ["AWSCURRENT"], version_id="v2")
    return fake


def test_rollback_then_rerun_makes_no_write(rollbackable):
    fake = rollbackable
    result = move_version_stage(fake, move(to_previous=True))
    assert result["changes"] == ["rolled_back", "stage_moved"]
    assert [kwargs["VersionStage"] for op, kwargs in fake.writes] == [MARK, "AWSCURRENT"]
    assert fake.stages(NAME) == {"v1": ["AWSCURRENT"], "v2": sorted(["AWSPREVIOUS", MARK])}
    rerun_makes_no_write(fake, move_version_stage, move(to_previous=True))


@pytest.mark.parametrize("lost", [1, 2], ids=["label-step", "move-step"])
def test_rollback_with_a_lost_answer(rollbackable, lost):
    fake = rollbackable
    if lost == 2:  # the first step answers, the second is applied but answered by a refused resend
        fake.before["update_secret_version_stage"] = [lambda f, kw: None, lambda f, kw: f.lose_answer.update(update_secret_version_stage=1)]
    else:
        fake.lose_answer["update_secret_version_stage"] = 1
    result = move_version_stage(fake, move(to_previous=True))
    assert result["changed"] and result["version_id"] == "v1"
    assert fake.stages(NAME) == {"v1": ["AWSCURRENT"], "v2": sorted(["AWSPREVIOUS", MARK])}
    rerun_makes_no_write(fake, move_version_stage, move(to_previous=True))


def test_roll_forward_clears_the_label(rollbackable):
    fake = rollbackable
    move_version_stage(fake, move(to_previous=True))
    result = move_version_stage(fake, move(version_id="v2"))
    assert result["changes"] == ["stage_moved", "rolled_forward"]
    assert fake.stages(NAME) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}


def test_roll_forward_with_a_lost_answer_clears_the_label(rollbackable):
    fake = rollbackable
    move_version_stage(fake, move(to_previous=True))
    fake.lose_answer["update_secret_version_stage"] = 1
    move_version_stage(fake, move(version_id="v2"))
    assert fake.stages(NAME) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}


# -- configure_rotation -----------------------------------------------------------------------------------------
def test_configure_rotation_then_rerun_makes_no_write(fake):
    fake.add_secret(NAME, VALUE)
    d = parse_rotation({"name": NAME, "rotation_lambda_arn": LAMBDA, "rotation_interval_days": 30})
    result = configure_rotation(fake, d)
    assert result["changes"] == ["rotation_configured"] and fake.write_ops() == ["rotate_secret"]
    assert result["secret"]["rotation_enabled"] is True
    rerun_makes_no_write(fake, configure_rotation, d)


def test_configure_rotation_check_mode_and_cancel(fake):
    fake.add_secret(NAME, VALUE)
    d = parse_rotation({"name": NAME, "rotation_lambda_arn": LAMBDA, "rotation_interval_days": 30})
    assert configure_rotation(fake, d, check_mode=True)["changed"] and fake.writes == []
    configure_rotation(fake, d)
    fake.calls.clear()
    cancel = parse_rotation({"name": NAME, "state": "absent"})
    assert configure_rotation(fake, cancel, check_mode=True)["changed"] and fake.writes == []
    assert configure_rotation(fake, cancel)["changes"] == ["rotation_cancelled"]
    rerun_makes_no_write(fake, configure_rotation, cancel)
