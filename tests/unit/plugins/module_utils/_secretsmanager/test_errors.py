# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/errors.py``: classification of AWS errors by the attributes
botocore puts on them (no botocore needed), and the messages users get."""
import botocore.exceptions
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import error_code
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import explain_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import explain_missing_version
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_deleted_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_denied
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_missing
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_name_scheduled_for_deletion

AWS_DELETED = "You can't perform this operation on the secret because it was marked for deletion."
MOTO_DELETED = "You tried to perform the operation on a secret that's currently marked deleted."
NAME_SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."


class FakeClientError(Exception):
    """Looks like botocore's ClientError (``response``, ``operation_name``) without botocore."""

    def __init__(self, code, message, operation="GetSecretValue"):
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}
        self.operation_name = operation


# -- InvalidOption / Conflict -------------------------------------------------------------------
def test_invalid_option_text_starts_with_the_option():
    exc = InvalidOption("recovery_window", "3 is out of range")
    assert str(exc) == "recovery_window: 3 is out of range"
    assert exc.option == "recovery_window" and exc.detail == "3 is out of range"
    assert isinstance(exc, ValueError)


def test_invalid_option_within_names_the_nested_option():
    nested = InvalidOption("json_secret", "must be a dictionary").within("secrets[2]")
    assert nested.option == "secrets[2].json_secret"
    assert str(nested) == "secrets[2].json_secret: must be a dictionary"


def test_conflict_is_not_an_aws_error():
    assert not issubclass(Conflict, SecretsManagerError)
    assert not issubclass(Conflict, InvalidOption)


# -- classification ------------------------------------------------------------------------------
@pytest.mark.parametrize("code, denied, missing", [
    ("AccessDeniedException", True, False),
    ("AccessDenied", True, False),
    ("UnauthorizedOperation", True, False),
    ("403", True, False),
    ("ResourceNotFoundException", False, True),
    ("InvalidRequestException", False, False),
    ("ThrottlingException", False, False),
])
def test_error_classification(code, denied, missing):
    exc = FakeClientError(code, "x")
    assert is_denied(exc) is denied
    assert is_missing(exc) is missing


def test_error_code_reads_the_wrapped_botocore_exception():
    inner = botocore.exceptions.ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "m"}}, "DescribeSecret")
    wrapped = SecretsManagerError(message="Failed to describe secret", exception=inner)
    assert error_code(inner) == error_code(wrapped) == "ResourceNotFoundException"
    assert is_missing(wrapped)


def test_error_code_falls_back_to_the_http_status():
    # moto with IAM enforcement answers a bare HTTP 403 without an error code
    exc = botocore.exceptions.ClientError({"Error": {}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetSecretValue")
    assert error_code(exc) == "403"
    assert is_denied(exc)


def test_error_code_of_a_connection_error_is_its_class_name():
    exc = botocore.exceptions.EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com")
    assert error_code(exc) == "EndpointConnectionError"
    assert error_code(SecretsManagerError(message="m", exception=exc)) == "EndpointConnectionError"


@pytest.mark.parametrize("message, deleted", [
    (AWS_DELETED, True),
    (MOTO_DELETED, True),
    ("You provided a parameter value that is not valid for the current state of the resource.", False),
])
def test_deleted_error_wording(message, deleted):
    assert is_deleted_error(FakeClientError("InvalidRequestException", message)) is deleted


def test_deleted_error_needs_the_invalid_request_code():
    assert not is_deleted_error(FakeClientError("ResourceNotFoundException", AWS_DELETED))


def test_name_scheduled_for_deletion():
    assert is_name_scheduled_for_deletion(FakeClientError("InvalidRequestException", NAME_SCHEDULED, "CreateSecret"))
    assert not is_name_scheduled_for_deletion(FakeClientError("InvalidRequestException", AWS_DELETED, "CreateSecret"))
    assert not is_name_scheduled_for_deletion(FakeClientError("ResourceExistsException", NAME_SCHEDULED, "CreateSecret"))


# -- messages --------------------------------------------------------------------------------------
def test_explain_missing_names_secret_region_endpoint():
    message = explain_error(FakeClientError("ResourceNotFoundException", "not found"), "prod/shop/x", "eu-west-1",
                            "http://127.0.0.1:1")
    assert "prod/shop/x" in message and "eu-west-1" in message and "http://127.0.0.1:1" in message


def test_explain_denied_names_operation_and_permission():
    message = explain_error(FakeClientError("AccessDeniedException", "no"), "prod/shop/x", "eu-west-1")
    assert "GetSecretValue" in message and "prod/shop/x" in message
    assert "secretsmanager:GetSecretValue" in message and "kms:Decrypt" in message


def test_explain_timeout_gives_the_vpc_endpoint_hint():
    exc = botocore.exceptions.ConnectTimeoutError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com")
    message = explain_error(SecretsManagerError(message="Failed", exception=exc), "prod/shop/x", "eu-west-1")
    assert "VPC interface endpoint" in message and "NAT" in message and "eu-west-1" in message


def test_explain_other_error_keeps_aws_words_and_our_message():
    inner = FakeClientError("LimitExceededException", "too many versions", "PutSecretValue")
    message = explain_error(SecretsManagerError(message="Failed to update secret", exception=inner), "prod/shop/x")
    assert message.startswith("Failed to update secret: PutSecretValue on prod/shop/x failed (region unknown)")
    assert "too many versions" in message


def test_explain_without_secret_or_operation():
    message = explain_error(ValueError("boom"))
    assert "the Secrets Manager API failed" in message and "boom" in message


@pytest.mark.parametrize("stage, version_id, wanted", [
    ("AWSPENDING", None, "version labelled AWSPENDING"),
    (None, "v9", "has no version v9."),
    ("AWSPENDING", "v9", "no version v9 labelled AWSPENDING"),
])
def test_explain_missing_version_lists_the_labels(stage, version_id, wanted):
    message = explain_missing_version("prod/shop/jwt", stage, version_id, {"v2": ["AWSPREVIOUS"], "v1": ["AWSCURRENT", "BLUE"]})
    assert wanted in message
    assert message.endswith("Its staging labels: AWSCURRENT on v1, BLUE on v1, AWSPREVIOUS on v2.")


def test_explain_missing_version_without_labels():
    assert explain_missing_version("s", "X", None, {"v1": []}).endswith("Its staging labels: none.")
