# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/api.py`` with the in-memory fake client of conftest.py
(fixture ``fake``, which also checks that every call passes ``aws_retry=True``)."""
import botocore.exceptions
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import api
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import error_code
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import UNKNOWN

VALUE = "test-value-1"
SCHEDULED = "You can't create this secret because a secret with this name is already scheduled for deletion."


def client_error(code, message="", operation="GetSecretValue"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)


# -- reads ------------------------------------------------------------------------------------------
def test_describe_secret(fake):
    arn = fake.add_secret("prod/a", VALUE, description="d")
    described = api.describe_secret(fake, "prod/a")
    assert described["ARN"] == arn and described["Description"] == "d"
    assert api.describe_secret(fake, arn)["Name"] == "prod/a"
    assert api.describe_secret(fake, arn[:-7])["Name"] == "prod/a"  # partial ARN


def test_describe_missing_secret_is_none(fake):
    assert api.describe_secret(fake, "prod/missing") is None


def test_describe_other_error_raises(fake):
    fake.errors["describe_secret"] = [client_error("AccessDeniedException", "no", "DescribeSecret")]
    with pytest.raises(SecretsManagerError) as err:
        api.describe_secret(fake, "prod/a")
    assert error_code(err.value) == "AccessDeniedException"


def test_get_secret_value_passes_stage_and_version(fake):
    fake.add_secret("prod/a", VALUE)
    pending = fake.add_version("prod/a", "pending", ["AWSPENDING"])
    assert api.get_secret_value(fake, "prod/a")["SecretString"] == VALUE
    assert api.get_secret_value(fake, "prod/a", "AWSPENDING")["VersionId"] == pending
    assert api.get_secret_value(fake, "prod/a", version_id=pending)["SecretString"] == "pending"
    assert fake.calls[-1] == ("get_secret_value", {"SecretId": "prod/a", "VersionId": pending})


def test_get_secret_value_missing_raises(fake):
    with pytest.raises(SecretsManagerError) as err:
        api.get_secret_value(fake, "prod/missing")
    assert error_code(err.value) == "ResourceNotFoundException"


def test_read_value(fake):
    fake.add_secret("prod/a", '{"k": 1}')
    value, version_id = api.read_value(fake, "prod/a")
    assert value.json == {"k": 1} and version_id == fake.holder("prod/a")


def test_read_value_binary(fake):
    fake.add_secret("prod/a", b"\x00\x01")
    assert api.read_value(fake, "prod/a")[0].raw == b"\x00\x01"


def test_read_value_of_a_secret_scheduled_for_deletion_is_unknown(fake):
    fake.add_secret("prod/a", VALUE, deleted=True)
    assert api.read_value(fake, "prod/a") == (UNKNOWN, None)


def test_read_value_without_the_stage_is_none(fake):
    fake.add_secret("prod/a")  # no version at all
    assert api.read_value(fake, "prod/a") == (None, None)
    fake.add_secret("prod/b", VALUE)
    assert api.read_value(fake, "prod/b", "AWSPENDING") == (None, None)


def test_read_value_denied_raises(fake):
    fake.add_secret("prod/a", VALUE)
    fake.errors["get_secret_value"] = [client_error("AccessDeniedException", "no")]
    with pytest.raises(SecretsManagerError):
        api.read_value(fake, "prod/a")


def test_get_resource_policy(fake):
    fake.add_secret("prod/a", policy='{"Version": "2012-10-17"}')
    fake.add_secret("prod/b")
    assert api.get_resource_policy(fake, "prod/a") == {"Version": "2012-10-17"}
    assert api.get_resource_policy(fake, "prod/b") is None
    assert api.get_resource_policy(fake, "prod/missing") is None


def test_list_secrets_paginates(fake):
    for index in range(150):
        fake.add_secret(f"prod/s{index:03d}")
    fake.add_secret("dev/x")
    listed = api.list_secrets(fake, [{"Key": "name", "Values": ["prod/"]}])
    assert [item["Name"] for item in listed] == [f"prod/s{index:03d}" for index in range(150)]
    assert fake.calls == [("list_secrets", {"Filters": [{"Key": "name", "Values": ["prod/"]}], "MaxResults": 100})]


def test_list_secrets_includes_planned_deletion_only_when_asked(fake):
    fake.add_secret("prod/gone", deleted=True)
    assert api.list_secrets(fake, []) == []
    assert [item["Name"] for item in api.list_secrets(fake, [], include_planned_deletion=True)] == ["prod/gone"]
    assert fake.calls[-1][1]["IncludePlannedDeletion"] is True


def test_list_secret_versions_follows_next_token(fake):
    fake.add_secret("prod/a", "v")
    for index in range(120):
        fake.add_version("prod/a", f"value-{index}", [], version_id=f"old-{index:03d}")
    versions = api.list_secret_versions(fake, "prod/a")
    assert len(versions) == 121 and versions["old-000"] == []
    assert fake.count("list_secret_version_ids") == 2
    assert fake.calls[0][1] == {"SecretId": "prod/a", "IncludeDeprecated": True, "MaxResults": 100}
    assert fake.calls[1][1]["NextToken"] == "100"


@pytest.mark.parametrize("requested, entry, same", [
    ("prod/a", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, True),
    ("arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, True),
    ("arn:aws:secretsmanager:r:1:secret:prod/a", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, True),
    ("arn:aws:secretsmanager:r:1:secret:prod", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, False),
    ("prod/b", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, False),
    ("prod", {"Name": "prod/a", "ARN": "arn:aws:secretsmanager:r:1:secret:prod/a-AbCdEf"}, False),
])
def test_same_secret(requested, entry, same):
    assert api.same_secret(requested, entry) is same


# -- batch reads -----------------------------------------------------------------------------------------
def test_batch_get_secret_values_chunks_of_20(fake):
    names = [f"prod/s{index:02d}" for index in range(45)]
    for name in names:
        fake.add_secret(name, VALUE)
    entries, errors = api.batch_get_secret_values(fake, names)
    assert sorted(entries) == names and errors == {}
    assert [len(kwargs["SecretIdList"]) for op, kwargs in fake.calls] == [20, 20, 5]


def test_batch_get_secret_values_maps_requested_ids(fake):
    arn = fake.add_secret("prod/a", VALUE)
    fake.add_secret("prod/b", "other")
    entries, errors = api.batch_get_secret_values(fake, [arn, "prod/b"])
    assert entries[arn]["Name"] == "prod/a" and entries["prod/b"]["SecretString"] == "other"


def test_batch_get_secret_values_per_secret_errors(fake):
    fake.add_secret("prod/a", VALUE)
    fake.add_secret("prod/gone", VALUE, deleted=True)
    entries, errors = api.batch_get_secret_values(fake, ["prod/a", "prod/missing", "prod/gone"])
    assert list(entries) == ["prod/a"]
    assert isinstance(errors["prod/missing"], botocore.exceptions.ClientError)
    assert error_code(errors["prod/missing"]) == "ResourceNotFoundException"
    assert error_code(errors["prod/gone"]) == "InvalidRequestException"


@pytest.mark.parametrize("code", ["AccessDeniedException", "403"])
def test_batch_denied(fake, code):
    fake.errors["batch_get_secret_value"] = [client_error(code, "no", "BatchGetSecretValue")]
    with pytest.raises(api.BatchDenied):
        api.batch_get_secret_values(fake, ["prod/a", "prod/b"])


@pytest.mark.parametrize("exc", [
    client_error("ResourceNotFoundException", "a listed secret has no value", "BatchGetSecretValue"),
    botocore.exceptions.EndpointConnectionError(endpoint_url="https://x"),
])
def test_batch_whole_call_failure(fake, exc):
    fake.errors["batch_get_secret_value"] = [exc]
    with pytest.raises(SecretsManagerError):
        api.batch_get_secret_values(fake, ["prod/a", "prod/b"])


def test_batch_of_nothing_makes_no_call(fake):
    assert api.batch_get_secret_values(fake, []) == ({}, {})
    assert fake.calls == []


# -- kms_key_resolver ------------------------------------------------------------------------------------------
class FakeKms:
    KEYS = {"alias/app": "arn:aws:kms:us-east-1:123456789012:key/1", "1": "arn:aws:kms:us-east-1:123456789012:key/1",
            "alias/other": "arn:aws:kms:us-east-1:123456789012:key/2"}

    def __init__(self):
        self.calls = []

    def describe_key(self, aws_retry, KeyId):
        assert aws_retry is True
        self.calls.append(KeyId)
        if KeyId not in self.KEYS:
            raise client_error("NotFoundException", "no such key", "DescribeKey")
        return {"KeyMetadata": {"Arn": self.KEYS[KeyId]}}


def test_kms_key_resolver_resolves_and_memoises():
    kms = FakeKms()
    kms_equal = api.kms_key_resolver(kms)
    assert kms_equal("alias/app", "1")
    assert not kms_equal("alias/app", "alias/other")
    assert kms_equal("alias/app", "1")
    assert sorted(kms.calls) == ["1", "alias/app", "alias/other"]


def test_kms_key_resolver_equal_text_needs_no_call():
    kms = FakeKms()
    assert api.kms_key_resolver(kms)("alias/x", "alias/x") and kms.calls == []


def test_kms_key_resolver_unknown_key_compares_by_text():
    kms_equal = api.kms_key_resolver(FakeKms())
    assert not kms_equal("alias/unknown", "alias/app")


# -- apply_steps ------------------------------------------------------------------------------------------------
def test_apply_steps_in_order_returns_the_created_arn(fake):
    steps = [("create_secret", {"Name": "prod/a", "SecretString": VALUE}),
             ("tag_resource", {"SecretId": "prod/a", "Tags": [{"Key": "A", "Value": "1"}]})]
    arn = api.apply_steps(fake, steps)
    assert arn == fake.secrets["prod/a"]["ARN"]
    assert fake.ops() == ["create_secret", "tag_resource"]
    assert fake.secrets["prod/a"]["Tags"] == [{"Key": "A", "Value": "1"}]


def test_apply_steps_without_create_returns_none(fake):
    fake.add_secret("prod/a", VALUE)
    assert api.apply_steps(fake, [("update_secret", {"SecretId": "prod/a", "Description": "d"})]) is None
    assert api.apply_steps(fake, []) is None


def test_apply_steps_stops_at_the_first_error(fake):
    fake.add_secret("prod/a", VALUE)
    fake.errors["update_secret"] = [client_error("AccessDeniedException", "no", "UpdateSecret")]
    with pytest.raises(SecretsManagerError) as err:
        api.apply_steps(fake, [("update_secret", {"SecretId": "prod/a", "Description": "d"}),
                               ("tag_resource", {"SecretId": "prod/a", "Tags": []})])
    assert error_code(err.value) == "AccessDeniedException"
    assert fake.ops() == ["update_secret"]


def test_create_right_after_force_delete_is_retried(fake):
    fake.errors["create_secret"] = [client_error("InvalidRequestException", SCHEDULED, "CreateSecret")] * 2
    slept = []
    arn = api.apply_steps(fake, [("create_secret", {"Name": "prod/a"})], sleep=slept.append)
    assert arn == fake.secrets["prod/a"]["ARN"]
    assert slept == [5, 5] and fake.count("create_secret") == 3


def test_create_retry_gives_up_after_create_wait(fake):
    fake.errors["create_secret"] = [client_error("InvalidRequestException", SCHEDULED, "CreateSecret")] * 10
    slept = []
    with pytest.raises(SecretsManagerError) as err:
        api.apply_steps(fake, [("create_secret", {"Name": "prod/a"})], sleep=slept.append, create_wait=10)
    assert error_code(err.value) == "InvalidRequestException"
    assert slept == [5, 5] and fake.count("create_secret") == 3


def test_only_create_is_retried(fake):
    fake.add_secret("prod/a", VALUE)
    fake.errors["update_secret"] = [client_error("InvalidRequestException", SCHEDULED, "UpdateSecret")]
    slept = []
    with pytest.raises(SecretsManagerError):
        api.apply_steps(fake, [("update_secret", {"SecretId": "prod/a", "Description": "d"})], sleep=slept.append)
    assert slept == []


def test_create_other_invalid_request_is_not_retried(fake):
    fake.errors["create_secret"] = [client_error("InvalidRequestException", "something else", "CreateSecret")]
    slept = []
    with pytest.raises(SecretsManagerError):
        api.apply_steps(fake, [("create_secret", {"Name": "prod/a"})], sleep=slept.append)
    assert slept == []


def test_restore_secret(fake):
    fake.add_secret("prod/a", VALUE, deleted=True)
    api.restore_secret(fake, "prod/a")
    assert fake.secrets["prod/a"]["DeletedDate"] is None
    with pytest.raises(SecretsManagerError):
        api.restore_secret(fake, "prod/missing")


def test_retry_decorator_is_a_decorator():
    decorator = api.retry_decorator()
    assert callable(decorator) and callable(decorator(lambda: None))
