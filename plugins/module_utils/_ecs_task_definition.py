# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""ECS task definitions, registered only when something changed and never twice.

Why not community.aws.ecs_taskdefinition: it compares only containers, volumes, task role and
launch type (execution role, cpu, memory and changed list items of equal length are ignored),
and its RegisterTaskDefinition is retried by botocore, so an answer lost after AWS applied the
call registers an identical second revision; two pipelines at once register two as well.

Here: compare (pure) the desired definition with the family's latest ACTIVE revision, as data,
only on the fields the caller gives (AWS adds defaults); register with botocore retries off, and
after an error read the latest revision again and register only if it still differs; after a
registration, an identical lower revision registered meanwhile by another run wins and ours is
deregistered, so concurrent runs converge on one revision.
"""

import time

try:
    import botocore
except ImportError:
    pass  # The module reports a missing SDK itself.

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

MANAGED_FIELDS = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory", "requiresCompatibilities")
NAMED_LISTS = ("environment", "secrets")  # lists of {name: ...}: order does not matter to ECS
RETRYABLE_CODES = ("ThrottlingException", "Throttling", "ServerException", "InternalFailure", "ServiceUnavailable",
                   "RequestLimitExceeded", "TooManyRequestsException", "500", "502", "503", "504")


class TaskDefinitionError(AnsibleAWSError):
    pass


class TaskDefinitionErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = TaskDefinitionError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ClientException")


# -- pure -------------------------------------------------------------------------------------
def normalise(definition):
    """The comparable view of a task definition (request or DescribeTaskDefinition shape):
    managed fields only, '' roles as None, cpu/memory as text, named lists sorted by name."""
    out = {}
    for field in MANAGED_FIELDS:
        value = definition.get(field)
        if field in ("cpu", "memory") and value is not None:
            value = str(value)
        if field == "requiresCompatibilities":
            value = sorted(value or [])
        out[field] = value or None
    out["containerDefinitions"] = [_sorted_lists(container) for container in definition.get("containerDefinitions") or []]
    return out


def _sorted_lists(container):
    container = dict(container)
    for key in NAMED_LISTS:
        if key in container:
            container[key] = sorted(container[key] or [], key=lambda item: item.get("name", ""))
    return container


def covers(current, desired):
    """Does ``current`` hold everything ``desired`` says?  Dicts: every desired key, recursively
    (AWS adds defaults such as hostPort or cpu 0); lists: same length, item by item."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(covers(current.get(key), value) for key, value in desired.items()
                                                 if value is not None or key in current)
    if isinstance(desired, list):
        return isinstance(current, list) and len(current) == len(desired) and all(covers(c, d) for c, d in zip(current, desired))
    return current == desired or (desired in ("", None) and current in ("", None))


def same_definition(current, desired):
    """True when the revision ``current`` (DescribeTaskDefinition) already is ``desired``."""
    if current is None:
        return False
    now, want = normalise(current), normalise(desired)
    fields_equal = all(now[field] == want[field] for field in MANAGED_FIELDS if field != "requiresCompatibilities")
    compatible = set(want["requiresCompatibilities"] or []) <= set(now["requiresCompatibilities"] or [])
    return fields_equal and compatible and covers(now["containerDefinitions"], want["containerDefinitions"])


# -- AWS ----------------------------------------------------------------------------------------
@TaskDefinitionErrorHandler.list_error_handler("describe task definition")
def latest_revision(client, family):
    """The family's latest ACTIVE revision (DescribeTaskDefinition; or the revision an ARN
    names), or None."""
    return client.describe_task_definition(taskDefinition=family)["taskDefinition"]


@TaskDefinitionErrorHandler.common_error_handler("list task definitions")
def active_revisions_since(client, family, revision):
    """ARNs of the family's ACTIVE revisions newer than ``revision``, oldest first."""
    arns = []
    for page in client.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE", sort="ASC"):
        arns.extend(arn for arn in page["taskDefinitionArns"]
                    if arn.split(":")[-2].endswith("/" + family) and int(arn.rsplit(":", 1)[1]) > revision)
    return arns


@TaskDefinitionErrorHandler.common_error_handler("deregister task definition")
def deregister(client, arn):
    client.deregister_task_definition(taskDefinition=arn)


def _retryable(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return error.get("Code") in RETRYABLE_CODES or status in RETRYABLE_CODES
    return isinstance(exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError))


def _register_once(register_client, desired):
    """RegisterTaskDefinition, one attempt: (definition, None) or (None, retryable error)."""
    try:
        return register_client.register_task_definition(**desired)["taskDefinition"], None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        if not _retryable(exc):
            raise TaskDefinitionError(message="Failed to register the task definition", exception=exc) from exc
        return None, exc


def _keep_lowest(client, desired, registered, before):
    """After our registration: an identical revision between ``before`` and ours, registered by
    another run, wins; ours is deregistered.  Returns the revision to use."""
    for arn in active_revisions_since(client, desired["family"], before):
        if arn == registered["taskDefinitionArn"]:
            return registered
        other = latest_revision(client, arn)
        if same_definition(other, desired):
            deregister(client, registered["taskDefinitionArn"])
            return other
    return registered


def ensure_registered(client, register_client, desired, check_mode=False, attempts=5, sleep=time.sleep):
    """(changed, revision): the family's latest revision when it already is ``desired``, else a
    newly registered one (None in check mode).  ``register_client``: the same service without
    botocore retries, so that a lost answer comes back here and is decided by a fresh read."""
    registered_before = False
    for attempt in range(attempts):
        current = latest_revision(client, desired["family"])
        if same_definition(current, desired):
            return registered_before, current
        if check_mode:
            return True, None
        before = current["revision"] if current else 0
        registered, error = _register_once(register_client, desired)
        if registered is not None:
            return True, _keep_lowest(client, desired, registered, before)
        registered_before = True  # it may have been applied: the next read decides
        sleep(min(2 ** attempt, 10))
    raise TaskDefinitionError(message=f"Failed to register the task definition after {attempts} attempts", exception=error)
