# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/versions.py``: staging-label moves (with AWS's AWSPREVIOUS
side effect, the rollback label and compare-and-swap), rotation parse and plan (no AWS)."""
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import ROLLED_BACK_LABEL
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import labelled
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_version_move
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import plan_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import plan_version_stage
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import rotation_rules
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import rules_match
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import simulate_stage_move
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import stage_holder

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/jwt-AbCdEf"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rotate-jwt"
MARK = ROLLED_BACK_LABEL


def move(**params):
    params.setdefault("name", "prod/shop/jwt")
    return parse_version_move(params)


def rotation(**params):
    params.setdefault("name", "prod/shop/jwt")
    return parse_rotation(params)


def described(**extra):
    out = {"ARN": ARN, "Name": "prod/shop/jwt", "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}
    out.update(extra)
    return out


def apply(versions, plan):
    """Replay a plan's UpdateSecretVersionStage steps with AWS semantics."""
    for operation, kwargs in plan.steps:
        assert operation == "update_secret_version_stage"
        versions = simulate_stage_move(versions, kwargs["VersionStage"], kwargs.get("MoveToVersionId"), kwargs.get("RemoveFromVersionId"))
    return versions


def normalised(versions):
    return {vid: sorted(stages) for vid, stages in versions.items()}


# -- parse ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, option", [
    ({}, "version_id"),
    ({"version_id": "v2", "to_previous": True}, "to_previous"),
    ({"stage": "AWSPENDING", "to_previous": True}, "to_previous"),
    ({"state": "absent"}, "stage"),
    ({"state": "absent", "stage": "AWSPENDING", "to_previous": True}, "to_previous"),
    ({"stage": "x" * 257, "version_id": "v2"}, "stage"),
    ({"stage": MARK, "version_id": "v2"}, "stage"),
    ({"name": "bad name!", "version_id": "v2"}, "name"),
])
def test_parse_version_move_rejects(params, option):
    with pytest.raises(InvalidOption) as err:
        move(**params)
    assert err.value.option == option


def test_parse_version_move_defaults():
    desired = move(version_id="v2", to_previous=False)
    assert desired == {"name": "prod/shop/jwt", "stage": "AWSCURRENT", "version_id": "v2", "to_previous": False,
                       "state": "present", "remove_from_version_id": None}


def test_parse_version_move_keeps_the_expected_holder():
    assert move(version_id="v2", remove_from_version_id="v1")["remove_from_version_id"] == "v1"
    assert move(version_id="v2", remove_from_version_id="")["remove_from_version_id"] is None


@pytest.mark.parametrize("params, option", [
    ({"rotation_interval_days": 0}, "rotation_interval_days"),
    ({"rotation_interval_days": 1001}, "rotation_interval_days"),
    ({}, "rotation_interval_days"),
    ({"rotation_interval_days": 7, "schedule_expression": "rate(7 days)"}, "schedule_expression"),
    ({"schedule_expression": "every day"}, "schedule_expression"),
    ({"rotation_interval_days": 7, "duration": "25h"}, "duration"),
    ({"rotation_interval_days": 7, "duration": "3 hours"}, "duration"),
    ({"rotation_interval_days": 7, "rotation_lambda_arn": "rotate-jwt"}, "rotation_lambda_arn"),
    ({"state": "absent", "rotation_interval_days": 7, "schedule_expression": "rate(7 days)"}, "schedule_expression"),
])
def test_parse_rotation_rejects(params, option):
    with pytest.raises(InvalidOption) as err:
        rotation(**params)
    assert err.value.option == option


def test_parse_rotation_normalises_schedule_and_allows_absent_without_schedule():
    assert rotation(schedule_expression="cron(0  16 1,15 * ? *)")["schedule"] == "cron(0 16 1,15 * ? *)"
    assert rotation(state="absent")["state"] == "absent"


@pytest.mark.parametrize("arn", [LAMBDA, LAMBDA + ":live", LAMBDA + ":$LATEST",
                                 "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f"])
def test_parse_rotation_lambda_arns(arn):
    assert rotation(rotation_interval_days=7, rotation_lambda_arn=arn)["lambda_arn"] == arn


