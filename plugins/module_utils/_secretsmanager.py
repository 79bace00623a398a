# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_util is internal to the secretsops.aws collection (leading underscore).
# Its functions may change without notice; use the modules and the lookup instead.

"""Domain layer of secretsops.aws: everything the modules and the lookup know about
AWS Secrets Manager, in three kinds of functions kept apart.

1. parse/validate (pure): user input -> normalised desired state, or ``InvalidOption``
   naming the option.  Never sees AWS.
2. plan/compare (pure): (current state, desired state) -> ``Plan``: ordered API steps
   plus a diff in which every secret value is masked.  Unit tests call these with dicts.
3. read/apply: thin functions over boto3 calls (AWS Secrets Manager API, see
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/), wrapped by
   ``SecretsManagerErrorHandler``.  They raise ``AnsibleAWSError``; they never exit.

No function here calls ``exit_json``/``fail_json``; there is no module-level state except
constants (the lookup keeps its client pool and cache in its own plugin file).
"""

import base64
import binascii
import copy
import hashlib
import json
import os
import re
import time
import uuid

try:
    import botocore
except ImportError:
    pass  # The modules and the lookup report a missing SDK themselves.

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# --- limits (AWS Secrets Manager quotas, https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html)
NAME_MAX_LENGTH = 512
NAME_PATTERN = re.compile(r"\A[A-Za-z0-9/_+=.@-]+\Z")
VALUE_MAX_BYTES = 65536
RECOVERY_WINDOW_RANGE = (7, 30)
DEFAULT_GENERATE_BYTES = 48
BATCH_GET_MAX_IDS = 20  # BatchGetSecretValue accepts at most 20 SecretIdList entries
ARN_FIELDS = 7  # arn:partition:secretsmanager:region:account:secret:name-suffix
MASK = "********"
CHANGED_MASK = "******** (changed)"

# Errors that mean "the caller's IAM policy does not allow this".  moto with IAM enforcement
# answers a bare HTTP 403 whose code botocore reports as "403".
DENIED_CODES = ("AccessDeniedException", "AccessDenied", "403", "UnauthorizedOperation")
MISSING_CODES = ("ResourceNotFoundException",)
TIMEOUT_EXCEPTIONS = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError")

# Every API call that changes something (used to keep check mode honest in tests and docs).
WRITE_OPERATIONS = frozenset(
    (
        "create_secret",
        "put_secret_value",
        "update_secret",
        "update_secret_version_stage",
        "restore_secret",
        "delete_secret",
        "tag_resource",
        "untag_resource",
        "put_resource_policy",
        "delete_resource_policy",
        "replicate_secret_to_regions",
        "remove_regions_from_replication",
        "rotate_secret",
        "cancel_rotate_secret",
    )
)


# =====================================================================================
# Errors
# =====================================================================================
class InvalidOption(ValueError):
    """Bad user input, detected before any API call.  ``str()`` names the option and never
    contains a secret value."""

    def __init__(self, option, message):
        self.option = option
        super().__init__(f"{option}: {message}")


class SecretsManagerError(AnsibleAWSError):
    """An AWS error, carrying the botocore exception in ``.exception``."""


class SecretsManagerErrorHandler(AWSErrorHandler):
    """amazon.aws error-handler pattern (see module_utils/iam.py) for Secrets Manager:
    ``ResourceNotFoundException`` is "missing"."""

    _CUSTOM_EXCEPTION = SecretsManagerError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(MISSING_CODES))


