# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Many secrets with the fewest calls: ``reconcile_many`` (module ``secret_bulk``, the
``secrets`` role) and ``find_secrets`` (module ``secret_info``).

``reconcile_many`` reads one ListSecrets pass (100 a page) and batched values (20 a call), then
plans each secret exactly as ``reconcile`` would.  A listing "might not reflect changes from the
last five minutes" (ListSecrets API reference), so it only ever decides "no change": names it
lacks are probed, a secret it shows as needing a change is described again and re-planned, and
a create that finds the name taken falls back to ``reconcile``.
"""

import os

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import api
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import reads_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import error_code
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_deleted_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_missing
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import configure_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import outcome
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import plan_secret
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import reconcile
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import written_version_id
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import is_arn
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import path_matches
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import secret_result
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import validate_name
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import version_result


# -- listing selectors (pure) ------------------------------------------------------------------
def list_filters(name_prefix=None, tags=None, filters=None):
    """ListSecrets ``Filters`` for the selectors.  The name filter is a plain prefix in AWS;
    path boundaries are checked afterwards by ``select_listed``."""
    out = []
    if name_prefix:
        validate_name(name_prefix.rstrip("/") or "/", "name_prefix")
        out.append({"Key": "name", "Values": [name_prefix.rstrip("/") + "/"]})
    for key, value in (tags or {}).items():
        out.append({"Key": "tag-key", "Values": [str(key)]})
        out.append({"Key": "tag-value", "Values": [str(value)]})
    for key, values in (filters or {}).items():
        out.append({"Key": key, "Values": [str(v) for v in (values if isinstance(values, list) else [values])]})
    return out


def select_listed(described, name_prefix=None, tags=None):
    """Keep the secrets that really match: path boundary for ``name_prefix`` and every tag with
    its value (ListSecrets tag filters match keys and values independently)."""
    selected = []
    for item in described:
        if name_prefix and not path_matches(item["Name"], name_prefix):
            continue
        item_tags = boto3_tag_list_to_ansible_dict(item.get("Tags") or [])
        if all(item_tags.get(str(k)) == str(v) for k, v in (tags or {}).items()):
            selected.append(item)
    return selected


def listed_as_described(item):
    """A ListSecrets entry in DescribeSecret's shape (``VersionIdsToStages``)."""
    described = dict(item)
    if "VersionIdsToStages" not in described:
        described["VersionIdsToStages"] = described.get("SecretVersionsToStages") or {}
    return described


def validate_many(desireds):
    """Bulk input checks before any API call: names (not ARNs), each once."""
    seen = set()
    for desired in desireds:
        if is_arn(desired["name"]):
            raise InvalidOption("secrets", f"{desired['name']}: bulk mode takes secret names, not ARNs")
        if desired["name"] in seen:
            raise InvalidOption("secrets", f"{desired['name']} is listed twice")
        seen.add(desired["name"])


# -- secret_info -------------------------------------------------------------------------------
def find_secrets(client, names=None, name_prefix=None, tags=None, filters=None, include_planned_deletion=False,
                 include_versions=False):
    """(secrets, missing): ``secret_result`` dicts sorted by name, and the names not found.
    ``include_versions`` adds ``versions`` (ListSecretVersionIds, one call per secret)."""
    missing = []
    if names:
        described = []
        for name in names:
            item = api.describe_secret(client, validate_name(name, "names"))
            if item is None:
                missing.append(name)
            else:
                described.append(item)
    else:
        listed = api.list_secrets(client, list_filters(name_prefix, tags, filters), include_planned_deletion)
        described = [listed_as_described(item) for item in listed]
    secrets = [secret_result(item) for item in select_listed(described, name_prefix, tags)]
    for secret in secrets if include_versions else []:
        entries = api.list_version_entries(client, secret["arn"])
        secret["versions"] = sorted((version_result(entry) for entry in entries), key=lambda v: v["created_date"] or "")
    return sorted(secrets, key=lambda s: s["name"]), missing


# -- batched reads ------------------------------------------------------------------------------
def _batch_or_none(client, secret_ids):
    """(entries, errors) of BatchGetSecretValue, or None when the caller must read one secret at
    a time: the action is denied, or a whole call failed (moto fails a whole call when one
    listed secret has no value; AWS reports per-secret errors)."""
    try:
        return api.batch_get_secret_values(client, secret_ids)
    except (api.BatchDenied, SecretsManagerError):
        return None


def get_current_values(client, arns):
    """{arn: SecretValue | None (no AWSCURRENT version) | UNKNOWN (scheduled for deletion)}."""
    batch = _batch_or_none(client, arns) if len(arns) > 1 else None
    if batch is None:
        return {arn: api.read_value(client, arn)[0] for arn in arns}
    entries, errors = batch
    values = {}
    for arn in arns:
        if arn in entries:
            values[arn] = SecretValue.from_response(entries[arn])
        elif arn in errors and is_deleted_error(errors[arn]):
            values[arn] = UNKNOWN
        elif arn in errors and not is_missing(errors[arn]):
            raise SecretsManagerError(message=f"Failed to get the value of {arn}", exception=errors[arn])
        else:
            values[arn] = None
    return values


def probe_unlisted(client, names):
    """{name: DescribeSecret result} for those of ``names`` that exist although a listing did not
    show them (created or restored moments ago).  One batched value read answers for all names
    (a missing secret is an error entry, not an extra call); only the names it finds, or cannot
    rule out, are described."""
    if not names:
        return {}
    batch = _batch_or_none(client, names)
    maybe = list(names)
    if batch is not None:
        entries, errors = batch
        maybe = [name for name in names if name in entries or (name in errors and not is_missing(errors[name]))]
    found = {name: api.describe_secret(client, name) for name in maybe}
    return {name: described for name, described in found.items() if described is not None}