# -- label arithmetic (AWS semantics) ----------------------------------------------------------------------
def test_moving_awscurrent_puts_awsprevious_on_the_version_it_left():
    after = simulate_stage_move({"v0": ["AWSPREVIOUS"], "v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, "AWSCURRENT", "v2", "v1")
    assert after == {"v0": [], "v1": ["AWSPREVIOUS"], "v2": ["AWSPENDING", "AWSCURRENT"]}


def test_simulate_does_not_modify_its_input():
    versions = {"v1": ["AWSCURRENT"], "v2": []}
    simulate_stage_move(versions, "AWSCURRENT", "v2", "v1")
    assert versions == {"v1": ["AWSCURRENT"], "v2": []}


def test_simulate_removal_only():
    assert simulate_stage_move({"v1": ["AWSCURRENT", "B"]}, "B", remove_from="v1") == {"v1": ["AWSCURRENT"]}


def test_stage_holder_and_labelled():
    versions = {"v0": [], "v1": ["B", "AWSCURRENT"]}
    assert stage_holder(versions, "AWSCURRENT") == "v1" and stage_holder(versions, "X") is None
    assert labelled(versions) == {"v1": ["AWSCURRENT", "B"]}


# -- plan_version_stage ---------------------------------------------------------------------------------------
def test_promote_pending():
    versions = {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
    plan, info = plan_version_stage(ARN, versions, move(version_id="v2"))
    expected = {"SecretId": ARN, "VersionStage": "AWSCURRENT", "MoveToVersionId": "v2", "RemoveFromVersionId": "v1"}
    assert plan.steps == [("update_secret_version_stage", expected)]
    assert info == {"version_id": "v2", "previous_version_id": "v1"}
    assert plan.after == {"version_ids_to_stages": {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]}}
    assert plan.before == {"version_ids_to_stages": {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}}


def test_already_there_is_no_change():
    plan, info = plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(version_id="v1"))
    assert not plan.changed and info == {"version_id": "v1", "previous_version_id": "v1"}


def test_unknown_version_is_refused_by_id():
    with pytest.raises(InvalidOption) as err:
        plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(version_id="nope"))
    assert err.value.option == "version_id" and "nope" in str(err.value) and "prod/shop/jwt" in str(err.value)


def test_deprecated_version_can_take_a_label():
    plan = plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v0": []}, move(version_id="v0", stage="TEST"))[0]
    assert plan.steps == [("update_secret_version_stage", {"SecretId": ARN, "VersionStage": "TEST", "MoveToVersionId": "v0"})]


def test_custom_label_moves_off_its_holder():
    plan = plan_version_stage(ARN, {"v1": ["AWSCURRENT", "AWSPENDING"], "v2": []}, move(version_id="v2", stage="AWSPENDING"))[0]
    assert plan.steps[0][1]["RemoveFromVersionId"] == "v1"
    assert plan.changes == ["stage_moved"]


def test_rollback_puts_the_label_first_then_moves_awscurrent():
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan, info = plan_version_stage(ARN, versions, move(to_previous=True))
    assert plan.steps == [
        ("update_secret_version_stage", {"SecretId": ARN, "VersionStage": MARK, "MoveToVersionId": "v2"}),
        ("update_secret_version_stage", {"SecretId": ARN, "VersionStage": "AWSCURRENT", "MoveToVersionId": "v1",
                                         "RemoveFromVersionId": "v2"}),
    ]
    assert plan.changes == ["rolled_back", "stage_moved"]
    assert info == {"version_id": "v1", "previous_version_id": "v2"}


def test_rollback_replanned_after_the_label_step_finishes_the_move():
    """A lost answer after the first step: the re-plan still sees a rollback to finish."""
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan = plan_version_stage(ARN, versions, move(to_previous=True))[0]
    half = simulate_stage_move(versions, MARK, move_to="v2")
    replan, info = plan_version_stage(ARN, half, move(to_previous=True, remove_from_version_id="v2"))
    assert replan.steps == [plan.steps[1]]
    assert normalised(apply(half, replan)) == normalised(apply(versions, plan))


def test_to_previous_twice_is_one_rollback():
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan, info = plan_version_stage(ARN, versions, move(to_previous=True))
    versions = apply(versions, plan)
    assert normalised(versions) == {"v1": ["AWSCURRENT"], "v2": sorted(["AWSPREVIOUS", MARK])}
    assert plan.after == {"version_ids_to_stages": {"v1": ["AWSCURRENT"], "v2": sorted(["AWSPREVIOUS", MARK])}}
    plan, info = plan_version_stage(ARN, versions, move(to_previous=True))
    assert not plan.changed, "a second to_previous must not flip back"
    assert info == {"version_id": "v1", "previous_version_id": "v1"}


def test_explicit_rollback_to_awsprevious_labels_too_and_roll_forward_clears():
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan = plan_version_stage(ARN, versions, move(version_id="v1"))[0]
    versions = apply(versions, plan)
    assert MARK in versions["v2"]
    plan = plan_version_stage(ARN, versions, move(version_id="v2"))[0]
    assert plan.changes == ["stage_moved", "rolled_forward"]
    versions = apply(versions, plan)
    assert normalised(versions) == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan = plan_version_stage(ARN, versions, move(to_previous=True))[0]
    assert plan.changed, "after a roll forward a rollback is possible again"


