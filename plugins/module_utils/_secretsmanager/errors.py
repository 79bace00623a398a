# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection (the package name starts with an
# underscore); it may change without notice.  Use the modules and the lookup instead.

"""Errors of the domain layer: what went wrong, classified, and worded for users.  Pure: no
botocore import; an AWS error is recognised by the attributes botocore puts on it.

- ``InvalidOption``: bad user input, raised before any API call; names the option.
- ``Conflict``: someone else changed the secret between our read and our write (a staging
  label moved); reported, never overwritten.
- ``SecretsManagerError``: an AWS error (botocore's exception in ``.exception``).
- ``explain_error``: the message a user can act on (which permission, which name/region).

Messages never contain a secret value: AWS error messages carry ids, not values, and our own
messages name options, keys and version ids only.
"""

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError

# "The caller's IAM policy does not allow this".  moto with IAM enforcement answers a bare
# HTTP 403 whose code botocore reports as "403".
DENIED_CODES = ("AccessDeniedException", "AccessDenied", "403", "UnauthorizedOperation")
MISSING_CODES = ("ResourceNotFoundException",)
TIMEOUT_EXCEPTIONS = ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError")


class InvalidOption(ValueError):
    """Bad user input, detected before any API call.  ``str()`` is ``"<option>: <message>"``
    and never contains a secret value."""

    def __init__(self, option, message):
        self.option = option
        self.detail = message
        super().__init__(f"{option}: {message}")

    def within(self, prefix):
        """The same error for an option nested under ``prefix`` (e.g. ``secrets[2]``)."""
        return InvalidOption(f"{prefix}.{self.option}", self.detail)


class Conflict(Exception):
    """Another change got there first (compare-and-swap lost): e.g. AWSCURRENT is no longer on
    the version this run read.  Nothing was overwritten; the message names the versions."""


class SecretsManagerError(AnsibleAWSError):
    """An AWS error, carrying the botocore exception in ``.exception``."""


def _inner(exc):
    return getattr(exc, "exception", None) or exc


def error_code(exc):
    """The AWS error code of a botocore/AnsibleAWSError exception (HTTP status when the body
    had none), or the exception's class name (``EndpointConnectionError``...)."""
    inner = _inner(exc)
    response = getattr(inner, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return type(inner).__name__


def is_denied(exc):
    return error_code(exc) in DENIED_CODES


def is_missing(exc):
    return error_code(exc) in MISSING_CODES


def is_deleted_error(exc):
    """Reading a secret scheduled for deletion: AWS answers InvalidRequestException "... marked
    for deletion" (moto 5.2: "marked deleted")."""
    text = str(_inner(exc)).lower()
    return error_code(exc) == "InvalidRequestException" and ("deletion" in text or "marked deleted" in text)


def is_name_scheduled_for_deletion(exc):
    """CreateSecret right after a force delete: the name is "already scheduled for deletion"."""
    return error_code(exc) == "InvalidRequestException" and "scheduled for deletion" in str(_inner(exc))


def explain_error(exc, secret_id=None, region=None, endpoint=None):
    """A message a user can act on, in the words of the guide's troubleshooting section:
    denied -> which action on which secret the IAM policy must allow; missing -> name, region
    and endpoint to check; timeout -> the VPC endpoint / NAT hint; else AWS's own words."""
    inner = _inner(exc)
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


def explain_missing_version(secret_id, stage, version_id, versions):
    """A stage or version id that the (existing) secret does not have, with what it has.
    ``versions``: {version_id: [stages]}."""
    wanted = f"version {version_id}" if version_id else f"version labelled {stage}"
    if version_id and stage:
        wanted = f"version {version_id} labelled {stage}"
    held = ", ".join(f"{stage_} on {vid}" for vid, stages in sorted(versions.items()) for stage_ in sorted(stages or [])) or "none"
    return f"Secret {secret_id} exists but has no {wanted}. Its staging labels: {held}."
