# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""One secret: (current state, desired state) -> ``Plan`` (pure; no AWS, no botocore).

A ``Plan`` is the ordered list of API steps ``(operation, kwargs)`` that brings the secret to
the desired state, the names of what changes, and a diff in which every value is masked.
``plan_present`` reads, in order: the value (``target_value``), metadata (description, KMS key),
tags, resource policy, replicas; ``plan_absent`` deletes (replicas first).  Unit tests call
these with dicts; ``reconcile.py`` feeds them what it read from AWS.
"""

import copy
import json
import os

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_staged
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import writes_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import current_version_id
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import generate_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import is_arn
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import json_equal
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import mask_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import masked_value_diff
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import request_token


class Plan:
    """Ordered API steps (``(operation, kwargs)``), the names of what changes, and a masked diff.

    ``steps`` may hold secret values in their kwargs: never return or log them.
    ``changes``, ``before`` and ``after`` never hold values."""

    def __init__(self):
        self.steps = []
        self.changes = []
        self.before = {}
        self.after = {}
        self.keys = {}  # key_report(): JSON key names by what happens to them

    @property
    def changed(self):
        return bool(self.steps)

    def add(self, change, operation, **kwargs):
        if change not in self.changes:
            self.changes.append(change)
        self.steps.append((operation, kwargs))

    def mark_restored(self):
        """The secret was restored before planning (a write already made)."""
        self.changes.insert(0, "restored")
        self.before["deleted"], self.after["deleted"] = True, False

    def diff(self):
        return {"before": self.before, "after": self.after}


# -- the value --------------------------------------------------------------------------------
def _base_data(desired, current, exists):
    """What the value starts from: a SecretValue to write as it is, None (leave the value
    alone), or a dict of JSON data that generate/regenerate then fill."""
    value = desired["value"]
    has_value = exists and current is not None
    current_json = current.json if has_value and current is not UNKNOWN else None
    if has_value and not desired["overwrite"]:
        if desired["regenerate"] and current_json is None:
            raise InvalidOption("regenerate", "the secret's current value is not a readable JSON object")
        if current_json is None:
            return None  # overwrite=false on a plain-text (or unreadable) value: untouched
        data = copy.deepcopy(current_json)
        if not desired["purge_keys"] and value is not None and value.json is not None:
            data.update({key: item for key, item in value.json.items() if key not in data})
        return data
    if value is not None and value.json is None:
        return value
    if value is not None:
        data = copy.deepcopy(value.json)
        if not desired["purge_keys"] and current_json is not None:
            data.update({key: item for key, item in current_json.items() if key not in data})
        return data
    if has_value and current is not UNKNOWN and current_json is None:
        raise InvalidOption("generate", "the secret's current value is not a JSON object, so keys cannot be added to it")
    return copy.deepcopy(current_json) if current_json is not None else {}


def target_value(desired, current, exists, randbytes=os.urandom):
    """The SecretValue the secret should end up with, or None when the value must not be written.

    ``current``: SecretValue of AWSCURRENT, None when there is no AWSCURRENT version, UNKNOWN
    when it could not be read.  ``generate`` keys get a new random value only when absent from
    both the desired and the current value (never regenerated); ``regenerate`` keys always get
    one (rotation).  ``purge_keys: false`` keeps current keys the desired value does not name;
    with ``overwrite: false`` as well, only missing keys are added."""
    if not writes_value(desired):
        return None
    data = _base_data(desired, current, exists)
    if data is None or isinstance(data, SecretValue):
        return data
    current_json = current.json if exists and current not in (None, UNKNOWN) else None
    for key in desired["regenerate"]:
        data[key] = generate_value(desired["generate_bytes"], randbytes)
    for key in desired["generate"]:
        if key not in data:
            in_current = current_json is not None and key in current_json
            data[key] = current_json[key] if in_current else generate_value(desired["generate_bytes"], randbytes)
    if desired["value"] is not None and json_equal(data, desired["value"].json):
        return desired["value"]  # nothing added: keep the user's own formatting
    if current_json is not None and json_equal(data, current_json):
        return current
    return SecretValue.from_json(data).check_size(desired["value_option"] or "generate")


def check_required_keys(desired, target, current):
    """``required_keys`` must all be in the value the secret holds after the run; else
    InvalidOption naming the missing keys (before any write)."""
    if not desired["required_keys"]:
        return
    after = target if target is not None else current
    if after is UNKNOWN:
        return  # scheduled for deletion (check mode): readable only once restored
    data = after.json if after is not None else None
    missing = [key for key in desired["required_keys"] if data is None or key not in data]
    if missing:
        raise InvalidOption("required_keys", f"secret {desired['name']} would lack {', '.join(missing)} after this run; "
                            "give them in json_secret, list them in generate, or import them from a .env file "
                            "(playbook secretsops.aws.import_dotenv)")


def key_report(desired, current, target):
    """What happens to each JSON key, by name only (never a value): ``added`` (new in the
    secret), ``unchanged`` (given with the value it has), ``differs_kept`` (given with another
    value, kept because of ``overwrite: false``), ``overwritten`` (given with another value and
    written), ``kept`` (only in the secret, kept), ``removed`` (only in the secret, purged),
    ``generated`` (filled with a random value).  Empty lists for non-JSON values."""
    before = current.json if current not in (None, UNKNOWN) and current.json is not None else {}
    given = desired["value"].json if desired["value"] is not None and desired["value"].json is not None else {}
    after = before if target is None else (target.json or {})  # a non-JSON value has no keys
    report = {name: [] for name in ("added", "unchanged", "differs_kept", "overwritten", "kept", "removed", "generated")}
    for key in sorted(set(before) | set(after) | set(given)):
        if key not in after:  # purged, or given but not written (overwrite: false)
            report["removed" if key in before else "differs_kept"].append(key)
        elif key not in before:
            report["added" if key in given else "generated"].append(key)
        elif key not in given:
            report["overwritten" if key in desired["regenerate"] else "kept"].append(key)
        elif json_equal(given[key], before[key]):
            report["unchanged"].append(key)
        else:
            report["overwritten" if json_equal(after[key], given[key]) else "differs_kept"].append(key)
    return report


def replaced_version_key(current, desired):
    """The 'replaced version' part of a new version's ClientRequestToken.  For an AWSCURRENT
    write: the AWSCURRENT version id.  For a staged write also the label and every labelled
    version, so that after a rollback the same value can be staged again as a new version (AWS
    ignores a put whose token and value match an existing version, and would then not attach
    the label)."""
    current_version = current_version_id(current)
    if not writes_staged(desired):
        return current_version
    versions = sorted((current.get("VersionIdsToStages") or {}).keys())
    return "|".join([current_version or "", desired["version_stages"][0]] + versions)


# -- metadata ---------------------------------------------------------------------------------
def tags_plan(current_tags, desired_tags, purge_tags):
    """(to_set dict, to_unset list) -- amazon.aws compare_aws_tags, which never purges aws:*."""
    if desired_tags is None:
        return {}, []
    return compare_aws_tags(current_tags, desired_tags, purge_tags)


def replica_plan(current_status, desired):
    """(regions to add [{Region, KmsKeyId?}], regions to remove [str]) -- set arithmetic,
    order-independent.  A replica whose KMS key must change is removed and re-added."""
    if desired is None:
        return [], []
    current = {item["Region"]: item.get("KmsKeyId") for item in current_status or []}
    remove = sorted(region for region in current if region not in desired)
    add = []
    for region in sorted(desired):
        kms = desired[region]
        if region in current and (kms is None or kms == current[region]):
            continue
        if region in current:
            remove.append(region)
        add.append({"Region": region, "KmsKeyId": kms} if kms else {"Region": region})
    return add, remove


def policy_changed(current_policy, desired_policy):
    """Semantic compare (amazon.aws compare_policies); ``{}`` means "no policy"."""
    if desired_policy is None:
        return False
    if not desired_policy:
        return bool(current_policy)
    if not current_policy:
        return True
    return compare_policies(current_policy, desired_policy)


# -- plans ---------------------------------------------------------------------------------------
def plan_present(current, desired, current_value=None, current_policy=None, kms_equal=None, randbytes=os.urandom,
                 staged_value=None):
    """Plan for ``state=present``.

    current: DescribeSecret response (dict) or None.  current_value: see ``target_value``.
    current_policy: dict or None (read only when the user manages the policy).
    kms_equal(a, b): True when two key references name the same key (aliases resolved by the
    caller); defaults to string equality.  staged_value: the value holding the first of
    ``version_stages`` (staged writes compare against it instead of AWSCURRENT)."""
    value = target_value(desired, current_value, current is not None, randbytes)
    check_required_keys(desired, value, current_value if current is not None else None)
    if current is None:
        plan = _plan_create(desired, value)
        plan.keys = key_report(desired, None, value)
        return plan
    plan = Plan()
    plan.keys = key_report(desired, current_value, value)
    secret_id = current["ARN"]
    plan.before = _described_view(current)
    plan.after = copy.deepcopy(plan.before)
    if current.get("DeletedDate"):
        plan.add("restored", "restore_secret", SecretId=secret_id)
        plan.before["deleted"], plan.after["deleted"] = True, False
    compare_with = staged_value if writes_staged(desired) else current_value
    _plan_value(plan, current, desired, value, compare_with, current_value)
    _plan_metadata(plan, current, desired, kms_equal or (lambda a, b: a == b))
    _plan_tags(plan, secret_id, plan.before["tags"], desired)
    _plan_policy(plan, secret_id, current_policy, desired)
    _plan_replica(plan, current, desired)
    return plan


def _plan_create(desired, value):
    plan = Plan()
    name = desired["name"]
    if is_arn(name):
        raise InvalidOption("name", "a secret that does not exist yet must be given by name, not ARN")
    kwargs = {"Name": name}
    if value is not None:
        kwargs["ClientRequestToken"] = request_token(name, None, None, value)
        kwargs.update(value.api_kwargs())
    if desired["description"] is not None:
        kwargs["Description"] = desired["description"]
    if desired["kms_key_id"]:
        kwargs["KmsKeyId"] = desired["kms_key_id"]
    if desired["tags"]:
        kwargs["Tags"] = ansible_dict_to_boto3_tag_list(desired["tags"])
    if desired["replica"]:
        kwargs["AddReplicaRegions"] = replica_plan([], desired["replica"])[0]
        kwargs["ForceOverwriteReplicaSecret"] = desired["force_overwrite_replica_secret"]
    plan.add("created", "create_secret", **kwargs)
    if desired["resource_policy"]:
        _add_policy_step(plan, name, desired)
    plan.after = {
        "name": name,
        "description": desired["description"] or "",
        "kms_key_id": desired["kms_key_id"],
        "tags": desired["tags"] or {},
        "replica": sorted(desired["replica"] or []),
    }
    if value is not None:
        plan.after["value"] = mask_value(value)
    if desired["resource_policy"]:
        plan.after["resource_policy"] = desired["resource_policy"]
    return plan


def _described_view(current):
    return {
        "name": current.get("Name"),
        "description": current.get("Description", ""),
        "kms_key_id": current.get("KmsKeyId"),
        "tags": boto3_tag_list_to_ansible_dict(current.get("Tags") or []),
        "replica": sorted(item["Region"] for item in current.get("ReplicationStatus") or []),
    }


def _plan_value(plan, current, desired, value, compare_with, current_value):
    if value is None:
        return
    if compare_with is not None and compare_with is not UNKNOWN and value.same_as(compare_with):
        if current_value is not None and current_value is not UNKNOWN:
            plan.before["value"] = plan.after["value"] = mask_value(current_value)
        return
    secret_id = current["ARN"]
    token = request_token(secret_id, replaced_version_key(current, desired), current_value, value)
    kwargs = {"SecretId": secret_id, "ClientRequestToken": token}
    kwargs.update(value.api_kwargs())
    if desired.get("version_stages"):
        kwargs["VersionStages"] = list(desired["version_stages"])
    plan.add("value", "put_secret_value", **kwargs)
    plan.before["value"], plan.after["value"] = masked_value_diff(compare_with, value)


def _plan_metadata(plan, current, desired, kms_equal):
    update = {}
    if desired["description"] is not None and desired["description"] != current.get("Description", ""):
        update["Description"] = plan.after["description"] = desired["description"]
    if desired["kms_key_id"] and not kms_equal(current.get("KmsKeyId") or "alias/aws/secretsmanager", desired["kms_key_id"]):
        update["KmsKeyId"] = plan.after["kms_key_id"] = desired["kms_key_id"]
    if update:
        plan.add("metadata", "update_secret", SecretId=current["ARN"], **update)


def _plan_tags(plan, secret_id, before_tags, desired):
    to_set, to_unset = tags_plan(before_tags, desired["tags"], desired["purge_tags"])
    if to_unset:
        plan.add("tags", "untag_resource", SecretId=secret_id, TagKeys=to_unset)
    if to_set:
        plan.add("tags", "tag_resource", SecretId=secret_id, Tags=ansible_dict_to_boto3_tag_list(to_set))
    if to_set or to_unset:
        after_tags = {k: v for k, v in before_tags.items() if k not in to_unset}
        after_tags.update(to_set)
        plan.after["tags"] = after_tags


def _plan_policy(plan, secret_id, current_policy, desired):
    if not policy_changed(current_policy, desired["resource_policy"]):
        return
    plan.before["resource_policy"] = current_policy or {}
    plan.after["resource_policy"] = desired["resource_policy"]
    if desired["resource_policy"]:
        _add_policy_step(plan, secret_id, desired)
    else:
        plan.add("resource_policy", "delete_resource_policy", SecretId=secret_id)


def _add_policy_step(plan, secret_id, desired):
    kwargs = {"SecretId": secret_id, "ResourcePolicy": json.dumps(desired["resource_policy"], sort_keys=True)}
    if desired["block_public_policy"] is not None:
        kwargs["BlockPublicPolicy"] = desired["block_public_policy"]
    plan.add("resource_policy", "put_resource_policy", **kwargs)


def _plan_replica(plan, current, desired):
    add, remove = replica_plan(current.get("ReplicationStatus"), desired["replica"])
    if remove:
        plan.add("replica", "remove_regions_from_replication", SecretId=current["ARN"], RemoveReplicaRegions=remove)
    if add:
        plan.add("replica", "replicate_secret_to_regions", SecretId=current["ARN"], AddReplicaRegions=add,
                 ForceOverwriteReplicaSecret=desired["force_overwrite_replica_secret"])
    if add or remove:
        plan.after["replica"] = sorted(desired["replica"])


def plan_absent(current, desired):
    """Plan for ``state=absent``: idempotent; replicas are removed before the primary;
    ``recovery_window=0`` force-deletes, also a secret already scheduled for deletion."""
    plan = Plan()
    if current is None:
        return plan
    force = desired["recovery_window"] == 0
    if current.get("DeletedDate") and not force:
        return plan
    secret_id = current["ARN"]
    plan.before = {"name": current.get("Name"), "deleted": bool(current.get("DeletedDate"))}
    plan.after = {"name": current.get("Name"), "deleted": True}
    regions = [item["Region"] for item in current.get("ReplicationStatus") or []]
    if regions and not current.get("DeletedDate"):
        plan.add("replica", "remove_regions_from_replication", SecretId=secret_id, RemoveReplicaRegions=regions)
    kwargs = {"SecretId": secret_id}
    if force:
        kwargs["ForceDeleteWithoutRecovery"] = True
    else:
        kwargs["RecoveryWindowInDays"] = desired["recovery_window"]
    plan.add("deleted", "delete_secret", **kwargs)
    return plan