def test_second_rollback_moves_the_label():
    versions = {"v1": ["AWSCURRENT"], "v2": [MARK], "v3": ["AWSPREVIOUS"]}
    versions = simulate_stage_move(versions, "AWSCURRENT", "v3", "v1")  # a later promotion of v3
    assert versions["v1"] == ["AWSPREVIOUS"]
    plan = plan_version_stage(ARN, versions, move(to_previous=True))[0]
    assert plan.steps[0][1] == {"SecretId": ARN, "VersionStage": MARK, "MoveToVersionId": "v3", "RemoveFromVersionId": "v2"}
    versions = apply(versions, plan)
    assert versions["v1"] == ["AWSCURRENT"] and MARK in versions["v3"] and MARK not in versions["v2"]


def test_to_previous_without_awsprevious_fails():
    with pytest.raises(InvalidOption) as err:
        plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(to_previous=True))
    assert err.value.option == "to_previous"


def test_promoting_a_non_previous_version_is_not_a_rollback():
    versions = {"v0": ["AWSPREVIOUS"], "v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
    plan = plan_version_stage(ARN, versions, move(version_id="v2"))[0]
    assert plan.changes == ["stage_moved"]


@pytest.mark.parametrize("versions, version_id, steps", [
    ({"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, None, [{"SecretId": ARN, "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v2"}]),
    ({"v1": ["AWSCURRENT", "AWSPENDING"]}, "v1", [{"SecretId": ARN, "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v1"}]),
    ({"v1": ["AWSCURRENT"]}, None, []),
    ({"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, "v1", []),
])
def test_remove_label(versions, version_id, steps):
    plan, info = plan_version_stage(ARN, versions, move(stage="AWSPENDING", state="absent", version_id=version_id))
    assert [kwargs for dummy, kwargs in plan.steps] == steps
    if steps:
        assert info["version_id"] is None
        assert plan.changes == ["stage_removed"]


# -- compare-and-swap (remove_from_version_id) ---------------------------------------------------------------
def test_cas_matching_holder_moves():
    plan, info = plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v2": []}, move(version_id="v2", remove_from_version_id="v1"))
    assert plan.steps[0][1]["RemoveFromVersionId"] == "v1"


@pytest.mark.parametrize("stage", ["AWSCURRENT", "AWSPENDING"])
def test_cas_conflict_when_the_label_moved_elsewhere(stage):
    versions = {"v1": [], "v2": [], "v3": [stage, "AWSCURRENT"] if stage != "AWSCURRENT" else [stage]}
    with pytest.raises(Conflict) as err:
        plan_version_stage(ARN, versions, move(stage=stage, version_id="v2", remove_from_version_id="v1"))
    message = str(err.value)
    assert "v3" in message and "v1" in message and "prod/shop/jwt" in message and stage in message


def test_cas_no_op_when_the_label_is_already_on_the_target():
    """A move retried after a lost answer finds the label where it wanted it: success."""
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan, info = plan_version_stage(ARN, versions, move(version_id="v2", remove_from_version_id="v1"))
    assert not plan.changed
    assert info["version_id"] == "v2"


def test_cas_absent_when_already_removed():
    plan, info = plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v2": []},
                                    move(stage="AWSPENDING", state="absent", remove_from_version_id="v2"))
    assert not plan.changed and info["version_id"] is None


def test_cas_absent_matching_holder_removes():
    plan = plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]},
                              move(stage="AWSPENDING", state="absent", remove_from_version_id="v2"))[0]
    assert plan.steps == [("update_secret_version_stage", {"SecretId": ARN, "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v2"})]


def test_cas_absent_conflict_when_the_label_moved():
    with pytest.raises(Conflict):
        plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v2": [], "v3": ["AWSPENDING"]},
                           move(stage="AWSPENDING", state="absent", remove_from_version_id="v2"))


def test_cas_rollback_done_already_is_no_change():
    versions = {"v1": ["AWSCURRENT"], "v2": ["AWSPREVIOUS", MARK]}
    plan, info = plan_version_stage(ARN, versions, move(to_previous=True, remove_from_version_id="v2"))
    assert not plan.changed


def test_cas_rollback_conflict_when_someone_promoted_meanwhile():
    versions = {"v1": ["AWSPREVIOUS"], "v2": [], "v3": ["AWSCURRENT"]}
    versions = simulate_stage_move(versions, "AWSCURRENT", "v2", "v3")  # AWSPREVIOUS now on v3
    with pytest.raises(Conflict):
        plan_version_stage(ARN, versions, move(to_previous=True, remove_from_version_id="v1"))


