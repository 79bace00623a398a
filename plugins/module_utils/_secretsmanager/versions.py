# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Staging labels and rotation configuration: parse and plan (pure; no AWS, no botocore).

Used by ``secret_version`` (label moves, rollback), ``secret_rotation`` (Lambda rotation), the
``secret`` module's ``version_stages`` and the rotate/rollback playbooks.

Label moves are compare-and-swap: a move names the version it takes the label from (the one
read, or the one the caller expects), and a label that moved meanwhile raises ``Conflict``
instead of being moved again.  Finding the label already where the move wanted it is success,
so a move retried after a lost answer is a no-op.
"""

import copy
import re

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import ROLLED_BACK_LABEL
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import STAGE_MAX_LENGTH
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import Plan
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import snake_dict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import validate_name

ROTATION_DAYS_RANGE = (1, 1000)
DURATION_PATTERN = re.compile(r"\A([1-9]|1[0-9]|2[0-4])h\Z")
SCHEDULE_PATTERN = re.compile(r"\A(rate|cron)\(.+\)\Z")
LAMBDA_ARN_PATTERN = re.compile(r"\Aarn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?\Z")


# -- parse / validate -----------------------------------------------------------------------
def validate_stage(stage, option):
    if not isinstance(stage, str) or not stage or len(stage) > STAGE_MAX_LENGTH:
        raise InvalidOption(option, f"a staging label is 1-{STAGE_MAX_LENGTH} characters")
    return stage


def parse_version_move(params):
    """secret_version parameters -> desired dict (name, stage, version_id, to_previous, state,
    remove_from_version_id), or ``InvalidOption``."""
    desired = {
        "name": validate_name(params.get("name")),
        "stage": validate_stage("AWSCURRENT" if params.get("stage") is None else params["stage"], "stage"),
        "version_id": params.get("version_id") or None,
        "to_previous": bool(params.get("to_previous")),
        "state": params.get("state") or "present",
        "remove_from_version_id": params.get("remove_from_version_id") or None,
    }
    if desired["stage"] == ROLLED_BACK_LABEL:
        raise InvalidOption("stage", f"{ROLLED_BACK_LABEL} is managed by the module itself")
    if desired["version_id"] and desired["to_previous"]:
        raise InvalidOption("to_previous", "give either version_id or to_previous, not both")
    if desired["state"] == "present":
        if not desired["version_id"] and not desired["to_previous"]:
            raise InvalidOption("version_id", "give the version to move the label to, or to_previous: true")
        if desired["to_previous"] and desired["stage"] != "AWSCURRENT":
            raise InvalidOption("to_previous", "only moves AWSCURRENT (back onto the AWSPREVIOUS version)")
    else:
        if desired["to_previous"]:
            raise InvalidOption("to_previous", "only applies to state=present")
        if desired["stage"] == "AWSCURRENT":
            raise InvalidOption("stage", "AWSCURRENT cannot be removed, only moved to another version (version_id)")
    return desired


def parse_rotation(params):
    """secret_rotation parameters -> desired dict (name, state, lambda_arn, interval,
    schedule, duration, rotate_immediately), or ``InvalidOption``."""
    desired = {
        "name": validate_name(params.get("name")),
        "state": params.get("state") or "present",
        "lambda_arn": params.get("rotation_lambda_arn") or None,
        "interval": params.get("rotation_interval_days"),
        "schedule": params.get("schedule_expression") or None,
        "duration": params.get("duration") or None,
        "rotate_immediately": bool(params.get("rotate_immediately")),
    }
    if desired["interval"] is not None and desired["schedule"]:
        raise InvalidOption("schedule_expression", "give either rotation_interval_days or schedule_expression, not both")
    if desired["state"] == "absent":
        return desired
    if desired["interval"] is None and not desired["schedule"]:
        raise InvalidOption("rotation_interval_days", "state=present needs rotation_interval_days or schedule_expression")
    if desired["interval"] is not None and not ROTATION_DAYS_RANGE[0] <= desired["interval"] <= ROTATION_DAYS_RANGE[1]:
        raise InvalidOption("rotation_interval_days", f"{desired['interval']} is out of range (1-1000)")
    if desired["schedule"]:
        desired["schedule"] = " ".join(desired["schedule"].split())
        if not SCHEDULE_PATTERN.match(desired["schedule"]):
            raise InvalidOption("schedule_expression", f"{desired['schedule']!r} is not a rate(...) or cron(...) expression")
    if desired["duration"] and not DURATION_PATTERN.match(desired["duration"]):
        raise InvalidOption("duration", f"{desired['duration']!r}: use hours, 1h to 24h (e.g. 3h)")
    if desired["lambda_arn"] and not LAMBDA_ARN_PATTERN.match(desired["lambda_arn"]):
        raise InvalidOption("rotation_lambda_arn", f"{desired['lambda_arn']!r} is not a Lambda function ARN")
    return desired


# -- label arithmetic -----------------------------------------------------------------------
def stage_holder(versions, stage):
    """The version id carrying ``stage`` in {version_id: [stages]}, or None."""
    for version_id, stages in versions.items():
        if stage in (stages or []):
            return version_id
    return None


def simulate_stage_move(versions, stage, move_to=None, remove_from=None):
    """{version_id: [stages]} after UpdateSecretVersionStage, with AWS's own side effect: moving
    AWSCURRENT away from a version puts AWSPREVIOUS on that version."""
    after = {vid: list(stages or []) for vid, stages in versions.items()}
    if remove_from is not None and stage in after.get(remove_from, []):
        after[remove_from].remove(stage)
    if move_to is not None:
        for stages in after.values():
            if stage in stages:
                stages.remove(stage)
        after.setdefault(move_to, []).append(stage)
        if stage == "AWSCURRENT" and remove_from is not None:
            for stages in after.values():
                if "AWSPREVIOUS" in stages:
                    stages.remove("AWSPREVIOUS")
            after[remove_from].append("AWSPREVIOUS")
    return after


def labelled(versions):
    """Only the versions that carry a label, labels sorted (the diff's view)."""
    return {vid: sorted(stages) for vid, stages in versions.items() if stages}


# -- plan: label moves ------------------------------------------------------------------------
def _check_expected_holder(desired, holder, target):
    """Compare-and-swap: the caller said which version holds the label (the one its run read).
    Returns True when the move is already done (retried after a lost answer)."""
    expected = desired.get("remove_from_version_id")
    if expected is None or holder == expected:
        return False
    if holder == target:  # present: the label is already on the target; absent: already removed (None)
        return True
    raise Conflict(
        f"{desired['stage']} of secret {desired['name']} is on version {holder or '(none)'}, not on {expected} "
        f"as this run expected: another change moved it. Nothing was changed; check who moved it "
        f"(CloudTrail UpdateSecretVersionStage / PutSecretValue) before trying again."
    )


def _plan_removal(plan, info, secret_id, versions, desired, holder):
    target = desired["version_id"] or holder
    if target is None or desired["stage"] not in versions.get(target, []):
        return plan, info  # already removed (also after a lost answer)
    plan.add("stage_removed", "update_secret_version_stage", SecretId=secret_id, VersionStage=desired["stage"], RemoveFromVersionId=target)
    after = simulate_stage_move(versions, desired["stage"], remove_from=target)
    plan.after = {"version_ids_to_stages": labelled(after)}
    info["version_id"] = stage_holder(after, desired["stage"])
    return plan, info


def _move_target(versions, desired, previous, marked):
    """The version the label goes to, or None when a rollback was already done."""
    if desired["to_previous"]:
        if previous is None:
            raise InvalidOption("to_previous", f"secret {desired['name']} has no AWSPREVIOUS version to roll back to")
        return None if previous == marked else previous  # AWSPREVIOUS is the version rolled back from
    if desired["version_id"] not in versions:
        raise InvalidOption("version_id", f"version {desired['version_id']} does not exist in secret {desired['name']}")
    return desired["version_id"]


def _plan_move(plan, secret_id, versions, stage, holder, target):
    kwargs = {"SecretId": secret_id, "VersionStage": stage, "MoveToVersionId": target}
    if holder is not None:
        kwargs["RemoveFromVersionId"] = holder
    plan.add("stage_moved", "update_secret_version_stage", **kwargs)
    return simulate_stage_move(versions, stage, move_to=target, remove_from=holder)


def _plan_awscurrent_move(plan, secret_id, versions, holder, target, previous, marked):
    """AWSCURRENT moves, in the order that survives a retry after a lost answer.  Rollback (onto
    AWSPREVIOUS): first ROLLED_BACK_LABEL onto the version left, then the move -- so a re-plan
    after the label step still sees a rollback to finish.  Roll forward (onto the labelled
    version): the move, then the label's removal."""
    if target == previous and holder is not None and target != marked:
        if marked != holder:
            kwargs = {"SecretId": secret_id, "VersionStage": ROLLED_BACK_LABEL, "MoveToVersionId": holder}
            if marked is not None:
                kwargs["RemoveFromVersionId"] = marked
            plan.add("rolled_back", "update_secret_version_stage", **kwargs)
            versions = simulate_stage_move(versions, ROLLED_BACK_LABEL, move_to=holder, remove_from=marked)
        return _plan_move(plan, secret_id, versions, "AWSCURRENT", holder, target)
    after = _plan_move(plan, secret_id, versions, "AWSCURRENT", holder, target)
    if target == marked:
        plan.add("rolled_forward", "update_secret_version_stage", SecretId=secret_id, VersionStage=ROLLED_BACK_LABEL, RemoveFromVersionId=target)
        after = simulate_stage_move(after, ROLLED_BACK_LABEL, remove_from=target)
    return after


def plan_version_stage(secret_id, versions, desired):
    """Plan for secret_version.  ``versions``: {version_id: [stages]} of the secret (deprecated
    versions may be included with ``[]``).  Returns (plan, info) with info = {version_id: the
    version holding the stage afterwards, previous_version_id: the one holding it before}.

    Raises ``Conflict`` when ``remove_from_version_id`` is given and the label is elsewhere
    (unless it is already on the target: a retried move)."""
    plan = Plan()
    stage = desired["stage"]
    holder = stage_holder(versions, stage)
    info = {"version_id": holder, "previous_version_id": holder}
    plan.before = {"version_ids_to_stages": labelled(versions)}
    plan.after = copy.deepcopy(plan.before)
    if desired["state"] == "absent":
        if _check_expected_holder(desired, holder, None):
            return plan, info
        return _plan_removal(plan, info, secret_id, versions, desired, holder)

    previous = stage_holder(versions, "AWSPREVIOUS")
    marked = stage_holder(versions, ROLLED_BACK_LABEL)
    target = _move_target(versions, desired, previous, marked)
    if stage == "AWSCURRENT" and target is not None and target == holder == marked:
        # A roll forward whose move was applied (answer lost) before the label was removed.
        plan.add("rolled_forward", "update_secret_version_stage", SecretId=secret_id, VersionStage=ROLLED_BACK_LABEL, RemoveFromVersionId=target)
        plan.after = {"version_ids_to_stages": labelled(simulate_stage_move(versions, ROLLED_BACK_LABEL, remove_from=target))}
        return plan, info
    if target is None or target == holder or _check_expected_holder(desired, holder, target):
        return plan, info
    if stage == "AWSCURRENT":
        after = _plan_awscurrent_move(plan, secret_id, versions, holder, target, previous, marked)
    else:
        after = _plan_move(plan, secret_id, versions, stage, holder, target)
    plan.after = {"version_ids_to_stages": labelled(after)}
    info["version_id"] = target
    return plan, info


# -- plan: rotation configuration ---------------------------------------------------------------
def rotation_rules(desired):
    """RotationRules for RotateSecret."""
    rules = {"ScheduleExpression": desired["schedule"]} if desired["schedule"] else {"AutomaticallyAfterDays": desired["interval"]}
    if desired["duration"]:
        rules["Duration"] = desired["duration"]
    return rules


def rules_match(current_rules, desired):
    """Do DescribeSecret's RotationRules (as AWS returns them) already say what is desired?
    A schedule expression is compared as text (whitespace-normalised); days by number, where
    AWS may also report the equivalent ``rate(N days)``; Duration only when it is given."""
    current_rules = current_rules or {}
    stored = " ".join((current_rules.get("ScheduleExpression") or "").split()) or None
    if desired["schedule"]:
        if stored != desired["schedule"]:
            return False
    else:
        days = desired["interval"]
        if current_rules.get("AutomaticallyAfterDays") != days:
            return False
        if stored not in (None, f"rate({days} days)", f"rate({days} day)"):
            return False
    return not desired["duration"] or current_rules.get("Duration") == desired["duration"]


def rotation_view(described):
    return {
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "rotation_lambda_arn": described.get("RotationLambdaARN"),
        "rotation_rules": snake_dict(described.get("RotationRules") or {}),
    }


def plan_rotation(described, desired):
    """Plan for secret_rotation: RotateSecret when the configuration differs (or rotation is
    off), CancelRotateSecret for state=absent when rotation is on.  Never rotates otherwise."""
    plan = Plan()
    if described is None:
        raise InvalidOption("name", f"secret {desired['name']} does not exist")
    secret_id = described["ARN"]
    plan.before = rotation_view(described)
    plan.after = copy.deepcopy(plan.before)
    enabled = bool(described.get("RotationEnabled"))
    if desired["state"] == "absent":
        if enabled:
            plan.add("rotation_cancelled", "cancel_rotate_secret", SecretId=secret_id)
            plan.after["rotation_enabled"] = False
        return plan
    lambda_arn = desired["lambda_arn"] or described.get("RotationLambdaARN")
    if not lambda_arn:
        raise InvalidOption("rotation_lambda_arn", f"secret {desired['name']} has no rotation function yet; give its ARN")
    if enabled and lambda_arn == described.get("RotationLambdaARN") and rules_match(described.get("RotationRules"), desired):
        return plan
    rules = rotation_rules(desired)
    plan.add("rotation_changed" if enabled else "rotation_configured", "rotate_secret", SecretId=secret_id,
             RotationLambdaARN=lambda_arn, RotationRules=rules, RotateImmediately=desired["rotate_immediately"])
    plan.after = {"rotation_enabled": True, "rotation_lambda_arn": lambda_arn, "rotation_rules": snake_dict(rules)}
    return plan
