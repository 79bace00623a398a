# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory Secrets Manager client for the unit tests of ``api``, ``reconcile`` and
``bulk`` (fixture ``fake``).

It implements only the calls the domain layer makes, with the AWS behaviour those code paths
depend on: ``ResourceNotFoundException`` / ``ResourceExistsException`` /
``InvalidRequestException`` ("marked for deletion", "already scheduled for deletion") /
``InvalidParameterException`` (a staging label not where ``RemoveFromVersionId`` says), the
AWSPREVIOUS side effect of moving AWSCURRENT, idempotent ``PutSecretValue`` for a repeated
``ClientRequestToken`` with the same data, and per-secret ``Errors`` in
``BatchGetSecretValue``.  Every client method requires ``aws_retry=True`` (what the
``AWSRetry``-decorated client of the modules accepts), so a call made without the retry
decorator fails the test.

Knobs for the tests (all per operation name, e.g. ``"put_secret_value"``):

- ``errors[op] = [exc, ...]``: the next calls raise these, one each, without any effect;
- ``before[op] = [hook, ...]``: ``hook(fake, kwargs)`` runs before the next calls, one each
  (another writer changing the secret between our read and our write);
- ``lose_answer[op] = n``: the next n calls are applied but their answer is lost, so the SDK
  resends the identical request and the caller gets the resend's answer (or error);
- ``batch_errors[secret_id] = code``: BatchGetSecretValue answers that id with a per-secret error;
- ``unlisted`` (names ListSecrets does not show yet) and ``stale_listing`` (name -> entry shown
  instead of the real one): a lagging listing.