# -- rotation ---------------------------------------------------------------------------------------------------
def test_rotation_configure_then_no_change():
    desired = rotation(rotation_lambda_arn=LAMBDA, rotation_interval_days=30)
    plan = plan_rotation(described(), desired)
    assert plan.steps == [("rotate_secret", {"SecretId": ARN, "RotationLambdaARN": LAMBDA,
                                             "RotationRules": {"AutomaticallyAfterDays": 30}, "RotateImmediately": False})]
    assert plan.changes == ["rotation_configured"]
    assert plan.after == {"rotation_enabled": True, "rotation_lambda_arn": LAMBDA, "rotation_rules": {"automatically_after_days": 30}}
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert not plan_rotation(now, desired).changed
    # AWS may report the equivalent rate expression next to the days
    now["RotationRules"]["ScheduleExpression"] = "rate(30 days)"
    assert not plan_rotation(now, desired).changed


@pytest.mark.parametrize("current_rules, params, changed", [
    ({"AutomaticallyAfterDays": 30}, {"rotation_interval_days": 60}, True),
    ({"AutomaticallyAfterDays": 1, "ScheduleExpression": "rate(1 day)"}, {"rotation_interval_days": 1}, False),
    ({"ScheduleExpression": "rate(10 days)", "AutomaticallyAfterDays": 10}, {"schedule_expression": "rate(10  days)"}, False),
    ({"ScheduleExpression": "rate(10 days)"}, {"schedule_expression": "cron(0 16 1,15 * ? *)"}, True),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "3h"}, {"schedule_expression": "cron(0 16 1,15 * ? *)"}, False),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "3h"}, {"schedule_expression": "cron(0 16 1,15 * ? *)", "duration": "4h"}, True),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)"}, {"rotation_interval_days": 30}, True),
    ({"AutomaticallyAfterDays": 0}, {"schedule_expression": "rate(10 days)"}, True),  # what moto answers
])
def test_rotation_rules_compare(current_rules, params, changed):
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules=current_rules)
    assert plan_rotation(now, rotation(rotation_lambda_arn=LAMBDA, **params)).changed is changed


def test_rules_match_without_rules():
    assert not rules_match(None, rotation(rotation_interval_days=30))


def test_rotation_rules():
    assert rotation_rules(rotation(rotation_interval_days=7)) == {"AutomaticallyAfterDays": 7}
    assert rotation_rules(rotation(schedule_expression="rate(10 days)", duration="2h")) == {
        "ScheduleExpression": "rate(10 days)", "Duration": "2h"}


def test_rotation_keeps_existing_lambda_and_changes_lambda():
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert not plan_rotation(now, rotation(rotation_interval_days=30)).changed
    other = LAMBDA + "-v2"
    plan = plan_rotation(now, rotation(rotation_lambda_arn=other, rotation_interval_days=30, rotate_immediately=True))
    assert plan.changes == ["rotation_changed"] and plan.steps[0][1]["RotationLambdaARN"] == other
    assert plan.steps[0][1]["RotateImmediately"] is True
    assert plan.before["rotation_lambda_arn"] == LAMBDA and plan.after["rotation_lambda_arn"] == other


def test_rotation_disabled_same_config_is_a_change():
    now = described(RotationEnabled=False, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert plan_rotation(now, rotation(rotation_interval_days=30)).changes == ["rotation_configured"]


def test_rotation_needs_a_lambda_and_a_secret():
    with pytest.raises(InvalidOption) as err:
        plan_rotation(described(), rotation(rotation_interval_days=30))
    assert err.value.option == "rotation_lambda_arn"
    with pytest.raises(InvalidOption) as err:
        plan_rotation(None, rotation(rotation_interval_days=30))
    assert err.value.option == "name"


def test_rotation_schedule_and_duration_are_sent():
    plan = plan_rotation(described(), rotation(rotation_lambda_arn=LAMBDA, schedule_expression="rate(10 days)", duration="3h"))
    assert plan.steps[0][1]["RotationRules"] == {"ScheduleExpression": "rate(10 days)", "Duration": "3h"}


@pytest.mark.parametrize("enabled, steps", [(True, [("cancel_rotate_secret", {"SecretId": ARN})]), (False, [])])
def test_rotation_absent(enabled, steps):
    plan = plan_rotation(described(RotationEnabled=enabled, RotationLambdaARN=LAMBDA), rotation(state="absent"))
    assert plan.steps == steps
    if steps:
        assert plan.changes == ["rotation_cancelled"] and plan.after["rotation_enabled"] is False