# -- reconcile_many, step by step -------------------------------------------------------------------
class _Bulk:
    """The state of one ``reconcile_many`` run: what was read for each name and how fresh it is."""

    def __init__(self, client, desireds, check_mode, kms_equal, randbytes):
        self.client, self.desireds, self.check_mode = client, desireds, check_mode
        self.kms_equal, self.randbytes = kms_equal, randbytes
        self.current = {}  # name -> DescribeSecret-shaped dict
        self.fresh = set()  # names whose state comes from DescribeSecret, not from the listing
        self.restored = set()
        self.values = {}

    def describe_again(self, name):
        """Replace the listing's view of ``name`` with DescribeSecret's (None: gone since)."""
        described = api.describe_secret(self.client, self.current[name]["ARN"])
        self.fresh.add(name)
        if described is None:
            del self.current[name]
        else:
            self.current[name] = described
        return described

    def read_listing(self):
        prefix = os.path.commonprefix([d["name"] for d in self.desireds])
        filters = [{"Key": "name", "Values": [prefix]}] if prefix else []
        for item in api.list_secrets(self.client, filters, include_planned_deletion=True):
            self.current[item["Name"]] = listed_as_described(item)
        unlisted = [d["name"] for d in self.desireds if d["name"] not in self.current]
        for name, described in probe_unlisted(self.client, unlisted).items():
            self.current[name] = described
            self.fresh.add(name)

    def restore_and_describe(self):
        """Restore secrets scheduled for deletion that should be present (never in check mode;
        only after DescribeSecret confirms it), and describe those whose replicas are managed."""
        for desired in self.desireds:
            name = desired["name"]
            if name not in self.current:
                continue
            if desired["state"] == "present" and self.current[name].get("DeletedDate") and not self.check_mode:
                if name not in self.fresh and self.describe_again(name) is None:
                    continue
                if self.current[name].get("DeletedDate"):
                    api.restore_secret(self.client, self.current[name]["ARN"])
                    self.restored.add(name)
                    self.current[name] = api.describe_secret(self.client, self.current[name]["ARN"])
            elif desired["replica"] is not None and name not in self.fresh:
                self.describe_again(name)

    def read_values(self):
        wanted = [self.current[d["name"]]["ARN"] for d in self.desireds
                  if d["state"] == "present" and d["name"] in self.current
                  and not self.current[d["name"]].get("DeletedDate") and reads_value(d)]
        self.values = get_current_values(self.client, wanted) if wanted else {}
        for described in self.current.values():
            if described.get("DeletedDate"):
                self.values[described["ARN"]] = UNKNOWN  # check mode: unreadable until restored

    def plan(self, desired):
        described = self.current.get(desired["name"])
        value = self.values.get(described["ARN"]) if described is not None else None
        return plan_secret(self.client, desired, described, value, self.kms_equal, self.randbytes)

    def plan_fresh(self, desired):
        """A plan that changes something is only trusted from DescribeSecret, not the listing."""
        name = desired["name"]
        plan = self.plan(desired)
        if plan.changed and name in self.current and name not in self.fresh:
            self.describe_again(name)
            plan = self.plan(desired)
        if name in self.restored:
            plan.mark_restored()
        return plan

    def apply(self, desired, plan, result):
        try:
            created_arn = api.apply_steps(self.client, plan.steps)
        except SecretsManagerError as exc:
            if plan.steps[0][0] != "create_secret" or error_code(exc) != "ResourceExistsException":
                raise
            # Created since the probe (a retried create, another pipeline): decide from its real state.
            result.update(reconcile(self.client, desired, kms_equal=self.kms_equal, randbytes=self.randbytes))
            return
        arn = created_arn or self.current[desired["name"]]["ARN"]
        result["secret"] = secret_result(api.describe_secret(self.client, arn))
        result["written_version_id"] = written_version_id(plan)


def _configure_rotation(client, rotation, result, check_mode):
    """An item's ``rotation``, after its value: folded into the item's result."""
    if not result["secret"] and check_mode:
        result.update(changed=True, changes=result["changes"] + ["rotation_configured"])
        return
    done = configure_rotation(client, rotation, check_mode)
    result["changes"] += done["changes"]
    result["changed"] = result["changed"] or done["changed"]
    result["secret"] = done["secret"] or result["secret"]


def reconcile_many(client, desireds, check_mode=False, kms_equal=None, randbytes=os.urandom):
    """Bring a list of secrets to their desired states; returns a list of per-secret results
    (name, changed, changes, diff, secret) in input order.  An item's ``rotation`` (a
    ``parse_rotation`` dict), when given, is configured after its value.

    Extra reads only where a listing cannot answer: DescribeSecret for managed replicas, for
    planned changes and after a change, GetResourcePolicy for managed policies."""
    validate_many(desireds)
    if not desireds:
        return []
    run = _Bulk(client, desireds, check_mode, kms_equal, randbytes)
    run.read_listing()
    run.restore_and_describe()
    run.read_values()
    plans = [run.plan_fresh(desired) for desired in desireds]
    results = [dict(outcome(plan, run.current.get(d["name"])), name=d["name"]) for d, plan in zip(desireds, plans)]
    for desired, plan, result in zip(desireds, plans, results):
        if plan.changed and not check_mode:
            run.apply(desired, plan, result)
        if desired.get("rotation") and desired["state"] == "present":
            _configure_rotation(client, desired["rotation"], result, check_mode)
    return results