def error_code(exc):
    """The AWS error code of a botocore/AnsibleAWSError exception, or its class name."""
    inner = getattr(exc, "exception", None) or exc
    response = getattr(inner, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return type(inner).__name__


def is_denied(exc):
    return error_code(exc) in DENIED_CODES


def is_missing(exc):
    return error_code(exc) in MISSING_CODES


def is_deleted_error(exc):
    """GetSecretValue on a secret scheduled for deletion: AWS answers InvalidRequestException."""
    inner = getattr(exc, "exception", None) or exc
    text = str(inner).lower()
    return error_code(exc) == "InvalidRequestException" and ("deletion" in text or "marked deleted" in text)


def explain_error(exc, secret_id=None, region=None, endpoint=None):
    """A message a user can act on, in the words of the guide's troubleshooting section.

    Never contains a secret value (boto error messages carry ids, not values)."""
    inner = getattr(exc, "exception", None) or exc
    code = error_code(exc)
    operation = getattr(inner, "operation_name", None) or "the Secrets Manager API"
    where = f"region {region or 'unknown'}" + (f", endpoint {endpoint}" if endpoint else "")
    target = f" on {secret_id}" if secret_id else ""
    if code in DENIED_CODES:
        return (
            f"Access denied calling {operation}{target} ({where}). The IAM policy of the caller "
            f"must allow secretsmanager:{operation} on the secret's ARN (and kms:Decrypt via "
            f"secretsmanager for a customer managed key). AWS said: {inner}"
        )
    if code in MISSING_CODES:
        return f"Secret {secret_id or ''} not found ({where}). Check the name, the region and the account/profile."
    if code in TIMEOUT_EXCEPTIONS:
        return (
            f"No answer from {endpoint or 'the Secrets Manager endpoint'} ({where}) calling {operation}. "
            "From a private subnet this needs a VPC interface endpoint for secretsmanager "
            "(role secretsops.aws.vpc_endpoint) or a NAT gateway. "
            f"Detail: {inner}"
        )
    message = getattr(exc, "message", None)
    prefix = f"{message}: " if message else ""
    return f"{prefix}{operation}{target} failed ({where}): {inner}"


# =====================================================================================
# 1. parse / validate (pure)
# =====================================================================================
def is_arn(secret_id):
    return secret_id.startswith("arn:") and secret_id.count(":") >= ARN_FIELDS - 1


def validate_name(name, option="name"):
    """A secret name or ARN.  Names: 1-512 chars of ``[A-Za-z0-9/_+=.@-]`` (AWS CreateSecret)."""
    if not isinstance(name, str) or not name:
        raise InvalidOption(option, "a secret name or ARN is required")
    if is_arn(name):
        if len(name.split(":")) != ARN_FIELDS:
            raise InvalidOption(option, f"{name!r} is not a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
        return name
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidOption(option, f"the name is {len(name)} characters long; AWS allows at most {NAME_MAX_LENGTH}")
    if not NAME_PATTERN.match(name):
        bad = sorted(set(ch for ch in name if not NAME_PATTERN.match(ch)))
        raise InvalidOption(option, f"{name!r} contains {''.join(bad)!r}; a secret name may only contain letters, digits and /_+=.@-")
    return name


def parse_json_object(text):
    """The dict encoded by ``text``, or None when it is not a JSON object."""
    if isinstance(text, (bytes, bytearray)):
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def value_size(value):
    return len(value) if isinstance(value, (bytes, bytearray)) else len(value.encode("utf-8"))


def check_value_size(value, option):
    size = value_size(value)
    if size > VALUE_MAX_BYTES:
        raise InvalidOption(option, f"the value is {size} bytes; AWS Secrets Manager allows at most {VALUE_MAX_BYTES}")


def serialize_json(data):
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def generate_value(nbytes=DEFAULT_GENERATE_BYTES, randbytes=os.urandom):
    """A new random value: ``nbytes`` random bytes, base64 text (48 bytes -> 64 chars)."""
    return base64.b64encode(randbytes(nbytes)).decode("ascii")


def build_desired(params):
    """Module/role parameters -> normalised desired state (a dict), or ``InvalidOption``.

    Keys: name, state, value (str | bytes | None), value_option (the option it came from),
    json (dict when the value is a JSON object), generate (list), generate_bytes, overwrite,
    description, kms_key_id, tags, purge_tags, resource_policy (dict | None),
    block_public_policy, replica (dict region -> kms key | None, or None),
    force_overwrite_replica_secret, recovery_window.
    """
    name = validate_name(params.get("name"))
    state = params.get("state") or "present"
    given = [opt for opt in ("secret_string", "json_secret", "secret_binary") if params.get(opt) is not None]
    if len(given) > 1:
        raise InvalidOption(given[1], f"only one of secret_string, json_secret and secret_binary may be given (got {', '.join(given)})")
    desired = {
        "name": name,
        "state": state,
        "value": None,
        "value_option": given[0] if given else None,
        "json": None,
        "generate": list(params.get("generate") or []),
        "regenerate": list(params.get("regenerate") or []),
        "generate_bytes": DEFAULT_GENERATE_BYTES if params.get("generate_bytes") is None else params["generate_bytes"],
        "overwrite": params.get("overwrite", True) is not False,
        "description": params.get("description"),
        "kms_key_id": params.get("kms_key_id"),
        "tags": params.get("tags"),
        "purge_tags": params.get("purge_tags", True) is not False,
        "resource_policy": None,
        "block_public_policy": params.get("block_public_policy"),
        "replica": None,
        "force_overwrite_replica_secret": bool(params.get("force_overwrite_replica_secret")),
        "recovery_window": params.get("recovery_window", 30),
        "version_stages": parse_version_stages(params),
    }
    recovery = desired["recovery_window"]
    if recovery is None:
        desired["recovery_window"] = recovery = 30
    if recovery != 0 and not RECOVERY_WINDOW_RANGE[0] <= recovery <= RECOVERY_WINDOW_RANGE[1]:
        raise InvalidOption("recovery_window", f"{recovery} is out of range: use 0 (delete now, no recovery) or 7 to 30 days")

    if params.get("json_secret") is not None:
        data = params["json_secret"]
        if not isinstance(data, dict):
            raise InvalidOption("json_secret", "must be a dictionary (a JSON object)")
        desired["json"] = copy.deepcopy(data)
        desired["value"] = serialize_json(data)
    elif params.get("secret_string") is not None:
        desired["value"] = str(params["secret_string"])
        desired["json"] = parse_json_object(desired["value"])
    elif params.get("secret_binary") is not None:
        try:
            desired["value"] = base64.b64decode(params["secret_binary"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidOption("secret_binary", "is not valid base64 text") from None
    if desired["value"] is not None:
        check_value_size(desired["value"], desired["value_option"])

    generate_bytes = desired["generate_bytes"]
    if not 1 <= generate_bytes <= 4096:
        raise InvalidOption("generate_bytes", f"{generate_bytes} is out of range (1-4096)")
    for option in ("generate", "regenerate"):
        for key in desired[option]:
            if not isinstance(key, str) or not key:
                raise InvalidOption(option, "every entry must be a non-empty JSON key name")
        if desired[option] and desired["value"] is not None and desired["json"] is None:
            raise InvalidOption(option, "needs json_secret, a secret_string holding a JSON object, or no value at all")
    both = set(desired["generate"]) & set(desired["regenerate"])
    if both:
        raise InvalidOption("regenerate", f"keys {sorted(both)} are also listed in generate")

    if desired["tags"] is not None:
        if not isinstance(desired["tags"], dict):
            raise InvalidOption("tags", "must be a dictionary of tag keys to values")
        desired["tags"] = {str(k): str(v) for k, v in desired["tags"].items()}
        for key in desired["tags"]:
            if key.startswith("aws:"):
                raise InvalidOption("tags", f"{key!r}: keys starting with 'aws:' are reserved by AWS")

    policy = params.get("resource_policy")
    if policy is not None:
        if isinstance(policy, str):
            try:
                policy = json.loads(policy) if policy.strip() else {}
            except ValueError as exc:
                raise InvalidOption("resource_policy", f"is not valid JSON ({exc})") from None
        if not isinstance(policy, dict):
            raise InvalidOption("resource_policy", "must be a JSON policy document (an object)")
        desired["resource_policy"] = policy

    replica = params.get("replica")
    if replica is not None:
        regions = {}
        for index, item in enumerate(replica):
            if not isinstance(item, dict) or not item.get("region"):
                raise InvalidOption("replica", f"entry {index} needs a region")
            if item["region"] in regions:
                raise InvalidOption("replica", f"region {item['region']} is listed twice")
            regions[item["region"]] = item.get("kms_key_id") or None
        desired["replica"] = regions

    return desired


# =====================================================================================
# 2. plan / compare (pure)
# =====================================================================================
class Plan:
    """Ordered API steps (``(operation, kwargs)``) and a masked diff.

    ``steps`` may hold secret values in their kwargs: never return or log them.
    ``diff`` and ``changes`` never hold values."""

    def __init__(self):
        self.steps = []
        self.changes = []
        self.before = {}
        self.after = {}

    @property
    def changed(self):
        return bool(self.steps)

    def add(self, change, operation, **kwargs):
        if change not in self.changes:
            self.changes.append(change)
        self.steps.append((operation, kwargs))

    def diff(self):
        return {"before": self.before, "after": self.after}


def request_token(secret_id, replaced_version_id, value):
    """ClientRequestToken for a new version: derived from the secret, the version it replaces
    and the new value, so a retried or concurrent identical write makes no second version,
    while going back to an earlier value (different replaced version) still makes a new one.

    A slow key-derivation keeps the token (visible as the VersionId) from being a cheap
    oracle for a low-entropy value.  Returns a UUID string (AWS: 32-64 characters)."""
    data = value if isinstance(value, (bytes, bytearray)) else value.encode("utf-8")
    salt = f"secretsops|{secret_id}|{replaced_version_id or ''}".encode("utf-8")
    digest = hashlib.pbkdf2_hmac("sha256", bytes(data), salt, 20000)
    return str(uuid.UUID(bytes=digest[:16], version=4))


def mask_value(value):
    """Masked view of a secret value for diffs: JSON objects keep their key names."""
    data = parse_json_object(value) if value is not None else None
    if data is not None:
        return {key: MASK for key in data}
    return None if value is None else MASK


def masked_value_diff(before, after):
    """(before, after) masked views that still show which JSON keys were added, removed or
    changed: a changed key reads "******** (changed)", a replaced plain value likewise."""
    before_data = parse_json_object(before) if before is not None else None
    after_data = parse_json_object(after)
    if before_data is not None and after_data is not None:
        masked_after = {}
        for key, value in after_data.items():
            changed = key in before_data and before_data[key] != value
            masked_after[key] = CHANGED_MASK if changed else MASK
        return mask_value(before), masked_after
    masked_after = mask_value(after)
    if before is not None and not isinstance(masked_after, dict):
        masked_after = CHANGED_MASK
    return mask_value(before), masked_after


def values_equal(current, desired):
    """Secret values compared as data: JSON (any order/spacing) as data, binary as bytes."""
    if isinstance(current, (bytes, bytearray)) or isinstance(desired, (bytes, bytearray)):
        return isinstance(current, (bytes, bytearray)) and isinstance(desired, (bytes, bytearray)) and bytes(current) == bytes(desired)
    if current == desired:
        return True
    try:
        return json.loads(current) == json.loads(desired)
    except (TypeError, ValueError):
        return False


UNKNOWN = object()  # the current value could not be read (secret scheduled for deletion)


def target_value(desired, current_value, exists, randbytes=os.urandom):
    """The value the secret should end up with, or None when the value must not be written.

    ``current_value``: str/bytes of AWSCURRENT, None when there is no AWSCURRENT version,
    UNKNOWN when it could not be read.  ``generate`` keys are filled with a new random
    value only when absent from both the desired and the current value (never regenerated);
    ``regenerate`` keys always get a new random value (rotation: always a change).
    """
    generate = desired["generate"]
    regenerate = desired.get("regenerate") or []
    if desired["value"] is None and not generate and not regenerate:
        return None
    has_value = exists and current_value is not None
    current_json = parse_json_object(current_value) if has_value and current_value is not UNKNOWN else None
    if has_value and not desired["overwrite"] and not regenerate:
        if not generate or current_value is UNKNOWN or current_json is None:
            return None
        data = copy.deepcopy(current_json)
    elif has_value and not desired["overwrite"]:
        if current_value is UNKNOWN or current_json is None:
            raise InvalidOption("regenerate", "the secret's current value is not a readable JSON object")
        data = copy.deepcopy(current_json)
    elif desired["value"] is not None and desired["json"] is None:
        return desired["value"]
    elif desired["json"] is not None:
        data = copy.deepcopy(desired["json"])
    else:  # generate/regenerate only: keep what is there
        if has_value and current_value is not UNKNOWN and current_json is None:
            raise InvalidOption("generate", "the secret's current value is not a JSON object, so keys cannot be added to it")
        data = copy.deepcopy(current_json) if current_json is not None else {}
    added = bool(regenerate)
    for key in regenerate:
        data[key] = generate_value(desired["generate_bytes"], randbytes)
    for key in generate:
        if key in data:
            continue
        if current_json is not None and key in current_json:
            data[key] = current_json[key]
        else:
            data[key] = generate_value(desired["generate_bytes"], randbytes)
        added = True
    if desired["json"] is not None and not added and desired["value_option"] == "secret_string":
        return desired["value"]  # keep the user's own formatting
    return serialize_json(data)


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
        entry = {"Region": region}
        if kms:
            entry["KmsKeyId"] = kms
        add.append(entry)
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


def plan_present(current, desired, current_value=None, current_policy=None, kms_equal=None, randbytes=os.urandom,
                 staged_value=None):
    """Plan for ``state=present``.

    current: DescribeSecret response (dict) or None.  current_value: see ``target_value``.
    current_policy: dict or None (only read when the user manages the policy).
    kms_equal(a, b): True when two key references name the same key (aliases resolved by the
    caller); defaults to string equality.
    """
    plan = Plan()
    name = desired["name"]
    kms_equal = kms_equal or (lambda a, b: a == b)
    value = target_value(desired, current_value, current is not None, randbytes)
    if value is not None:
        check_value_size(value, desired["value_option"] or "generate")

    if current is None:
        if is_arn(name):
            raise InvalidOption("name", "a secret that does not exist yet must be given by name, not ARN")
        kwargs = {"Name": name}
        if value is not None:
            kwargs["ClientRequestToken"] = request_token(name, None, value)
            kwargs["SecretBinary" if isinstance(value, bytes) else "SecretString"] = value
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
        plan.before = {}
        plan.after = _masked_state(desired, value)
        return plan

    secret_id = current["ARN"]
    before_tags = boto3_tag_list_to_ansible_dict(current.get("Tags") or [])
    plan.before = {
        "name": current.get("Name"),
        "description": current.get("Description", ""),
        "kms_key_id": current.get("KmsKeyId"),
        "tags": before_tags,
        "replica": sorted(item["Region"] for item in current.get("ReplicationStatus") or []),
    }
    plan.after = copy.deepcopy(plan.before)
    if current.get("DeletedDate"):
        plan.add("restored", "restore_secret", SecretId=secret_id)
        plan.before["deleted"] = True
        plan.after["deleted"] = False

    compare_value = staged_value if writes_staged(desired) else current_value  # see "versions and rotation"
    if value is not None and (compare_value is None or compare_value is UNKNOWN or not values_equal(compare_value, value)):
        current_version = replaced_version_key(current, desired)
        kwargs = {"SecretId": secret_id, "ClientRequestToken": request_token(secret_id, current_version, value)}
        kwargs["SecretBinary" if isinstance(value, bytes) else "SecretString"] = value
        if desired.get("version_stages"):
            kwargs["VersionStages"] = list(desired["version_stages"])
        plan.add("value", "put_secret_value", **kwargs)
        before_v = None if compare_value in (None, UNKNOWN) else compare_value
        plan.before["value"], plan.after["value"] = masked_value_diff(before_v, value)
    elif current_value not in (None, UNKNOWN) and value is not None:
        plan.before["value"] = plan.after["value"] = mask_value(current_value)

    update = {}
    if desired["description"] is not None and desired["description"] != current.get("Description", ""):
        update["Description"] = desired["description"]
        plan.after["description"] = desired["description"]
    if desired["kms_key_id"] and not kms_equal(current.get("KmsKeyId") or "alias/aws/secretsmanager", desired["kms_key_id"]):
        update["KmsKeyId"] = desired["kms_key_id"]
        plan.after["kms_key_id"] = desired["kms_key_id"]
    if update:
        plan.add("metadata", "update_secret", SecretId=secret_id, **update)

    to_set, to_unset = tags_plan(before_tags, desired["tags"], desired["purge_tags"])
    if to_unset:
        plan.add("tags", "untag_resource", SecretId=secret_id, TagKeys=to_unset)
    if to_set:
        plan.add("tags", "tag_resource", SecretId=secret_id, Tags=ansible_dict_to_boto3_tag_list(to_set))
    if to_set or to_unset:
        after_tags = {k: v for k, v in before_tags.items() if k not in to_unset}
        after_tags.update(to_set)
        plan.after["tags"] = after_tags

    if policy_changed(current_policy, desired["resource_policy"]):
        plan.before["resource_policy"] = current_policy or {}
        plan.after["resource_policy"] = desired["resource_policy"]
        if desired["resource_policy"]:
            _add_policy_step(plan, secret_id, desired)
        else:
            plan.add("resource_policy", "delete_resource_policy", SecretId=secret_id)

    add, remove = replica_plan(current.get("ReplicationStatus"), desired["replica"])
    if remove:
        plan.add("replica", "remove_regions_from_replication", SecretId=secret_id, RemoveReplicaRegions=remove)
    if add:
        plan.add(
            "replica",
            "replicate_secret_to_regions",
            SecretId=secret_id,
            AddReplicaRegions=add,
            ForceOverwriteReplicaSecret=desired["force_overwrite_replica_secret"],
        )
    if add or remove:
        plan.after["replica"] = sorted(desired["replica"])
    return plan


def _add_policy_step(plan, secret_id, desired):
    kwargs = {"SecretId": secret_id, "ResourcePolicy": json.dumps(desired["resource_policy"], sort_keys=True)}
    if desired["block_public_policy"] is not None:
        kwargs["BlockPublicPolicy"] = desired["block_public_policy"]
    plan.add("resource_policy", "put_resource_policy", **kwargs)


def _masked_state(desired, value):
    state = {
        "name": desired["name"],
        "description": desired["description"] or "",
        "kms_key_id": desired["kms_key_id"],
        "tags": desired["tags"] or {},
        "replica": sorted(desired["replica"] or []),
    }
    if value is not None:
        state["value"] = mask_value(value)
    if desired["resource_policy"]:
        state["resource_policy"] = desired["resource_policy"]
    return state


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


def current_version_id(described):
    """VersionId holding AWSCURRENT in a DescribeSecret response, or None."""
    for version_id, stages in (described.get("VersionIdsToStages") or {}).items():
        if "AWSCURRENT" in stages:
            return version_id
    return None


def secret_result(described):
    """DescribeSecret response -> the documented ``secret`` return value (snake_case, tags as
    a dict, ``version_id`` = AWSCURRENT).  Never contains a value."""
    if not described:
        return {}
    tags = boto3_tag_list_to_ansible_dict(described.get("Tags") or [])
    result = {
        "arn": described.get("ARN"),
        "name": described.get("Name"),
        "description": described.get("Description", ""),
        "kms_key_id": described.get("KmsKeyId"),
        "tags": tags,
        "version_id": current_version_id(described),
        "version_ids_to_stages": described.get("VersionIdsToStages") or {},
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "rotation_lambda_arn": described.get("RotationLambdaARN"),
        "rotation_rules": _snake(described.get("RotationRules") or {}),
        "primary_region": described.get("PrimaryRegion"),
        "replication_status": [_snake(item) for item in described.get("ReplicationStatus") or []],
        "deleted_date": _iso(described.get("DeletedDate")),
        "created_date": _iso(described.get("CreatedDate")),
        "last_changed_date": _iso(described.get("LastChangedDate")),
        "last_accessed_date": _iso(described.get("LastAccessedDate")),
        "last_rotated_date": _iso(described.get("LastRotatedDate")),
        "next_rotation_date": _iso(described.get("NextRotationDate")),
    }
    return result


def _snake(data):
    out = {}
    for key, value in data.items():
        snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
        out[snake] = _iso(value) if hasattr(value, "isoformat") else value
    return out


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- lookup terms ----------------------------------------------------------------------
def parse_term(term):
    """A lookup term -> (secret_id, json_key, version_stage, version_id).

    Forms: NAME, full/partial ARN, each optionally followed by the ECS valueFrom selector
    ``:json-key:version-stage:version-id`` (parts may be empty -> None).  Names cannot hold
    ``:`` and an ARN has exactly 7 ``:``-fields, so the split is unambiguous."""
    if not isinstance(term, str) or not term:
        raise InvalidOption("_terms", "each term must be a non-empty secret name or ARN")
    parts = term.split(":")
    if term.startswith("arn:"):
        if len(parts) < ARN_FIELDS or parts[2] != "secretsmanager" or parts[5] != "secret":
            raise InvalidOption("_terms", f"{term!r} is not a Secrets Manager secret ARN; expected "
                                "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key[:version-stage[:version-id]]]")
        secret_id, selector = ":".join(parts[:ARN_FIELDS]), parts[ARN_FIELDS:]
    else:
        secret_id, selector = parts[0], parts[1:]
    if len(selector) > 3:
        raise InvalidOption("_terms", f"{term!r}: expected NAME[:json-key[:version-stage[:version-id]]]")
    selector = (selector + [None, None, None])[:3]
    validate_name(secret_id, "_terms")
    return (secret_id,) + tuple(part or None for part in selector)


def select_key(value, key, secret_id):
    """Follow a dotted ``key`` path into a parsed JSON value; a selected value keeps its JSON
    type.  A literal key containing dots wins over the path (``{"a.b": 1}``)."""
    if key is None:
        return value
    if not isinstance(value, dict):
        raise KeyError(f"secret {secret_id} is not a JSON object, so it has no key {key!r}")
    if key in value:
        return value[key]
    node, walked = value, []
    for part in key.split("."):
        if not isinstance(node, dict):
            raise KeyError(f"secret {secret_id} has no JSON key {key!r}: {'.'.join(walked)!r} is not a JSON object")
        if part not in node:
            where = f"under {'.'.join(walked)!r}" if walked else "at the top level"
            raise KeyError(f"secret {secret_id} has no JSON key {key!r} (keys {where}: {', '.join(sorted(node)) or 'none'})")
        node = node[part]
        walked.append(part)
    return node


def decode_value(response, binary="base64"):
    """GetSecretValue/BatchGetSecretValue entry -> Python value: JSON -> dict/list/...,
    text stays text, binary -> base64 text (``binary='base64'``) or raw bytes."""
    if response.get("SecretString") is not None:
        text = response["SecretString"]
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return parsed if isinstance(parsed, (dict, list)) else text
    data = response.get("SecretBinary")
    if data is None:
        return None
    return data if binary == "raw" else base64.b64encode(data).decode("ascii")


def path_matches(name, path):
    """Path-boundary aware prefix match: ``prod/shop`` matches ``prod/shop/x``, not
    ``prod/shop-old/x``."""
    prefix = path.rstrip("/") + "/"
    return name.startswith(prefix)


# =====================================================================================
# 3. read / apply (thin boto3 wrappers; raise, never exit)
# =====================================================================================
def retry_decorator():
    """Retries throttling and the transient errors amazon.aws knows, plus the race right
    after a force delete (the name is briefly 'scheduled for deletion')."""
    return AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=10)


@SecretsManagerErrorHandler.list_error_handler("describe secret")
def describe_secret(client, secret_id):
    return client.describe_secret(aws_retry=True, SecretId=secret_id)


def get_current_value(client, secret_id, version_stage="AWSCURRENT"):
    """(value, version_id): value is str/bytes, None when no version carries the stage,
    UNKNOWN when the secret is scheduled for deletion and cannot be read."""
    try:
        response = _get_secret_value(client, secret_id, version_stage)
    except SecretsManagerError as exc:
        if is_deleted_error(exc):
            return UNKNOWN, None
        raise
    if response is None:
        return None, None
    value = response.get("SecretString")
    if value is None:
        value = response.get("SecretBinary")
    return value, response.get("VersionId")


@SecretsManagerErrorHandler.list_error_handler("get secret value")
def _get_secret_value(client, secret_id, version_stage):
    return client.get_secret_value(aws_retry=True, SecretId=secret_id, VersionStage=version_stage)


@SecretsManagerErrorHandler.list_error_handler("get resource policy")
def get_resource_policy(client, secret_id):
    response = client.get_resource_policy(aws_retry=True, SecretId=secret_id)
    text = response.get("ResourcePolicy")
    return json.loads(text) if text else None


def _scheduled_for_deletion(exc):
    return error_code(exc) == "InvalidRequestException" and "scheduled for deletion" in str(exc)


@SecretsManagerErrorHandler.common_error_handler("update secret")
def apply_plan(client, plan, sleep=time.sleep, create_wait=60):
    """Run the plan's steps in order.  Returns the ARN of a created secret, else None.

    CreateSecret right after a force delete: AWS refuses the name for a short while
    ("already scheduled for deletion"); that is retried for up to ``create_wait`` seconds."""
    created_arn = None
    for operation, kwargs in plan.steps:
        waited = 0
        while True:
            try:
                response = getattr(client, operation)(aws_retry=True, **kwargs)
                break
            except botocore.exceptions.ClientError as exc:
                if operation != "create_secret" or not _scheduled_for_deletion(exc) or waited >= create_wait:
                    raise
                sleep(5)
                waited += 5
        if operation == "create_secret":
            created_arn = response.get("ARN")
    return created_arn


@SecretsManagerErrorHandler.common_error_handler("restore secret")
def restore_secret(client, secret_id):
    client.restore_secret(aws_retry=True, SecretId=secret_id)


def kms_key_resolver(kms_client):
    """kms_equal(a, b) for ``plan_present``: two key references (id, ARN, alias name or
    alias ARN) are equal when KMS DescribeKey resolves them to the same key ARN.  Results
    are memoised per call site; a key that cannot be described compares by text."""
    cache = {}

    def resolve(ref):
        if ref not in cache:
            try:
                cache[ref] = kms_client.describe_key(aws_retry=True, KeyId=ref)["KeyMetadata"]["Arn"]
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
                cache[ref] = ref
        return cache[ref]

    def kms_equal(a, b):
        return a == b or resolve(a) == resolve(b)

    return kms_equal


def reconcile(client, desired, check_mode=False, kms_equal=None, randbytes=os.urandom):
    """Bring one secret to ``desired``; returns dict(changed, changes, diff, secret).

    Reads: DescribeSecret, GetSecretValue (only when a value or ``generate`` is given),
    GetResourcePolicy (only when ``resource_policy`` is given).  Writes only what the plan
    needs; nothing in check mode.  A secret scheduled for deletion is restored first
    (same ARN), then reconciled."""
    current = describe_secret(client, desired["name"])
    if desired["state"] == "absent":
        plan = plan_absent(current, desired)
    else:
        restored = False
        if current is not None and current.get("DeletedDate") and not check_mode:
            restore_secret(client, current["ARN"])
            restored = True
            current = describe_secret(client, current["ARN"])
        current_value = None
        if current is not None and current.get("DeletedDate"):
            current_value = UNKNOWN  # check mode: a secret scheduled for deletion cannot be read
        elif current is not None and (desired["value"] is not None or desired["generate"] or desired["regenerate"]):
            current_value = get_current_value(client, current["ARN"])[0]
        current_policy = None
        if current is not None and desired["resource_policy"] is not None:
            current_policy = get_resource_policy(client, current["ARN"])
        plan = plan_present(current, desired, current_value, current_policy, kms_equal, randbytes,
                            staged_value=read_staged_value(client, current, desired))
        if restored:
            plan.changes.insert(0, "restored")
            plan.before["deleted"] = True
            plan.after["deleted"] = False
    changed = plan.changed or "restored" in plan.changes
    result = {"changed": changed, "changes": list(plan.changes), "diff": plan.diff()}
    if check_mode or not plan.changed:
        result["secret"] = secret_result(current)
        return result
    created_arn = apply_plan(client, plan)
    result["secret"] = secret_result(describe_secret(client, created_arn or current["ARN"]))
    return result


# -- listing (secret_info, the secrets role's bulk read, the audit) ---------------------------
def list_filters(name_prefix=None, tags=None, filters=None):
    """ListSecrets ``Filters`` for the selectors (pure).  The name filter is a plain prefix in
    AWS; path boundaries are checked afterwards by ``select_listed``."""
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
        if any(item_tags.get(str(k)) != str(v) for k, v in (tags or {}).items()):
            continue
        selected.append(item)
    return selected


@SecretsManagerErrorHandler.common_error_handler("list secrets")
def list_secrets(client, filters, include_planned_deletion=False):
    """Every ListSecrets entry for ``filters`` (paginated, 100 a page).  Entries carry names,
    tags and SecretVersionsToStages, which is what bulk planning needs."""
    paginator = client.get_paginator("list_secrets")
    kwargs = {"Filters": filters, "MaxResults": 100}
    if include_planned_deletion:
        kwargs["IncludePlannedDeletion"] = True
    out = []
    for page in paginator.paginate(**kwargs):
        out.extend(page.get("SecretList", []))
    return out


def find_secrets(client, names=None, name_prefix=None, tags=None, filters=None, include_planned_deletion=False):
    """(secrets, missing): ``secret_result`` dicts sorted by name, and the names not found."""
    missing = []
    if names:
        described = []
        for name in names:
            item = describe_secret(client, validate_name(name, "names"))
            if item is None:
                missing.append(name)
            else:
                described.append(item)
        described = select_listed(described, name_prefix, tags)
    else:
        listed = list_secrets(client, list_filters(name_prefix, tags, filters), include_planned_deletion)
        described = select_listed(listed, name_prefix, tags)
        for item in described:  # ListSecrets says SecretVersionsToStages; DescribeSecret says VersionIdsToStages
            if "VersionIdsToStages" not in item and "SecretVersionsToStages" in item:
                item["VersionIdsToStages"] = item["SecretVersionsToStages"]
    secrets = sorted((secret_result(item) for item in described), key=lambda s: s["name"])
    return secrets, missing


# -- bulk (the secrets role: one module invocation for a whole list) ---------------------------
class BatchDenied(Exception):
    """BatchGetSecretValue itself is not allowed for the caller (fall back to GetSecretValue)."""


def batch_get_secret_values(client, secret_ids):
    """BatchGetSecretValue for up to any number of ids, 20 a call.

    Returns (entries, errors): ``entries`` maps each requested id to its GetSecretValue-shaped
    entry; ``errors`` maps ids to a botocore ClientError built from the per-secret error.
    Raises ``BatchDenied`` when the action itself is denied, ``SecretsManagerError`` otherwise."""
    entries, errors = {}, {}
    for start in range(0, len(secret_ids), BATCH_GET_MAX_IDS):
        chunk = secret_ids[start:start + BATCH_GET_MAX_IDS]
        try:
            response = client.batch_get_secret_value(aws_retry=True, SecretIdList=chunk)
        except botocore.exceptions.ClientError as exc:
            if is_denied(exc):
                raise BatchDenied() from exc
            raise SecretsManagerError(message="Failed to batch get secret values", exception=exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise SecretsManagerError(message="Failed to batch get secret values", exception=exc) from exc
        for entry in response.get("SecretValues", []):
            for secret_id in chunk:
                if same_secret(secret_id, entry):
                    entries[secret_id] = entry
        for err in response.get("Errors", []):
            errors[err.get("SecretId")] = botocore.exceptions.ClientError(
                {"Error": {"Code": err.get("ErrorCode"), "Message": err.get("Message", "")}}, "BatchGetSecretValue"
            )
    return entries, errors


def same_secret(requested, entry):
    """Does an entry (with Name and ARN) answer the id as requested: name, full or partial ARN?"""
    if requested in (entry.get("Name"), entry.get("ARN")):
        return True
    arn = entry.get("ARN") or ""
    return requested.startswith("arn:") and arn.startswith(requested + "-") and len(arn) == len(requested) + 7


def get_current_values(client, arns):
    """{arn: value} of AWSCURRENT for many secrets: str/bytes, None (no AWSCURRENT version) or
    UNKNOWN (scheduled for deletion).  Batched; falls back to GetSecretValue when denied."""
    values = {}
    if len(arns) > 1:
        try:
            entries, errors = batch_get_secret_values(client, arns)
        except BatchDenied:
            entries, errors = None, None
        if entries is not None:
            for arn in arns:
                if arn in entries:
                    entry = entries[arn]
                    values[arn] = entry["SecretString"] if entry.get("SecretString") is not None else entry.get("SecretBinary")
                elif arn in errors and is_deleted_error(errors[arn]):
                    values[arn] = UNKNOWN
                elif arn in errors and not is_missing(errors[arn]):
                    raise SecretsManagerError(message=f"Failed to get the value of {arn}", exception=errors[arn])
                else:
                    values[arn] = None
            return values
    for arn in arns:
        values[arn] = get_current_value(client, arn)[0]
    return values


def listed_as_described(item):
    """A ListSecrets entry in DescribeSecret's shape (what ``plan_present`` reads)."""
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


def probe_unlisted(client, names):
    """{name: DescribeSecret result} for those of ``names`` that exist although a listing did not
    show them.  ListSecrets "might not reflect changes from the last five minutes" (AWS API
    reference), so a secret created or restored moments ago can be missing from it.  One batched
    value read answers for all names (a missing secret is an error entry, not an extra call); only
    the names it finds, or cannot rule out, are described.  Falls back to DescribeSecret per name
    when BatchGetSecretValue is denied."""
    if not names:
        return {}
    try:
        entries, errors = batch_get_secret_values(client, names)
        maybe = [name for name in names if name in entries or (name in errors and not is_missing(errors[name]))]
    except BatchDenied:
        maybe = list(names)
    found = {}
    for name in maybe:
        described = describe_secret(client, name)
        if described is not None:
            found[name] = described
    return found


def reconcile_many(client, desireds, check_mode=False, kms_equal=None, randbytes=os.urandom):
    """Bring a list of secrets to their desired states with the fewest calls: one ListSecrets
    pass (100 a page, names/tags/version stages included) and batched value reads (20 a call),
    then per secret exactly the plan ``reconcile`` would make.  Returns a list of per-secret
    results (name, changed, changes, diff, secret) in input order.

    The listing decides only what needs no change.  It may lag behind recent changes by up to
    five minutes (AWS API reference), so names it lacks are probed (``probe_unlisted``), a
    secret it shows as needing a change is described again and re-planned before anything is
    reported or written, and a create that finds the name taken falls back to ``reconcile``.

    Extra reads only where a listing cannot answer: DescribeSecret for managed replicas, for
    planned changes and after a change, GetResourcePolicy for managed policies."""
    validate_many(desireds)
    if not desireds:
        return []
    prefix = os.path.commonprefix([d["name"] for d in desireds])
    filters = [{"Key": "name", "Values": [prefix]}] if prefix else []
    current = {}
    for item in list_secrets(client, filters, include_planned_deletion=True):
        current[item["Name"]] = listed_as_described(item)
    fresh = set()  # names whose state comes from DescribeSecret, not from the listing
    for name, described in probe_unlisted(client, [d["name"] for d in desireds if d["name"] not in current]).items():
        current[name] = described
        fresh.add(name)

    restored = set()
    for desired in desireds:
        name = desired["name"]
        if name not in current:
            continue
        if desired["state"] == "present" and current[name].get("DeletedDate") and not check_mode:
            if name not in fresh:  # restored moments ago, the listing may not know yet
                current[name] = describe_secret(client, current[name]["ARN"])
                fresh.add(name)
                if current[name] is None:  # deleted for good since
                    del current[name]
                    continue
            if current[name].get("DeletedDate"):
                restore_secret(client, current[name]["ARN"])
                restored.add(name)
                current[name] = describe_secret(client, current[name]["ARN"])
        elif desired["replica"] is not None and name not in fresh:
            current[name] = describe_secret(client, current[name]["ARN"])
            fresh.add(name)

    wanted = [
        current[d["name"]]["ARN"]
        for d in desireds
        if d["state"] == "present" and d["name"] in current and not current[d["name"]].get("DeletedDate")
        and (d["value"] is not None or d["generate"] or d["regenerate"])
    ]
    values = get_current_values(client, wanted) if wanted else {}
    for described in current.values():
        if described.get("DeletedDate"):
            values[described["ARN"]] = UNKNOWN  # check mode: cannot be read until restored

    def plan_for(desired, described):
        if desired["state"] == "absent":
            return plan_absent(described, desired)
        policy = None
        if described is not None and desired["resource_policy"] is not None:
            policy = get_resource_policy(client, described["ARN"])
        value = values.get(described["ARN"]) if described is not None else None
        return plan_present(described, desired, value, policy, kms_equal, randbytes,
                            staged_value=read_staged_value(client, described, desired))

    results = []
    plans = []
    for desired in desireds:
        name = desired["name"]
        plan = plan_for(desired, current.get(name))
        if plan.changed and name in current and name not in fresh:
            current[name] = describe_secret(client, current[name]["ARN"])
            fresh.add(name)
            if current[name] is None:  # deleted for good since the listing
                del current[name]
            plan = plan_for(desired, current.get(name))
        if name in restored:
            plan.changes.insert(0, "restored")
            plan.before["deleted"], plan.after["deleted"] = True, False
        plans.append(plan)
        results.append({
            "name": name,
            "changed": plan.changed or "restored" in plan.changes,
            "changes": list(plan.changes),
            "diff": plan.diff(),
            "secret": secret_result(current.get(name)),
        })
    if check_mode:
        return results
    for desired, plan, result in zip(desireds, plans, results):
        if not plan.changed:
            continue
        try:
            created_arn = apply_plan(client, plan)
        except SecretsManagerError as exc:
            if plan.steps[0][0] != "create_secret" or error_code(exc) != "ResourceExistsException":
                raise
            # Created by someone else since the probe: decide from its real state.
            result.update(reconcile(client, desired, kms_equal=kms_equal, randbytes=randbytes))
            continue
        arn = created_arn or current[desired["name"]]["ARN"]
        result["secret"] = secret_result(describe_secret(client, arn))
    return results


def secret_argument_spec():
    """Argument spec of one secret (module ``secret``; each item of ``secret_bulk``)."""
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        secret_string=dict(type="str", no_log=True, aliases=["secret"]),
        json_secret=dict(type="dict", no_log=True),
        secret_binary=dict(type="str", no_log=True),
        generate=dict(type="list", elements="str", default=[], no_log=False),
        regenerate=dict(type="list", elements="str", default=[], no_log=False),
        generate_bytes=dict(type="int", default=DEFAULT_GENERATE_BYTES),
        overwrite=dict(type="bool", default=True),
        description=dict(type="str"),
        kms_key_id=dict(type="str", no_log=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        resource_policy=dict(type="json"),
        block_public_policy=dict(type="bool"),
        replica=dict(
            type="list",
            elements="dict",
            options=dict(region=dict(type="str", required=True), kms_key_id=dict(type="str", no_log=False)),
        ),
        force_overwrite_replica_secret=dict(type="bool", default=False),
        recovery_window=dict(type="int", default=30),
        version_stages=dict(type="list", elements="str"),
    )


def run_module_work(module, secret_id, work):
    """Run a module's domain work and turn its errors into one message; ``(outcome, error)``.

    ``work(clients)`` gets ``clients(service="secretsmanager")``, which makes the module's client
    for ``service`` (with this layer's retry decorator) on first use, so parsing and validation
    done first in ``work`` fail before any client or API call exists.  Errors: InvalidOption ->
    its text (it names the option); SecretsManagerError -> explain_error() for ``secret_id``
    (None: no single secret) in the module's region and endpoint.  Never exits: the module's
    main() keeps its single exit, with ``outcome`` None when ``error`` is set."""
    made = {}

    def clients(service="secretsmanager"):
        if service not in made:
            made[service] = module.client(service, retry_decorator=retry_decorator())
        return made[service]

    try:
        return work(clients), None
    except InvalidOption as exc:
        return None, str(exc)
    except SecretsManagerError as exc:
        endpoint = made["secretsmanager"].meta.endpoint_url if "secretsmanager" in made else None
        return None, explain_error(exc, secret_id, module.region, endpoint)


# =====================================================================================
# -- versions and rotation
#    (secret_version, secret_rotation, the secret module's version_stages, the rotate and
#    rollback playbooks).  Same three kinds of functions as above, kept in this section.
# =====================================================================================
# A custom staging label on the version a rollback moved AWSCURRENT away from.  AWSPREVIOUS
# points at that version after a rollback, so without the label a second "to_previous" would
# flip AWSCURRENT straight back to the version that was just rolled back.  A label lives on one
# version at a time (AWS moves it), and a labelled version is never deprecated by AWS.
ROLLED_BACK_LABEL = "SECRETSOPS_ROLLED_BACK"
STAGE_MAX_LENGTH = 256  # UpdateSecretVersionStage VersionStage
STAGES_MAX = 20  # staging labels per version
ROTATION_DAYS_RANGE = (1, 1000)
DURATION_PATTERN = re.compile(r"\A([1-9]|1[0-9]|2[0-4])h\Z")
SCHEDULE_PATTERN = re.compile(r"\A(rate|cron)\(.+\)\Z")
LAMBDA_ARN_PATTERN = re.compile(r"\Aarn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?\Z")


# -- parse / validate (pure) --------------------------------------------------------------
def _validate_stage(stage, option):
    if not isinstance(stage, str) or not stage or len(stage) > STAGE_MAX_LENGTH:
        raise InvalidOption(option, f"a staging label is 1-{STAGE_MAX_LENGTH} characters")
    return stage


def parse_version_stages(params):
    """``version_stages`` of the secret module: None (AWS default, AWSCURRENT) or a list of
    unique staging labels.  Only meaningful when a value is written."""
    stages = params.get("version_stages")
    if stages is None:
        return None
    if not isinstance(stages, list) or not stages:
        raise InvalidOption("version_stages", "give at least one staging label, e.g. [AWSPENDING]")
    if len(stages) > STAGES_MAX:
        raise InvalidOption("version_stages", f"at most {STAGES_MAX} staging labels")
    for stage in stages:
        _validate_stage(stage, "version_stages")
    if len(set(stages)) != len(stages):
        raise InvalidOption("version_stages", "a staging label is listed twice")
    if ROLLED_BACK_LABEL in stages:
        raise InvalidOption("version_stages", f"{ROLLED_BACK_LABEL} is managed by secret_version")
    has_value = any(params.get(opt) is not None for opt in ("secret_string", "json_secret", "secret_binary"))
    if not has_value and not params.get("generate") and not params.get("regenerate"):
        raise InvalidOption("version_stages", "needs a value to write (secret_string, json_secret, secret_binary, generate or regenerate)")
    return list(stages)


def writes_staged(desired):
    """True when a new value is written under other labels than AWSCURRENT (e.g. AWSPENDING):
    it is then compared with the version holding the first of those labels, not AWSCURRENT."""
    stages = desired.get("version_stages")
    return bool(stages) and "AWSCURRENT" not in stages


def replaced_version_key(current, desired):
    """The 'replaced version' part of a new version's ClientRequestToken.  For an AWSCURRENT
    write: the AWSCURRENT version id (see ``request_token``).  For a staged write also the
    label and every labelled version, so that after a rollback the same value can be staged
    again as a new version (AWS ignores a put whose token and value match an existing version,
    and would then not attach the label)."""
    current_version = current_version_id(current)
    if not writes_staged(desired):
        return current_version
    versions = sorted((current.get("VersionIdsToStages") or {}).keys())
    return "|".join([current_version or "", desired["version_stages"][0]] + versions)


def parse_version_move(params):
    """secret_version parameters -> desired dict (name, stage, version_id, to_previous, state)."""
    desired = {
        "name": validate_name(params.get("name")),
        "stage": _validate_stage(params.get("stage") or "AWSCURRENT", "stage"),
        "version_id": params.get("version_id") or None,
        "to_previous": bool(params.get("to_previous")),
        "state": params.get("state") or "present",
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
    """secret_rotation parameters -> desired dict, or InvalidOption."""
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


# -- plan / compare (pure) ----------------------------------------------------------------
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


def _labelled(versions):
    return {vid: sorted(stages) for vid, stages in versions.items() if stages}


def plan_version_stage(secret_id, versions, desired):
    """Plan for secret_version.  ``versions``: {version_id: [stages]} of the secret (deprecated
    versions may be included with ``[]``).  Returns (plan, info) with info = {version_id: the
    version holding the stage afterwards, previous_version_id: the one holding it before}.

    Rules: moving AWSCURRENT onto the AWSPREVIOUS version is a rollback and labels the version it
    leaves ``ROLLED_BACK_LABEL``; ``to_previous`` is a no-op when AWSPREVIOUS carries that label
    (already rolled back); moving AWSCURRENT onto the labelled version (roll forward) removes it."""
    plan = Plan()
    stage = desired["stage"]
    holder = stage_holder(versions, stage)
    info = {"version_id": holder, "previous_version_id": holder}
    plan.before = {"version_ids_to_stages": _labelled(versions)}
    plan.after = copy.deepcopy(plan.before)

    if desired["state"] == "absent":
        target = desired["version_id"] or holder
        if target is None or stage not in versions.get(target, []):
            return plan, info
        plan.add("stage_removed", "update_secret_version_stage", SecretId=secret_id, VersionStage=stage, RemoveFromVersionId=target)
        after = simulate_stage_move(versions, stage, remove_from=target)
        plan.after = {"version_ids_to_stages": _labelled(after)}
        info["version_id"] = stage_holder(after, stage)
        return plan, info

    previous = stage_holder(versions, "AWSPREVIOUS")
    marked = stage_holder(versions, ROLLED_BACK_LABEL)
    if desired["to_previous"]:
        if previous is None:
            raise InvalidOption("to_previous", f"secret {desired['name']} has no AWSPREVIOUS version to roll back to")
        if previous == marked:
            return plan, info  # already rolled back: AWSPREVIOUS is the version rolled back from
        target = previous
    else:
        target = desired["version_id"]
        if target not in versions:
            raise InvalidOption("version_id", f"version {target} does not exist in secret {desired['name']}")
    if target == holder:
        return plan, info

    kwargs = {"SecretId": secret_id, "VersionStage": stage, "MoveToVersionId": target}
    if holder is not None:
        kwargs["RemoveFromVersionId"] = holder
    plan.add("stage_moved", "update_secret_version_stage", **kwargs)
    after = simulate_stage_move(versions, stage, move_to=target, remove_from=holder)
    if stage == "AWSCURRENT" and target == marked:
        plan.add("rolled_forward", "update_secret_version_stage", SecretId=secret_id, VersionStage=ROLLED_BACK_LABEL, RemoveFromVersionId=target)
        after = simulate_stage_move(after, ROLLED_BACK_LABEL, remove_from=target)
    elif stage == "AWSCURRENT" and target == previous and holder is not None:
        kwargs = {"SecretId": secret_id, "VersionStage": ROLLED_BACK_LABEL, "MoveToVersionId": holder}
        if marked is not None:
            kwargs["RemoveFromVersionId"] = marked
        plan.add("rolled_back", "update_secret_version_stage", **kwargs)
        after = simulate_stage_move(after, ROLLED_BACK_LABEL, move_to=holder, remove_from=marked)
    plan.after = {"version_ids_to_stages": _labelled(after)}
    info["version_id"] = target
    return plan, info


def rotation_rules(desired):
    """RotationRules for RotateSecret."""
    rules = {}
    if desired["schedule"]:
        rules["ScheduleExpression"] = desired["schedule"]
    else:
        rules["AutomaticallyAfterDays"] = desired["interval"]
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
    if desired["duration"] and current_rules.get("Duration") != desired["duration"]:
        return False
    return True


def _rotation_view(described):
    return {
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "rotation_lambda_arn": described.get("RotationLambdaARN"),
        "rotation_rules": _snake(described.get("RotationRules") or {}),
    }


def plan_rotation(described, desired):
    """Plan for secret_rotation: RotateSecret when the configuration differs (or rotation is
    off), CancelRotateSecret for state=absent when rotation is on.  Never rotates otherwise."""
    plan = Plan()
    if described is None:
        raise InvalidOption("name", f"secret {desired['name']} does not exist")
    secret_id = described["ARN"]
    plan.before = _rotation_view(described)
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
    plan.add(
        "rotation_configured" if not enabled else "rotation_changed",
        "rotate_secret",
        SecretId=secret_id,
        RotationLambdaARN=lambda_arn,
        RotationRules=rules,
        RotateImmediately=desired["rotate_immediately"],
    )
    plan.after = {"rotation_enabled": True, "rotation_lambda_arn": lambda_arn, "rotation_rules": _snake(rules)}
    return plan


# -- read / apply --------------------------------------------------------------------------
def read_staged_value(client, described, desired):
    """The value of the version holding the first of ``version_stages`` (None when no version
    holds it), only for staged writes of an existing secret; else None without a call."""
    if described is None or not writes_staged(desired) or desired["state"] != "present":
        return None
    if desired["value"] is None and not desired["generate"] and not desired["regenerate"]:
        return None
    return get_current_value(client, described["ARN"], desired["version_stages"][0])[0]


@SecretsManagerErrorHandler.common_error_handler("list secret versions")
def list_secret_versions(client, secret_id):
    """{version_id: [stages]} of every version, deprecated ones (no label) included."""
    versions = {}
    kwargs = {"SecretId": secret_id, "IncludeDeprecated": True, "MaxResults": 100}
    while True:
        response = client.list_secret_version_ids(aws_retry=True, **kwargs)
        for item in response.get("Versions", []):
            versions[item["VersionId"]] = list(item.get("VersionStages") or [])
        token = response.get("NextToken")
        if not token:
            return versions
        kwargs["NextToken"] = token


def move_version_stage(client, desired, check_mode=False):
    """secret_version: returns dict(changed, changes, diff, secret, version_id, previous_version_id)."""
    described = describe_secret(client, desired["name"])
    if described is None:
        raise InvalidOption("name", f"secret {desired['name']} does not exist")
    versions = dict(described.get("VersionIdsToStages") or {})
    if desired["version_id"] and desired["version_id"] not in versions:
        # DescribeSecret lists labelled versions only; a deprecated version can still take a label.
        versions = dict(list_secret_versions(client, described["ARN"]), **versions)
    plan, info = plan_version_stage(described["ARN"], versions, desired)
    result = {"changed": plan.changed, "changes": list(plan.changes), "diff": plan.diff(), "secret": secret_result(described)}
    result.update(info)
    if plan.changed and not check_mode:
        apply_plan(client, plan)
        result["secret"] = secret_result(describe_secret(client, described["ARN"]))
    return result


def configure_rotation(client, desired, check_mode=False):
    """secret_rotation: returns dict(changed, changes, diff, secret).  RotateSecret and
    CancelRotateSecret only when the plan needs them, never in check mode."""
    described = describe_secret(client, desired["name"])
    plan = plan_rotation(described, desired)
    result = {"changed": plan.changed, "changes": list(plan.changes), "diff": plan.diff(), "secret": secret_result(described)}
    if plan.changed and not check_mode:
        apply_plan(client, plan)
        result["secret"] = secret_result(describe_secret(client, described["ARN"]))
    return result
