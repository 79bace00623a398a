# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Names, values, masking, request tokens and the result shape.  Pure: no AWS, no botocore.

A secret value travels in one form, ``SecretValue``, from parsing (module options) or reading
(GetSecretValue) through planning to the API call: its text or bytes are produced and its JSON
parsed once, at construction.

Limits are AWS Secrets Manager quotas:
https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
"""

import base64
import copy
import hashlib
import hmac
import json
import os
import re
import uuid

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption

NAME_MAX_LENGTH = 512  # CreateSecret Name
NAME_PATTERN = re.compile(r"\A[A-Za-z0-9/_+=.@-]+\Z")
VALUE_MAX_BYTES = 65536  # SecretString / SecretBinary
DEFAULT_GENERATE_BYTES = 48
ARN_FIELDS = 7  # arn:partition:secretsmanager:region:account:secret:name-suffix
MASK = "********"
CHANGED_MASK = "******** (changed)"
TOKEN_ITERATIONS = 20000


class _Unknown:
    """The current value could not be read (the secret is scheduled for deletion)."""

    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()


# -- names ------------------------------------------------------------------------------
def is_arn(secret_id):
    return secret_id.startswith("arn:") and secret_id.count(":") >= ARN_FIELDS - 1


def validate_name(name, option="name"):
    """A secret name or ARN, else ``InvalidOption``.  Names: 1-512 characters of
    ``[A-Za-z0-9/_+=.@-]`` (CreateSecret); ARNs: exactly 7 ``:``-fields."""
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


def path_matches(name, path):
    """Path-boundary aware prefix match: ``prod/shop`` matches ``prod/shop/x``, not
    ``prod/shop-old/x``."""
    return name.startswith(path.rstrip("/") + "/")


# -- values -----------------------------------------------------------------------------
def serialize_json(data):
    """Compact JSON text, as written to SecretString."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def json_equal(a, b):
    """JSON data equality that keeps JSON's types apart (Python says ``True == 1``): the
    canonical texts (sorted keys, compact) are compared."""
    return json.dumps(a, sort_keys=True, separators=(",", ":")) == json.dumps(b, sort_keys=True, separators=(",", ":"))


def generate_value(nbytes=DEFAULT_GENERATE_BYTES, randbytes=os.urandom):
    """A new random value: ``nbytes`` random bytes as base64 text (48 bytes -> 64 chars)."""
    return base64.b64encode(randbytes(nbytes)).decode("ascii")


