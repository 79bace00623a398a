# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure functions of the "versions and rotation" section of the domain layer:
staging-label moves (with AWS's AWSPREVIOUS side effect and the rollback label), rotation
configuration compare, and the secret module's version_stages (no AWS, no Ansible run)."""
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils import _secretsmanager as sm

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/jwt-AbCdEf"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rotate-jwt"
MARK = sm.ROLLED_BACK_LABEL
VALUE = "test-value-1"


def move(**params):
    params.setdefault("name", "prod/shop/jwt")
    return sm.parse_version_move(params)


def rotation(**params):
    params.setdefault("name", "prod/shop/jwt")
    return sm.parse_rotation(params)


def described(**extra):
    out = {"ARN": ARN, "Name": "prod/shop/jwt", "VersionIdsToStages": {"v1": ["AWSCURRENT"]}}
    out.update(extra)
    return out


def apply(versions, plan):
    """Replay a plan's UpdateSecretVersionStage steps with AWS semantics."""
    for operation, kwargs in plan.steps:
        assert operation == "update_secret_version_stage"
        versions = sm.simulate_stage_move(versions, kwargs["VersionStage"], kwargs.get("MoveToVersionId"), kwargs.get("RemoveFromVersionId"))
    return versions


# -- parse ------------------------------------------------------------------------------------
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
    with pytest.raises(sm.InvalidOption) as err:
        move(**params)
    assert err.value.option == option


def test_parse_version_move_defaults():
    desired = move(version_id="v2", to_previous=False)
    assert desired["stage"] == "AWSCURRENT" and desired["state"] == "present" and not desired["to_previous"]


@pytest.mark.parametrize("params, option", [
    ({"rotation_interval_days": 0}, "rotation_interval_days"),
    ({"rotation_interval_days": 1001}, "rotation_interval_days"),
    ({}, "rotation_interval_days"),
    ({"rotation_interval_days": 7, "schedule_expression": "rate(7 days)"}, "schedule_expression"),
    ({"schedule_expression": "every day"}, "schedule_expression"),
    ({"rotation_interval_days": 7, "duration": "25h"}, "duration"),
    ({"rotation_interval_days": 7, "duration": "3 hours"}, "duration"),
    ({"rotation_interval_days": 7, "rotation_lambda_arn": "rotate-jwt"}, "rotation_lambda_arn"),
])
def test_parse_rotation_rejects(params, option):
    with pytest.raises(sm.InvalidOption) as err:
        rotation(**params)
    assert err.value.option == option


def test_parse_rotation_normalises_schedule_and_allows_absent_without_schedule():
    assert rotation(schedule_expression="cron(0  16 1,15 * ? *)")["schedule"] == "cron(0 16 1,15 * ? *)"
    assert rotation(state="absent")["state"] == "absent"


@pytest.mark.parametrize("params, option", [
    ({"version_stages": [], "secret_string": VALUE}, "version_stages"),
    ({"version_stages": ["AWSPENDING", "AWSPENDING"], "secret_string": VALUE}, "version_stages"),
    ({"version_stages": [MARK], "secret_string": VALUE}, "version_stages"),
    ({"version_stages": ["AWSPENDING"]}, "version_stages"),
    ({"version_stages": [str(i) for i in range(21)], "secret_string": VALUE}, "version_stages"),
])
def test_version_stages_rejected(params, option):
    with pytest.raises(sm.InvalidOption) as err:
        sm.build_desired(dict(params, name="prod/shop/jwt"))
    assert err.value.option == option
    assert VALUE not in str(err.value)


# -- simulate (AWS semantics) -----------------------------------------------------------------
def test_moving_awscurrent_puts_awsprevious_on_the_version_it_left():
    after = sm.simulate_stage_move({"v0": ["AWSPREVIOUS"], "v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, "AWSCURRENT", "v2", "v1")
    assert after == {"v0": [], "v1": ["AWSPREVIOUS"], "v2": ["AWSPENDING", "AWSCURRENT"]}


# -- plan_version_stage -------------------------------------------------------------------------
def test_promote_pending():
    versions = {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
    plan, info = sm.plan_version_stage(ARN, versions, move(version_id="v2"))
    expected = {"SecretId": ARN, "VersionStage": "AWSCURRENT", "MoveToVersionId": "v2", "RemoveFromVersionId": "v1"}
    assert plan.steps == [("update_secret_version_stage", expected)]
    assert info == {"version_id": "v2", "previous_version_id": "v1"}
    assert plan.after == {"version_ids_to_stages": {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT", "AWSPENDING"]}}
    assert plan.before == {"version_ids_to_stages": {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}}


def test_already_there_is_no_change():
    plan, info = sm.plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(version_id="v1"))
    assert not plan.changed and info == {"version_id": "v1", "previous_version_id": "v1"}


def test_unknown_version_is_refused_by_id():
    with pytest.raises(sm.InvalidOption) as err:
        sm.plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(version_id="nope"))
    assert err.value.option == "version_id" and "nope" in str(err.value) and "prod/shop/jwt" in str(err.value)


def test_deprecated_version_can_take_a_label():
    plan = sm.plan_version_stage(ARN, {"v1": ["AWSCURRENT"], "v0": []}, move(version_id="v0", stage="TEST"))[0]
    assert plan.steps == [("update_secret_version_stage", {"SecretId": ARN, "VersionStage": "TEST", "MoveToVersionId": "v0"})]


def test_custom_label_moves_off_its_holder():
    plan = sm.plan_version_stage(ARN, {"v1": ["AWSCURRENT", "AWSPENDING"], "v2": []}, move(version_id="v2", stage="AWSPENDING"))[0]
    assert plan.steps[0][1]["RemoveFromVersionId"] == "v1"


def test_to_previous_twice_is_one_rollback():
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan, info = sm.plan_version_stage(ARN, versions, move(to_previous=True))
    assert plan.changes == ["stage_moved", "rolled_back"]
    assert info == {"version_id": "v1", "previous_version_id": "v2"}
    versions = apply(versions, plan)
    assert versions == {"v1": ["AWSCURRENT"], "v2": ["AWSPREVIOUS", MARK]}
    assert plan.after == {"version_ids_to_stages": {"v1": ["AWSCURRENT"], "v2": sorted(["AWSPREVIOUS", MARK])}}
    plan, info = sm.plan_version_stage(ARN, versions, move(to_previous=True))
    assert not plan.changed, "a second to_previous must not flip back"
    assert info == {"version_id": "v1", "previous_version_id": "v1"}


def test_explicit_rollback_to_awsprevious_labels_too_and_roll_forward_clears():
    versions = {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan = sm.plan_version_stage(ARN, versions, move(version_id="v1"))[0]
    versions = apply(versions, plan)
    assert MARK in versions["v2"]
    plan = sm.plan_version_stage(ARN, versions, move(version_id="v2"))[0]
    assert plan.changes == ["stage_moved", "rolled_forward"]
    versions = apply(versions, plan)
    assert versions == {"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"]}
    plan = sm.plan_version_stage(ARN, versions, move(to_previous=True))[0]
    assert plan.changed, "after a roll forward a rollback is possible again"


def test_second_rollback_moves_the_label():
    versions = {"v1": ["AWSCURRENT"], "v2": [MARK], "v3": ["AWSPREVIOUS"]}
    versions = sm.simulate_stage_move(versions, "AWSCURRENT", "v3", "v1")  # a later promotion of v3
    assert versions["v1"] == ["AWSPREVIOUS"]
    plan = sm.plan_version_stage(ARN, versions, move(to_previous=True))[0]
    versions = apply(versions, plan)
    assert versions["v1"] == ["AWSCURRENT"] and MARK in versions["v3"] and MARK not in versions["v2"]
    assert plan.steps[-1][1]["RemoveFromVersionId"] == "v2"


def test_to_previous_without_awsprevious_fails():
    with pytest.raises(sm.InvalidOption) as err:
        sm.plan_version_stage(ARN, {"v1": ["AWSCURRENT"]}, move(to_previous=True))
    assert err.value.option == "to_previous"


def test_promoting_a_non_previous_version_is_not_a_rollback():
    versions = {"v0": ["AWSPREVIOUS"], "v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}
    plan = sm.plan_version_stage(ARN, versions, move(version_id="v2"))[0]
    assert plan.changes == ["stage_moved"]


@pytest.mark.parametrize("versions, version_id, steps", [
    ({"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, None, [{"SecretId": ARN, "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v2"}]),
    ({"v1": ["AWSCURRENT", "AWSPENDING"]}, "v1", [{"SecretId": ARN, "VersionStage": "AWSPENDING", "RemoveFromVersionId": "v1"}]),
    ({"v1": ["AWSCURRENT"]}, None, []),
    ({"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}, "v1", []),
])
def test_remove_label(versions, version_id, steps):
    plan, info = sm.plan_version_stage(ARN, versions, move(stage="AWSPENDING", state="absent", version_id=version_id))
    assert [kwargs for dummy, kwargs in plan.steps] == steps
    if steps:
        assert info["version_id"] is None


# -- rotation -------------------------------------------------------------------------------
def test_rotation_configure_then_no_change():
    desired = rotation(rotation_lambda_arn=LAMBDA, rotation_interval_days=30)
    plan = sm.plan_rotation(described(), desired)
    assert plan.steps == [("rotate_secret", {"SecretId": ARN, "RotationLambdaARN": LAMBDA,
                                             "RotationRules": {"AutomaticallyAfterDays": 30}, "RotateImmediately": False})]
    assert plan.changes == ["rotation_configured"]
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert not sm.plan_rotation(now, desired).changed
    # AWS may report the equivalent rate expression next to the days
    now["RotationRules"]["ScheduleExpression"] = "rate(30 days)"
    assert not sm.plan_rotation(now, desired).changed


@pytest.mark.parametrize("current_rules, params, changed", [
    ({"AutomaticallyAfterDays": 30}, {"rotation_interval_days": 60}, True),
    ({"ScheduleExpression": "rate(10 days)", "AutomaticallyAfterDays": 10}, {"schedule_expression": "rate(10  days)"}, False),
    ({"ScheduleExpression": "rate(10 days)"}, {"schedule_expression": "cron(0 16 1,15 * ? *)"}, True),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "3h"}, {"schedule_expression": "cron(0 16 1,15 * ? *)"}, False),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "3h"}, {"schedule_expression": "cron(0 16 1,15 * ? *)", "duration": "4h"}, True),
    ({"ScheduleExpression": "cron(0 16 1,15 * ? *)"}, {"rotation_interval_days": 30}, True),
    ({"AutomaticallyAfterDays": 0}, {"schedule_expression": "rate(10 days)"}, True),  # what moto answers
])
def test_rotation_rules_compare(current_rules, params, changed):
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules=current_rules)
    assert sm.plan_rotation(now, rotation(rotation_lambda_arn=LAMBDA, **params)).changed is changed


def test_rotation_keeps_existing_lambda_and_changes_lambda():
    now = described(RotationEnabled=True, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert not sm.plan_rotation(now, rotation(rotation_interval_days=30)).changed
    other = LAMBDA + "-v2"
    plan = sm.plan_rotation(now, rotation(rotation_lambda_arn=other, rotation_interval_days=30, rotate_immediately=True))
    assert plan.changes == ["rotation_changed"] and plan.steps[0][1]["RotationLambdaARN"] == other
    assert plan.steps[0][1]["RotateImmediately"] is True
    assert plan.before["rotation_lambda_arn"] == LAMBDA and plan.after["rotation_lambda_arn"] == other


def test_rotation_disabled_same_config_is_a_change():
    now = described(RotationEnabled=False, RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    assert sm.plan_rotation(now, rotation(rotation_interval_days=30)).changes == ["rotation_configured"]


def test_rotation_needs_a_lambda_and_a_secret():
    with pytest.raises(sm.InvalidOption) as err:
        sm.plan_rotation(described(), rotation(rotation_interval_days=30))
    assert err.value.option == "rotation_lambda_arn"
    with pytest.raises(sm.InvalidOption) as err:
        sm.plan_rotation(None, rotation(rotation_interval_days=30))
    assert err.value.option == "name"


def test_rotation_schedule_and_duration_are_sent():
    plan = sm.plan_rotation(described(), rotation(rotation_lambda_arn=LAMBDA, schedule_expression="rate(10 days)", duration="3h"))
    assert plan.steps[0][1]["RotationRules"] == {"ScheduleExpression": "rate(10 days)", "Duration": "3h"}


@pytest.mark.parametrize("enabled, steps", [(True, [("cancel_rotate_secret", {"SecretId": ARN})]), (False, [])])
def test_rotation_absent(enabled, steps):
    plan = sm.plan_rotation(described(RotationEnabled=enabled, RotationLambdaARN=LAMBDA), rotation(state="absent"))
    assert plan.steps == steps


# -- secret: version_stages ------------------------------------------------------------------
def staged(**params):
    params.setdefault("name", "prod/shop/jwt")
    params.setdefault("version_stages", ["AWSPENDING"])
    return sm.build_desired(params)


def test_staged_write_compares_with_the_staged_version():
    desired = staged(secret_string=VALUE)
    # AWSCURRENT already holds the value, but no version holds AWSPENDING: a write
    plan = sm.plan_present(described(), desired, current_value=VALUE, staged_value=None)
    assert [op for op, dummy in plan.steps] == ["put_secret_value"]
    assert plan.steps[0][1]["VersionStages"] == ["AWSPENDING"]
    # the pending version holds it: no change
    assert not sm.plan_present(described(), desired, current_value="other", staged_value=VALUE).changed


def test_staged_regenerate_builds_on_awscurrent():
    desired = staged(regenerate=["JWT_SECRET"])
    plan = sm.plan_present(described(), desired, current_value='{"JWT_SECRET": "a", "ISSUER": "b"}', staged_value=None,
                           randbytes=lambda n: b"\x02" * n)
    written = plan.steps[0][1]["SecretString"]
    assert '"ISSUER":"b"' in written and '"JWT_SECRET":"a"' not in written
    assert plan.diff()["after"]["value"] == {"JWT_SECRET": sm.MASK, "ISSUER": sm.MASK}


def test_unstaged_write_ignores_staged_value():
    desired = sm.build_desired({"name": "prod/shop/jwt", "secret_string": VALUE, "version_stages": ["AWSCURRENT", "BLUE"]})
    assert not sm.plan_present(described(), desired, current_value=VALUE, staged_value="other").changed
    plan = sm.plan_present(described(), desired, current_value="other")
    assert plan.steps[0][1]["VersionStages"] == ["AWSCURRENT", "BLUE"]


def test_staged_token_differs_after_a_rollback():
    desired = staged(secret_string=VALUE)
    first = sm.plan_present(described(), desired, current_value="x").steps[0][1]["ClientRequestToken"]
    again = sm.plan_present(described(), desired, current_value="x").steps[0][1]["ClientRequestToken"]
    assert first == again, "a retried identical write must reuse the token"
    after_rollback = described(VersionIdsToStages={"v1": ["AWSCURRENT"], first: [MARK]})
    assert sm.plan_present(after_rollback, desired, current_value="x").steps[0][1]["ClientRequestToken"] != first
    plain = sm.build_desired({"name": "prod/shop/jwt", "secret_string": VALUE})
    assert sm.plan_present(described(), plain, current_value="x").steps[0][1]["ClientRequestToken"] != first
