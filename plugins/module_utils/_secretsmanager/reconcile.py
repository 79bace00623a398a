# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Read -> plan -> apply for one secret: its value and metadata (``reconcile``), a staging label
(``move_version_stage``), its rotation configuration (``configure_rotation``).

Each returns ``dict(changed, changes, diff, secret, ...)`` and writes nothing in check mode.
Every step is safe to retry after a lost answer: a create that finds the name taken and a
label move that finds the label moved re-read the secret and re-plan, so finding the state the
step wanted is success, and a change someone else made is reported (``Conflict``), never undone.
"""

import os

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import api
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_staged
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import reads_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import error_code
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import plan_absent
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.plan import plan_present
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import secret_result
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import plan_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import plan_version_stage

# Errors of UpdateSecretVersionStage when the label is no longer where the call said.
STAGE_MOVED_CODES = ("InvalidParameterException", "InvalidRequestException")


def outcome(plan, described):
    """The result dict of one planned secret (``secret`` from ``described``)."""
    return {"changed": plan.changed or "restored" in plan.changes, "changes": list(plan.changes),
            "diff": plan.diff(), "secret": secret_result(described), "written_version_id": None, "keys": plan.keys}


def written_version_id(plan):
    """The VersionId of the value a plan writes (its ClientRequestToken), or None."""
    for operation, kwargs in plan.steps:
        if operation in ("create_secret", "put_secret_value"):
            return kwargs.get("ClientRequestToken")
    return None


def read_staged_value(client, described, desired):
    """The value of the version holding the first of ``version_stages`` (None when no version
    holds it), only for staged writes of an existing secret; else None without a call."""
    if described is None or desired["state"] != "present" or not writes_staged(desired) or not writes_value(desired):
        return None
    return api.read_value(client, described["ARN"], desired["version_stages"][0])[0]


def plan_secret(client, desired, described, current_value, kms_equal=None, randbytes=os.urandom):
    """The plan for one existing or missing secret, reading the policy and the staged value
    only when the user manages them."""
    if desired["state"] == "absent":
        return plan_absent(described, desired)
    policy = None
    if described is not None and desired["resource_policy"] is not None:
        policy = api.get_resource_policy(client, described["ARN"])
    return plan_present(described, desired, current_value, policy, kms_equal, randbytes,
                        staged_value=read_staged_value(client, described, desired))


def _restore_for_present(client, desired, described, check_mode):
    """(described, restored): a secret scheduled for deletion is restored (same ARN) before
    planning ``state=present``, so its value can be read; never in check mode."""
    if desired["state"] != "present" or described is None or not described.get("DeletedDate") or check_mode:
        return described, False
    api.restore_secret(client, described["ARN"])
    return api.describe_secret(client, described["ARN"]), True


def _current_value(client, desired, described):
    if described is None or desired["state"] != "present":
        return None
    if described.get("DeletedDate"):
        return UNKNOWN  # check mode: a secret scheduled for deletion cannot be read
    return api.read_value(client, described["ARN"])[0] if reads_value(desired) else None


def reconcile(client, desired, check_mode=False, kms_equal=None, randbytes=os.urandom, _retried=False):
    """Bring one secret to ``desired``; returns dict(changed, changes, diff, secret).

    Reads: DescribeSecret, GetSecretValue (only when a value, ``generate``/``regenerate`` or
    ``required_keys`` is given),
    GetResourcePolicy (only when ``resource_policy`` is given).  Writes only what the plan
    needs; nothing in check mode.  A CreateSecret that finds the name taken (a retry after a
    lost answer, or another pipeline) re-reads and re-plans once."""
    described, restored = _restore_for_present(client, desired, api.describe_secret(client, desired["name"]), check_mode)
    plan = plan_secret(client, desired, described, _current_value(client, desired, described), kms_equal, randbytes)
    if restored:
        plan.mark_restored()
    result = outcome(plan, described)
    if check_mode or not plan.changed:
        return result
    try:
        created_arn = api.apply_steps(client, plan.steps)
    except SecretsManagerError as exc:
        if _retried or plan.steps[0][0] != "create_secret" or error_code(exc) != "ResourceExistsException":
            raise
        return reconcile(client, desired, kms_equal=kms_equal, randbytes=randbytes, _retried=True)
    result["secret"] = secret_result(api.describe_secret(client, created_arn or described["ARN"]))
    result["written_version_id"] = written_version_id(plan)
    return result


def _versions(client, described, version_id):
    """{version_id: [stages]}: DescribeSecret lists labelled versions only; a deprecated version
    (named by ``version_id``) can still take a label, so then every version is listed."""
    versions = dict(described.get("VersionIdsToStages") or {})
    if version_id and version_id not in versions:
        versions = dict(api.list_secret_versions(client, described["ARN"]), **versions)
    return versions


def move_version_stage(client, desired, check_mode=False, attempts=3):
    """secret_version: returns dict(changed, changes, diff, secret, version_id, previous_version_id).

    Compare-and-swap: each move names the version it takes the label from.  When AWS refuses a
    move because the label is no longer there (another change, or our own move applied with its
    answer lost), the secret is read again and re-planned expecting the label where this run
    first found it: already where wanted -> success; elsewhere -> ``Conflict``."""
    first = None
    for attempt in range(attempts):
        described = api.describe_secret(client, desired["name"])
        if described is None:
            raise InvalidOption("name", f"secret {desired['name']} does not exist")
        plan, info = plan_version_stage(described["ARN"], _versions(client, described, desired["version_id"]), desired)
        if first is None:
            first = outcome(plan, described)
            first.update(info)
            desired = dict(desired, remove_from_version_id=desired["remove_from_version_id"] or info["previous_version_id"])
        if check_mode or not plan.changed:
            if attempt:
                first["secret"] = secret_result(described)
            return first
        try:
            for step in plan.steps:
                api.apply_steps(client, [step])
        except SecretsManagerError as exc:
            if error_code(exc) not in STAGE_MOVED_CODES:
                raise
            continue
        first["secret"] = secret_result(api.describe_secret(client, described["ARN"]))
        return first
    raise SecretsManagerError(message=f"Could not move {desired['stage']} of secret {desired['name']}: it kept moving")


def configure_rotation(client, desired, check_mode=False):
    """secret_rotation: returns dict(changed, changes, diff, secret).  RotateSecret and
    CancelRotateSecret only when the plan needs them, never in check mode."""
    described = api.describe_secret(client, desired["name"])
    plan = plan_rotation(described, desired)
    result = outcome(plan, described)
    if plan.changed and not check_mode:
        api.apply_steps(client, plan.steps)
        result["secret"] = secret_result(api.describe_secret(client, described["ARN"]))
    return result
