# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Every AWS call of the domain layer, and nothing else: thin functions over a boto3 client
made with ``retry_decorator()`` (throttling and transient errors are retried by amazon.aws
``AWSRetry``).  Each is wrapped by ``SecretsManagerErrorHandler`` (amazon.aws error-handler
pattern) and raises ``SecretsManagerError``; none exits.  The modules and the lookup read
through these functions.  API reference:
https://docs.aws.amazon.com/secretsmanager/latest/apireference/
"""

import json
import time

try:
    import botocore
except ImportError:
    pass  # The modules and the lookup report a missing SDK themselves.

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import MISSING_CODES
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_deleted_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_denied
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_missing
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_name_scheduled_for_deletion
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue

BATCH_GET_MAX_IDS = 20  # BatchGetSecretValue accepts at most 20 SecretIdList entries
LIST_PAGE_SIZE = 100  # ListSecrets / ListSecretVersionIds MaxResults


class SecretsManagerErrorHandler(AWSErrorHandler):
    """amazon.aws error handler for Secrets Manager: ``ResourceNotFoundException`` is "missing"."""

    _CUSTOM_EXCEPTION = SecretsManagerError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(MISSING_CODES))


class BatchDenied(Exception):
    """BatchGetSecretValue itself is not allowed for the caller (fall back to GetSecretValue)."""


def retry_decorator():
    """Retries throttling and the transient errors amazon.aws knows (jittered backoff, up to
    10 attempts, at most 10 s apart)."""
    return AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=10)


# -- reads ------------------------------------------------------------------------------------
@SecretsManagerErrorHandler.list_error_handler("describe secret")
def describe_secret(client, secret_id):
    """DescribeSecret response, or None when the secret does not exist."""
    return client.describe_secret(aws_retry=True, SecretId=secret_id)


@SecretsManagerErrorHandler.common_error_handler("get secret value")
def get_secret_value(client, secret_id, version_stage=None, version_id=None):
    """GetSecretValue response (``SecretString``/``SecretBinary``, ``VersionId``...).  Raises
    SecretsManagerError, also when the secret, stage or version is missing."""
    kwargs = {"SecretId": secret_id}
    if version_id:
        kwargs["VersionId"] = version_id
    if version_stage:
        kwargs["VersionStage"] = version_stage
    return client.get_secret_value(aws_retry=True, **kwargs)


def read_value(client, secret_id, version_stage="AWSCURRENT"):
    """(SecretValue | None | UNKNOWN, version id): None when no version carries the stage,
    UNKNOWN when the secret is scheduled for deletion and cannot be read."""
    try:
        response = get_secret_value(client, secret_id, version_stage)
    except SecretsManagerError as exc:
        if is_deleted_error(exc):
            return UNKNOWN, None
        if is_missing(exc):
            return None, None
        raise
    return SecretValue.from_response(response), response.get("VersionId")


@SecretsManagerErrorHandler.list_error_handler("get resource policy")
def get_resource_policy(client, secret_id):
    """The resource policy as a dict, or None."""
    text = client.get_resource_policy(aws_retry=True, SecretId=secret_id).get("ResourcePolicy")
    return json.loads(text) if text else None


@SecretsManagerErrorHandler.common_error_handler("list secrets")
def list_secrets(client, filters, include_planned_deletion=False):
    """Every ListSecrets entry for ``filters`` (paginated, 100 a page): names, tags and
    SecretVersionsToStages.  On AWS the listing may lag behind changes by minutes."""
    kwargs = {"Filters": filters, "MaxResults": LIST_PAGE_SIZE}
    if include_planned_deletion:
        kwargs["IncludePlannedDeletion"] = True
    out = []
    for page in client.get_paginator("list_secrets").paginate(**kwargs):
        out.extend(page.get("SecretList", []))
    return out


@SecretsManagerErrorHandler.common_error_handler("list secret versions")
def list_version_entries(client, secret_id):
    """Every ListSecretVersionIds entry (VersionId, VersionStages, CreatedDate, ...), deprecated
    versions (no label) included, all pages."""
    entries = []
    kwargs = {"SecretId": secret_id, "IncludeDeprecated": True, "MaxResults": LIST_PAGE_SIZE}
    while True:
        response = client.list_secret_version_ids(aws_retry=True, **kwargs)
        entries.extend(response.get("Versions", []))
        if not response.get("NextToken"):
            return entries
        kwargs["NextToken"] = response["NextToken"]


def list_secret_versions(client, secret_id):
    """{version_id: [stages]} of every version, deprecated ones (no label) included."""
    return {item["VersionId"]: list(item.get("VersionStages") or []) for item in list_version_entries(client, secret_id)}


def same_secret(requested, entry):
    """Does an entry (with Name and ARN) answer the id as requested: name, full or partial ARN?"""
    if requested in (entry.get("Name"), entry.get("ARN")):
        return True
    arn = entry.get("ARN") or ""
    return requested.startswith("arn:") and arn.startswith(requested + "-") and len(arn) == len(requested) + 7


def batch_get_secret_values(client, secret_ids):
    """BatchGetSecretValue for any number of ids, 20 a call.

    Returns (entries, errors): ``entries`` maps each requested id to its GetSecretValue-shaped
    entry; ``errors`` maps ids to a botocore ClientError built from the per-secret error.
    Raises ``BatchDenied`` when the action itself is denied, ``SecretsManagerError`` when a
    whole call fails otherwise (callers then read one secret at a time)."""
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
            entries.update({secret_id: entry for secret_id in chunk if same_secret(secret_id, entry)})
        for err in response.get("Errors", []):
            errors[err.get("SecretId")] = botocore.exceptions.ClientError(
                {"Error": {"Code": err.get("ErrorCode"), "Message": err.get("Message", "")}}, "BatchGetSecretValue"
            )
    return entries, errors


def kms_key_resolver(kms_client):
    """kms_equal(a, b) for ``plan_present``: two key references (id, ARN, alias name or alias
    ARN) are equal when KMS DescribeKey resolves them to the same key ARN.  Memoised per
    resolver; a key that cannot be described compares by text."""
    cache = {}

    def resolve(ref):
        if ref not in cache:
            try:
                cache[ref] = kms_client.describe_key(aws_retry=True, KeyId=ref)["KeyMetadata"]["Arn"]
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
                cache[ref] = ref
        return cache[ref]

    return lambda a, b: a == b or resolve(a) == resolve(b)


# -- writes -------------------------------------------------------------------------------------
@SecretsManagerErrorHandler.common_error_handler("update secret")
def apply_steps(client, steps, sleep=time.sleep, create_wait=60):
    """Run a plan's steps ``[(operation, kwargs)]`` in order.  Returns the ARN of a created
    secret, else None.  CreateSecret right after a force delete: AWS refuses the name for a
    short while ("already scheduled for deletion"); retried for up to ``create_wait`` seconds."""
    created_arn = None
    for operation, kwargs in steps:
        waited = 0
        while True:
            try:
                response = getattr(client, operation)(aws_retry=True, **kwargs)
                break
            except botocore.exceptions.ClientError as exc:
                if operation != "create_secret" or not is_name_scheduled_for_deletion(exc) or waited >= create_wait:
                    raise
                sleep(5)
                waited += 5
        if operation == "create_secret":
            created_arn = response.get("ARN")
    return created_arn


@SecretsManagerErrorHandler.common_error_handler("restore secret")
def restore_secret(client, secret_id):
    client.restore_secret(aws_retry=True, SecretId=secret_id)