class SecretValue:
    """A secret value: ``raw`` is the str sent as SecretString or the bytes sent as
    SecretBinary; ``json`` is the parsed dict when the text is a JSON object, else None.
    Immutable by convention; never printed (``repr`` is masked)."""

    __slots__ = ("raw", "json")

    def __init__(self, raw, json_data=None):
        self.raw = raw
        self.json = json_data

    @classmethod
    def from_text(cls, text):
        """SecretString as given: the user's formatting is kept, a JSON object is parsed."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        return cls(text, data if isinstance(data, dict) else None)

    @classmethod
    def from_json(cls, data):
        return cls(serialize_json(data), copy.deepcopy(data))

    @classmethod
    def from_binary(cls, data):
        return cls(bytes(data))

    @classmethod
    def from_response(cls, entry):
        """A GetSecretValue / BatchGetSecretValue entry, or None when it holds no value."""
        if entry.get("SecretString") is not None:
            return cls.from_text(entry["SecretString"])
        if entry.get("SecretBinary") is not None:
            return cls.from_binary(entry["SecretBinary"])
        return None

    @property
    def is_binary(self):
        return isinstance(self.raw, bytes)

    @property
    def size(self):
        """Bytes AWS counts against the 65,536-byte limit (UTF-8 for text)."""
        return len(self.raw) if self.is_binary else len(self.raw.encode("utf-8"))

    def as_bytes(self):
        return self.raw if self.is_binary else self.raw.encode("utf-8")

    def api_kwargs(self):
        """``{"SecretString": ...}`` or ``{"SecretBinary": ...}`` for CreateSecret/PutSecretValue."""
        return {"SecretBinary" if self.is_binary else "SecretString": self.raw}

    def same_as(self, other):
        """Compared as data: JSON objects in any key order or spacing are equal; binary only
        equals binary with the same bytes."""
        if other is None or other is UNKNOWN or self.is_binary != other.is_binary:
            return False
        if self.raw == other.raw:
            return True
        return self.json is not None and other.json is not None and json_equal(self.json, other.json)

    def check_size(self, option):
        if self.size > VALUE_MAX_BYTES:
            raise InvalidOption(option, f"the value is {self.size} bytes; AWS Secrets Manager allows at most {VALUE_MAX_BYTES}")
        return self

    def __repr__(self):
        return "SecretValue(********)"


# -- masking ------------------------------------------------------------------------------
def mask_value(value):
    """Masked view of a SecretValue for diffs: a JSON object keeps its key names."""
    if value is None or value is UNKNOWN:
        return None
    if value.json is not None:
        return {key: MASK for key in value.json}
    return MASK


def masked_value_diff(before, after):
    """(before, after) masked views that still show which JSON keys were added, removed or
    changed: a changed key reads "******** (changed)", a replaced plain value likewise."""
    before = None if before is UNKNOWN else before
    if before is not None and before.json is not None and after.json is not None:
        masked_after = {key: CHANGED_MASK if key in before.json and not json_equal(before.json[key], data) else MASK
                        for key, data in after.json.items()}
        return mask_value(before), masked_after
    masked_after = mask_value(after)
    if before is not None and not isinstance(masked_after, dict):
        masked_after = CHANGED_MASK
    return mask_value(before), masked_after


# -- request tokens -------------------------------------------------------------------------
def request_token(secret_id, replaced_key, replaced_value, value):
    """ClientRequestToken (returned by AWS as the VersionId) for writing ``value`` over the
    version identified by ``replaced_key`` whose value is ``replaced_value``.

    Retried or concurrent identical writes get the same token, so AWS makes one version; going
    back to an earlier value (another replaced version) gets a new one.  The derivation is keyed
    with the replaced value, which a reader with metadata permissions only (DescribeSecret,
    ListSecretVersionIds) cannot read, so a VersionId does not let such a reader test guesses of
    a value.  With nothing to replace (a new secret, no readable AWSCURRENT) the token is random:
    a creation race resolves through ResourceExistsException instead.  Returns a UUID string
    (AWS: 32-64 characters).  See docs/reliability.md for the residual cases."""
    if replaced_value is None or replaced_value is UNKNOWN:
        return str(uuid.uuid4())
    key = hmac.new(replaced_value.as_bytes(), value.as_bytes(), hashlib.sha256).digest()
    salt = b"\0".join((b"secretsops", secret_id.encode("utf-8"), (replaced_key or "").encode("utf-8")))
    digest = hashlib.pbkdf2_hmac("sha256", key, salt, TOKEN_ITERATIONS)
    return str(uuid.UUID(bytes=digest[:16], version=4))


# -- the result shape -------------------------------------------------------------------------
def current_version_id(described):
    """VersionId holding AWSCURRENT in a DescribeSecret response, or None."""
    for version_id, stages in (described.get("VersionIdsToStages") or {}).items():
        if "AWSCURRENT" in stages:
            return version_id
    return None


def secret_result(described):
    """DescribeSecret (or ListSecrets) entry -> the documented ``secret`` return value:
    snake_case, tags as a dict, ``version_id`` = AWSCURRENT, dates in ISO 8601.  Never a value."""
    if not described:
        return {}
    return {
        "arn": described.get("ARN"),
        "name": described.get("Name"),
        "description": described.get("Description", ""),
        "kms_key_id": described.get("KmsKeyId"),
        "tags": boto3_tag_list_to_ansible_dict(described.get("Tags") or []),
        "version_id": current_version_id(described),
        "version_ids_to_stages": described.get("VersionIdsToStages") or {},
        "rotation_enabled": bool(described.get("RotationEnabled")),
        "rotation_lambda_arn": described.get("RotationLambdaARN"),
        "rotation_rules": snake_dict(described.get("RotationRules") or {}),
        "primary_region": described.get("PrimaryRegion"),
        "replication_status": [snake_dict(item) for item in described.get("ReplicationStatus") or []],
        "deleted_date": iso(described.get("DeletedDate")),
        "created_date": iso(described.get("CreatedDate")),
        "last_changed_date": iso(described.get("LastChangedDate")),
        "last_accessed_date": iso(described.get("LastAccessedDate")),
        "last_rotated_date": iso(described.get("LastRotatedDate")),
        "next_rotation_date": iso(described.get("NextRotationDate")),
    }


def version_result(entry):
    """A ListSecretVersionIds entry -> {version_id, version_stages, created_date, last_accessed_date}."""
    return {
        "version_id": entry.get("VersionId"),
        "version_stages": sorted(entry.get("VersionStages") or []),
        "created_date": iso(entry.get("CreatedDate")),
        "last_accessed_date": iso(entry.get("LastAccessedDate")),
    }


def snake_dict(data):
    """One level of CamelCase keys -> snake_case, datetimes -> ISO 8601."""
    return {re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower(): iso(value) for key, value in data.items()}


def iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