``calls`` records every call as ``(operation, kwargs)`` (``aws_retry`` dropped); ``writes``
is the subset that are write operations (attempted, whether or not they succeeded).
"""
import copy
import datetime
import itertools
import json
import uuid

import botocore.exceptions
import pytest

REGION = "us-east-1"
ACCOUNT = "123456789012"
ENDPOINT = "https://secretsmanager.us-east-1.amazonaws.com"
DELETED_DATE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
CREATED_DATE = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc)
WRITE_OPERATIONS = frozenset((
    "create_secret", "put_secret_value", "update_secret", "restore_secret", "delete_secret",
    "tag_resource", "untag_resource", "put_resource_policy", "delete_resource_policy",
    "update_secret_version_stage", "rotate_secret", "cancel_rotate_secret",
    "replicate_secret_to_regions", "remove_regions_from_replication",
))


def client_error(code, message="", operation="GetSecretValue"):
    """The exception botocore raises for an AWS error answer."""
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


def _operation_name(operation):
    return "".join(part.capitalize() for part in operation.split("_"))


def _value_fields(kwargs):
    if kwargs.get("SecretString") is not None:
        return {"SecretString": kwargs["SecretString"]}
    if kwargs.get("SecretBinary") is not None:
        return {"SecretBinary": bytes(kwargs["SecretBinary"])}
    return None


class _Paginator:
    def __init__(self, fake, operation):
        self.fake, self.operation = fake, operation

    def paginate(self, **kwargs):
        pages = self.fake._call(self.operation, dict(kwargs, aws_retry=True), self.fake._list_pages)
        return iter(pages)


class FakeSecretsManager:
    """In-memory Secrets Manager (see the module docstring)."""

    def __init__(self):
        self.secrets = {}  # name -> record
        self.calls = []
        self.errors = {}
        self.before = {}
        self.lose_answer = {}
        self.batch_errors = {}
        self.unlisted = set()
        self.stale_listing = {}
        self.meta = type("Meta", (), {"endpoint_url": ENDPOINT, "region_name": REGION})()
        self._suffix = itertools.count(1)

    # -- helpers for the tests ------------------------------------------------------------------
    @property
    def writes(self):
        return [(op, kwargs) for op, kwargs in self.calls if op in WRITE_OPERATIONS]

    def write_ops(self):
        return [op for op, dummy in self.writes]

    def ops(self):
        return [op for op, dummy in self.calls]

    def count(self, operation):
        return self.ops().count(operation)

    def add_secret(self, name, value=None, description=None, tags=None, deleted=False, kms_key_id=None, policy=None):
        """Seed a secret (not recorded as a call); ``value``: str, bytes or dict (JSON)."""
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-x{next(self._suffix):05d}"
        self.secrets[name] = {
            "ARN": arn, "Name": name, "Description": description, "KmsKeyId": kms_key_id,
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            "DeletedDate": DELETED_DATE if deleted else None, "versions": {}, "policy": policy,
            "RotationEnabled": False, "RotationLambdaARN": None, "RotationRules": None,
        }
        if value is not None:
            self.add_version(name, value, ["AWSCURRENT"])
        return arn

    def add_version(self, name, value, stages, version_id=None):
        """Seed a version holding ``stages`` (moved off other versions, AWS-style)."""
        if isinstance(value, dict):
            value = json.dumps(value)
        fields = {"SecretBinary": value} if isinstance(value, bytes) else {"SecretString": value}
        return self._new_version(self.secrets[name], version_id or str(uuid.uuid4()), fields, stages)

    def stages(self, name):
        """{version_id: sorted stages} of the labelled versions."""
        return {vid: sorted(v["stages"]) for vid, v in self.secrets[name]["versions"].items() if v["stages"]}

    def holder(self, name, stage="AWSCURRENT"):
        return self._holder(self.secrets[name], stage)

    def value(self, name, stage="AWSCURRENT"):
        """The raw value (str or bytes) of the version holding ``stage``."""
        fields = self.secrets[name]["versions"][self.holder(name, stage)]["value"]
        return fields.get("SecretString", fields.get("SecretBinary"))

    def move_label(self, name, stage, to_version):
        """Another writer moves a label (AWS semantics, not recorded as our call)."""
        record = self.secrets[name]
        self._move_stage(record, stage, to_version, self._holder(record, stage))

    # -- machinery ------------------------------------------------------------------------------
    def _call(self, operation, kwargs, impl):
        assert kwargs.pop("aws_retry", None) is True, f"{operation} was called without aws_retry=True"
        self.calls.append((operation, copy.deepcopy(kwargs)))
        hooks = self.before.get(operation)
        if hooks:
            hooks.pop(0)(self, kwargs)
        queued = self.errors.get(operation)
        if queued:
            raise queued.pop(0)
        if self.lose_answer.get(operation):
            self.lose_answer[operation] -= 1
            impl(**kwargs)  # applied; the answer never arrives, so the SDK sends it again
            self.calls.append((operation, copy.deepcopy(kwargs)))
        return impl(**kwargs)

    def _find(self, secret_id, operation):
        for record in self.secrets.values():
            arn = record["ARN"]
            partial = secret_id.startswith("arn:") and arn.startswith(secret_id + "-") and len(arn) == len(secret_id) + 7
            if secret_id in (record["Name"], arn) or partial:
                return record
        raise client_error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.", _operation_name(operation))

    def _live(self, secret_id, operation):
        record = self._find(secret_id, operation)
        if record["DeletedDate"]:
            raise client_error("InvalidRequestException", "You can't perform this operation on the secret because it was "
                               "marked for deletion.", _operation_name(operation))
        return record

    @staticmethod
    def _holder(record, stage):
        for vid, version in record["versions"].items():
            if stage in version["stages"]:
                return vid
        return None

    def _move_stage(self, record, stage, move_to, remove_from):
        versions = record["versions"]
        if remove_from is not None:
            versions[remove_from]["stages"].remove(stage)
        if move_to is not None and stage not in versions[move_to]["stages"]:
            versions[move_to]["stages"].append(stage)
        if stage == "AWSCURRENT" and remove_from is not None:
            for version in versions.values():
                if "AWSPREVIOUS" in version["stages"]:
                    version["stages"].remove("AWSPREVIOUS")
            versions[remove_from]["stages"].append("AWSPREVIOUS")

    def _new_version(self, record, version_id, fields, stages):
        record["versions"][version_id] = {"value": fields, "stages": []}
        for stage in stages:
            self._move_stage(record, stage, version_id, self._holder(record, stage))
        return version_id

    def _described(self, record):
        out = {"ARN": record["ARN"], "Name": record["Name"], "CreatedDate": CREATED_DATE,
               "VersionIdsToStages": self.stages(record["Name"]), "RotationEnabled": record["RotationEnabled"]}
        for key in ("Description", "KmsKeyId", "DeletedDate", "RotationLambdaARN", "RotationRules"):
            if record[key] is not None:
                out[key] = copy.deepcopy(record[key])
        if record["Tags"]:
            out["Tags"] = copy.deepcopy(record["Tags"])
        return out

    def _value_entry(self, secret_id, version_id=None, version_stage=None, operation="get_secret_value"):
        record = self._live(secret_id, operation)
        stage = version_stage or (None if version_id else "AWSCURRENT")
        vid = version_id or self._holder(record, stage)
        version = record["versions"].get(vid)
        if version is None or (stage and stage not in version["stages"]):
            raise client_error("ResourceNotFoundException", f"Secrets Manager can't find the specified secret value for "
                               f"staging label: {stage}", _operation_name(operation))
        return dict({"ARN": record["ARN"], "Name": record["Name"], "VersionId": vid, "VersionStages": list(version["stages"]),
                     "CreatedDate": CREATED_DATE}, **copy.deepcopy(version["value"]))

    # -- reads ------------------------------------------------------------------------------------
    def describe_secret(self, **kwargs):
        return self._call("describe_secret", kwargs, lambda SecretId: self._described(self._find(SecretId, "describe_secret")))

    def get_secret_value(self, **kwargs):
        def impl(SecretId, VersionId=None, VersionStage=None):
            return self._value_entry(SecretId, VersionId, VersionStage)
        return self._call("get_secret_value", kwargs, impl)

    def batch_get_secret_value(self, **kwargs):
        def impl(SecretIdList):
            assert len(SecretIdList) <= 20, "BatchGetSecretValue takes at most 20 ids"
            out = {"SecretValues": [], "Errors": []}
            for secret_id in SecretIdList:
                if secret_id in self.batch_errors:
                    out["Errors"].append({"SecretId": secret_id, "ErrorCode": self.batch_errors[secret_id], "Message": "refused"})
                    continue
                try:
                    out["SecretValues"].append(self._value_entry(secret_id, operation="batch_get_secret_value"))
                except botocore.exceptions.ClientError as exc:
                    out["Errors"].append({"SecretId": secret_id, "ErrorCode": exc.response["Error"]["Code"],
                                          "Message": exc.response["Error"]["Message"]})
            return out
        return self._call("batch_get_secret_value", kwargs, impl)

    def get_paginator(self, operation):
        assert operation == "list_secrets", operation
        return _Paginator(self, operation)

    def _list_pages(self, Filters=(), MaxResults=100, IncludePlannedDeletion=False):
        def matches(record):
            tags = {t["Key"]: t["Value"] for t in record["Tags"]}
            for item in Filters:
                values = item["Values"]
                if item["Key"] == "name" and not any(record["Name"].lower().startswith(v.lower()) for v in values):
                    return False
                if item["Key"] == "tag-key" and not any(k.startswith(v) for k in tags for v in values):
                    return False
                if item["Key"] == "tag-value" and not any(t.startswith(v) for t in tags.values() for v in values):
                    return False
            return True

        listed = []
        for name, record in sorted(self.secrets.items()):
            if name in self.unlisted or not matches(record):
                continue
            if record["DeletedDate"] and not IncludePlannedDeletion:
                continue
            entry = self._described(record)
            entry["SecretVersionsToStages"] = entry.pop("VersionIdsToStages")
            listed.append(copy.deepcopy(self.stale_listing.get(name, entry)))
        return [{"SecretList": listed[i:i + MaxResults]} for i in range(0, len(listed), MaxResults)] or [{"SecretList": []}]

    def list_secret_version_ids(self, **kwargs):
        def impl(SecretId, IncludeDeprecated=False, MaxResults=100, NextToken=None):
            record = self._find(SecretId, "list_secret_version_ids")
            items = [{"VersionId": vid, "VersionStages": list(v["stages"])} for vid, v in record["versions"].items()
                     if IncludeDeprecated or v["stages"]]
            start = int(NextToken or 0)
            out = {"ARN": record["ARN"], "Versions": items[start:start + MaxResults]}
            if start + MaxResults < len(items):
                out["NextToken"] = str(start + MaxResults)
            return out
        return self._call("list_secret_version_ids", kwargs, impl)

    def get_resource_policy(self, **kwargs):
        def impl(SecretId):
            record = self._find(SecretId, "get_resource_policy")
            out = {"ARN": record["ARN"], "Name": record["Name"]}
            if record["policy"]:
                out["ResourcePolicy"] = record["policy"]
            return out
        return self._call("get_resource_policy", kwargs, impl)

    # -- writes -----------------------------------------------------------------------------------
    def create_secret(self, **kwargs):
        def impl(Name, ClientRequestToken=None, Description=None, KmsKeyId=None, Tags=None, SecretString=None,
                 SecretBinary=None, AddReplicaRegions=None, ForceOverwriteReplicaSecret=None):
            if Name in self.secrets:
                if self.secrets[Name]["DeletedDate"]:
                    raise client_error("InvalidRequestException", "You can't create this secret because a secret with "
                                       "this name is already scheduled for deletion.", "CreateSecret")
                raise client_error("ResourceExistsException", f"The operation failed because the secret {Name} already exists.",
                                   "CreateSecret")
            self.add_secret(Name, description=Description, kms_key_id=KmsKeyId,
                            tags={t["Key"]: t["Value"] for t in Tags or []})
            record = self.secrets[Name]
            out = {"ARN": record["ARN"], "Name": Name}
            fields = _value_fields({"SecretString": SecretString, "SecretBinary": SecretBinary})
            if fields is not None:
                out["VersionId"] = self._new_version(record, ClientRequestToken or str(uuid.uuid4()), fields, ["AWSCURRENT"])
            return out
        return self._call("create_secret", kwargs, impl)

    def put_secret_value(self, **kwargs):
        def impl(SecretId, ClientRequestToken=None, SecretString=None, SecretBinary=None, VersionStages=None):
            record = self._live(SecretId, "put_secret_value")
            fields = _value_fields({"SecretString": SecretString, "SecretBinary": SecretBinary})
            token = ClientRequestToken or str(uuid.uuid4())
            if token in record["versions"]:
                if record["versions"][token]["value"] != fields:
                    raise client_error("ResourceExistsException", "You can't modify an existing version, you can only "
                                       "create a new version.", "PutSecretValue")
            else:  # a repeated token with the same data succeeds and does nothing
                self._new_version(record, token, fields, VersionStages or ["AWSCURRENT"])
            return {"ARN": record["ARN"], "Name": record["Name"], "VersionId": token,
                    "VersionStages": list(record["versions"][token]["stages"])}
        return self._call("put_secret_value", kwargs, impl)

    def update_secret(self, **kwargs):
        def impl(SecretId, Description=None, KmsKeyId=None):
            record = self._live(SecretId, "update_secret")
            record["Description"] = record["Description"] if Description is None else Description
            record["KmsKeyId"] = record["KmsKeyId"] if KmsKeyId is None else KmsKeyId
            return {"ARN": record["ARN"], "Name": record["Name"]}
        return self._call("update_secret", kwargs, impl)

    def tag_resource(self, **kwargs):
        def impl(SecretId, Tags):
            record = self._find(SecretId, "tag_resource")
            tags = {t["Key"]: t["Value"] for t in record["Tags"]}
            tags.update({t["Key"]: t["Value"] for t in Tags})
            record["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return self._call("tag_resource", kwargs, impl)

    def untag_resource(self, **kwargs):
        def impl(SecretId, TagKeys):
            record = self._find(SecretId, "untag_resource")
            record["Tags"] = [t for t in record["Tags"] if t["Key"] not in TagKeys]
        return self._call("untag_resource", kwargs, impl)

    def put_resource_policy(self, **kwargs):
        def impl(SecretId, ResourcePolicy, BlockPublicPolicy=None):
            self._find(SecretId, "put_resource_policy")["policy"] = ResourcePolicy
        return self._call("put_resource_policy", kwargs, impl)

    def delete_resource_policy(self, **kwargs):
        def impl(SecretId):
            self._find(SecretId, "delete_resource_policy")["policy"] = None
        return self._call("delete_resource_policy", kwargs, impl)

    def restore_secret(self, **kwargs):
        def impl(SecretId):
            record = self._find(SecretId, "restore_secret")
            record["DeletedDate"] = None
            return {"ARN": record["ARN"], "Name": record["Name"]}
        return self._call("restore_secret", kwargs, impl)

    def delete_secret(self, **kwargs):
        def impl(SecretId, RecoveryWindowInDays=None, ForceDeleteWithoutRecovery=False):
            record = self._find(SecretId, "delete_secret")
            if ForceDeleteWithoutRecovery:
                del self.secrets[record["Name"]]
            elif record["DeletedDate"]:
                raise client_error("InvalidRequestException", "You can't perform this operation on the secret because it "
                                   "was already scheduled for deletion.", "DeleteSecret")
            else:
                record["DeletedDate"] = DELETED_DATE
            return {"ARN": record["ARN"], "Name": record["Name"], "DeletionDate": DELETED_DATE}
        return self._call("delete_secret", kwargs, impl)

    def update_secret_version_stage(self, **kwargs):
        def impl(SecretId, VersionStage, MoveToVersionId=None, RemoveFromVersionId=None):
            record = self._live(SecretId, "update_secret_version_stage")
            for vid in (MoveToVersionId, RemoveFromVersionId):
                if vid is not None and vid not in record["versions"]:
                    raise client_error("InvalidParameterException", f"Not a valid version: {vid}", "UpdateSecretVersionStage")
            holder = self._holder(record, VersionStage)
            if RemoveFromVersionId is not None and holder != RemoveFromVersionId:
                raise client_error("InvalidParameterException", f"The staging label {VersionStage} is not attached to version "
                                   f"{RemoveFromVersionId}.", "UpdateSecretVersionStage")
            if MoveToVersionId is not None and holder not in (None, MoveToVersionId, RemoveFromVersionId):
                raise client_error("InvalidParameterException", f"The staging label {VersionStage} is attached to version "
                                   f"{holder}; give RemoveFromVersionId.", "UpdateSecretVersionStage")
            self._move_stage(record, VersionStage, MoveToVersionId, RemoveFromVersionId)
            return {"ARN": record["ARN"], "Name": record["Name"]}
        return self._call("update_secret_version_stage", kwargs, impl)

    def rotate_secret(self, **kwargs):
        def impl(SecretId, RotationLambdaARN=None, RotationRules=None, RotateImmediately=True):
            record = self._live(SecretId, "rotate_secret")
            record.update(RotationEnabled=True, RotationLambdaARN=RotationLambdaARN, RotationRules=copy.deepcopy(RotationRules))
            return {"ARN": record["ARN"], "Name": record["Name"]}
        return self._call("rotate_secret", kwargs, impl)

    def cancel_rotate_secret(self, **kwargs):
        def impl(SecretId):
            self._live(SecretId, "cancel_rotate_secret")["RotationEnabled"] = False
        return self._call("cancel_rotate_secret", kwargs, impl)


@pytest.fixture
def fake():
    """A fresh, empty ``FakeSecretsManager``."""
    return FakeSecretsManager()
