# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""IAM reads and role writes for the modules iam_managed_policy_info and iam_service_role.

Why not amazon.aws / community.aws (checked with amazon.aws 10.1.2 / 11.4.0, community.aws
10.0.0 / 11.2.0):

- No module reads a managed policy's document or the entities it is attached to:
  amazon.aws.iam_managed_policy only writes, iam_policy_info reads inline policies only, and
  iam_role_info lists a role's attached policy names, never a document.
- amazon.aws.iam_role prints a deprecation warning on every call (the return value
  ``assume_role_policy_document_raw``, unconditionally), another one unless the deprecated
  option ``delete_instance_profile`` is given, and creates an EC2 instance profile unless the
  deprecated option ``create_instance_profile: false`` is given, an option due to be removed
  (then the call would fail).

Three kinds of functions, as in the domain package: pure (``plan_role``, ``normalise_*``), AWS
calls (each under ``IamErrorHandler``, raising ``IamError``, never exiting), and the flows
``ensure_role`` / ``ensure_role_absent`` / ``describe_managed_policy`` (read, plan, apply).
"""

import json
from urllib.parse import unquote

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags


class IamError(AnsibleAWSError):
    pass


class IamErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = IamError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("NoSuchEntity")


# -- pure -------------------------------------------------------------------------------------
def policy_document(document):
    """A policy document as data: IAM returns it URL-encoded JSON text in some SDK paths."""
    if document is None or isinstance(document, dict):
        return document
    text = unquote(document)
    return json.loads(text)


def normalise_role(role, attached):
    """The documented ``iam_role`` return shape from GetRole and the attached policies."""
    if not role:
        return {}
    return {
        "arn": role.get("Arn"),
        "role_name": role.get("RoleName"),
        "role_id": role.get("RoleId"),
        "path": role.get("Path"),
        "description": role.get("Description", ""),
        "create_date": str(role["CreateDate"]) if role.get("CreateDate") else None,
        "max_session_duration": role.get("MaxSessionDuration"),
        "assume_role_policy_document": policy_document(role.get("AssumeRolePolicyDocument")),
        "tags": boto3_tag_list_to_ansible_dict(role.get("Tags", [])),
        "attached_policies": [{"policy_arn": p["PolicyArn"], "policy_name": p["PolicyName"]} for p in attached],
    }


def normalise_policy(policy, document):
    """The documented ``policy`` return value of iam_managed_policy and (with the attachments)
    iam_managed_policy_info: GetPolicy/CreatePolicy shape -> snake_case."""
    if not policy:
        return {}
    return {
        "arn": policy["Arn"],
        "policy_name": policy["PolicyName"],
        "policy_id": policy.get("PolicyId"),
        "path": policy.get("Path"),
        "description": policy.get("Description", ""),
        "default_version_id": policy.get("DefaultVersionId"),
        "attachment_count": policy.get("AttachmentCount"),
        "is_attachable": policy.get("IsAttachable"),
        "create_date": str(policy["CreateDate"]) if policy.get("CreateDate") else None,
        "update_date": str(policy["UpdateDate"]) if policy.get("UpdateDate") else None,
        "tags": boto3_tag_list_to_ansible_dict(policy.get("Tags") or []),
        "document": document,
    }


def plan_role(current, attached_arns, desired):
    """(current role or None, ARNs attached now, desired) -> list of (step, argument).

    ``desired`` keys: trust_policy (dict or None = untouched), description (None = untouched),
    managed_policies (list of ARNs or None = untouched), purge_policies, tags (dict or None =
    untouched), purge_tags. Steps: create, update_trust, update_description, tag, untag, attach,
    detach. Pure."""
    steps = []
    if current is None:
        steps.append(("create", None))
    else:
        trust = desired.get("trust_policy")
        if trust is not None and compare_policies(policy_document(current.get("AssumeRolePolicyDocument")) or {}, trust):
            steps.append(("update_trust", trust))
        description = desired.get("description")
        if description is not None and description != current.get("Description", ""):
            steps.append(("update_description", description))
        tags = desired.get("tags")
        if tags is not None:
            to_set, to_unset = compare_aws_tags(
                boto3_tag_list_to_ansible_dict(current.get("Tags", [])), tags, desired.get("purge_tags", True))
            if to_unset:
                steps.append(("untag", sorted(to_unset)))
            if to_set:
                steps.append(("tag", to_set))
    wanted = desired.get("managed_policies")
    if wanted is not None:
        have = set(attached_arns) if current is not None else set()
        for arn in sorted(set(wanted) - have):
            steps.append(("attach", arn))
        if desired.get("purge_policies") and current is not None:
            for arn in sorted(have - set(wanted)):
                steps.append(("detach", arn))
    return steps


def role_diff(current, attached_arns, desired):
    """before/after of what the module manages (no secret in IAM metadata)."""
    before = {}
    if current is not None:
        before = {
            "assume_role_policy_document": policy_document(current.get("AssumeRolePolicyDocument")),
            "description": current.get("Description", ""),
            "tags": boto3_tag_list_to_ansible_dict(current.get("Tags", [])),
            "managed_policies": sorted(attached_arns),
        }
    after = dict(before)
    if desired.get("trust_policy") is not None:
        after["assume_role_policy_document"] = desired["trust_policy"]
    if desired.get("description") is not None:
        after["description"] = desired["description"]
    if desired.get("tags") is not None:
        tags = dict(before.get("tags", {}))
        to_set, to_unset = compare_aws_tags(tags, desired["tags"], desired.get("purge_tags", True))
        for key in to_unset:
            tags.pop(key, None)
        tags.update(to_set)
        after["tags"] = tags
    if desired.get("managed_policies") is not None:
        have = set(before.get("managed_policies", []))
        wanted = set(desired["managed_policies"])
        after["managed_policies"] = sorted(wanted if desired.get("purge_policies") else have | wanted)
    return {"before": before, "after": after}


# -- AWS calls --------------------------------------------------------------------------------
@AWSRetry.jittered_backoff()
def paginate(client, operation, **params):
    """Every page of a list call as one result (the whole listing is retried on throttling)."""
    return client.get_paginator(operation).paginate(**params).build_full_result()


def ignore_missing(call, **params):
    """A removal whose target is already gone (removed meanwhile, or by a lost earlier answer) is done."""
    try:
        call(aws_retry=True, **params)
    except is_boto3_error_code("NoSuchEntity"):
        pass


@IamErrorHandler.list_error_handler("get role", None)
def get_role(client, name):
    return client.get_role(RoleName=name, aws_retry=True)["Role"]


@IamErrorHandler.list_error_handler("list the role's attached policies", [])
def list_attached_role_policies(client, name):
    return paginate(client, "list_attached_role_policies", RoleName=name)["AttachedPolicies"]


@IamErrorHandler.list_error_handler("list the role's inline policies", [])
def list_role_policies(client, name):
    return paginate(client, "list_role_policies", RoleName=name)["PolicyNames"]


@IamErrorHandler.list_error_handler("list the role's instance profiles", [])
def list_instance_profiles_for_role(client, name):
    return paginate(client, "list_instance_profiles_for_role", RoleName=name)["InstanceProfiles"]


@IamErrorHandler.common_error_handler("create role")
def create_role(client, name, desired):
    params = {"RoleName": name, "AssumeRolePolicyDocument": json.dumps(desired["trust_policy"])}
    if desired.get("description"):
        params["Description"] = desired["description"]
    if desired.get("tags"):
        params["Tags"] = ansible_dict_to_boto3_tag_list(desired["tags"])
    try:
        client.create_role(aws_retry=True, **params)
    except is_boto3_error_code("EntityAlreadyExists"):
        return False  # a create whose answer was lost, or another run: converge by update
    return True


@IamErrorHandler.common_error_handler("wait for the role to exist")
def wait_role_exists(client, name):
    client.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


@IamErrorHandler.common_error_handler("update the role")
def apply_role_step(client, name, step, argument):
    if step == "update_trust":
        client.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(argument), aws_retry=True)
    elif step == "update_description":
        client.update_role(RoleName=name, Description=argument, aws_retry=True)
    elif step == "tag":
        client.tag_role(RoleName=name, Tags=ansible_dict_to_boto3_tag_list(argument), aws_retry=True)
    elif step == "untag":
        client.untag_role(RoleName=name, TagKeys=argument, aws_retry=True)
    elif step == "attach":
        client.attach_role_policy(RoleName=name, PolicyArn=argument, aws_retry=True)
    elif step == "detach":
        ignore_missing(client.detach_role_policy, RoleName=name, PolicyArn=argument)
    else:  # pragma: no cover - plan_role makes only the steps above
        raise ValueError(step)


@IamErrorHandler.deletion_error_handler("delete the role")
def delete_role_and_links(client, name, attached, inline, profiles):
    for profile in profiles:
        ignore_missing(client.remove_role_from_instance_profile,
                       InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
    for policy in attached:
        ignore_missing(client.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in inline:
        ignore_missing(client.delete_role_policy, RoleName=name, PolicyName=policy_name)
    client.delete_role(RoleName=name, aws_retry=True)
    return True


@IamErrorHandler.list_error_handler("get the managed policy", None)
def get_policy(client, arn):
    return client.get_policy(PolicyArn=arn, aws_retry=True)["Policy"]


@IamErrorHandler.common_error_handler("get the managed policy's default version")
def get_policy_version(client, arn, version_id):
    return client.get_policy_version(PolicyArn=arn, VersionId=version_id, aws_retry=True)["PolicyVersion"]


@IamErrorHandler.common_error_handler("list the entities the managed policy is attached to")
def list_entities_for_policy(client, arn):
    return paginate(client, "list_entities_for_policy", PolicyArn=arn)


@IamErrorHandler.common_error_handler("list the customer managed policies")
def find_local_policy_arn(client, name):
    for policy in paginate(client, "list_policies", Scope="Local")["Policies"]:
        if policy["PolicyName"] == name:
            return policy["Arn"]
    return None


# -- flows ------------------------------------------------------------------------------------
def read_role(client, name):
    """(role or None, attached policies)."""
    role = get_role(client, name)
    attached = list_attached_role_policies(client, name) if role is not None else []
    return role, attached


def ensure_role(client, name, desired, check_mode=False, wait=True):
    """Create or update the role; never creates an instance profile. Returns (changed, role, attached, diff)."""
    role, attached = read_role(client, name)
    if role is None and desired.get("trust_policy") is None:
        raise IamError(message=f"IAM role {name} does not exist; assume_role_policy_document is needed to create it")
    diff = role_diff(role, [p["PolicyArn"] for p in attached], desired)
    steps = plan_role(role, [p["PolicyArn"] for p in attached], desired)
    if not steps or check_mode:
        return bool(steps), role, attached, diff
    if steps[0][0] == "create":
        created = create_role(client, name, desired)
        if wait:
            wait_role_exists(client, name)
        if not created:  # it existed after all: plan again from what is there
            role, attached = read_role(client, name)
            steps = plan_role(role, [p["PolicyArn"] for p in attached], desired)
        else:
            steps = steps[1:]
    for step, argument in steps:
        apply_role_step(client, name, step, argument)
    role, attached = read_role(client, name)
    return True, role, attached, diff


def ensure_role_absent(client, name, check_mode=False):
    """Delete the role after removing it from its instance profiles (the profiles stay),
    detaching its managed policies and deleting its inline policies. Returns (changed, diff)."""
    role, attached = read_role(client, name)
    if role is None:
        return False, {"before": {}, "after": {}}
    diff = {"before": role_diff(role, [p["PolicyArn"] for p in attached], {})["before"], "after": {}}
    if check_mode:
        return True, diff
    inline = list_role_policies(client, name)
    profiles = list_instance_profiles_for_role(client, name)
    delete_role_and_links(client, name, attached, inline, profiles)
    return True, diff


def describe_managed_policy(client, arn=None, name=None):
    """The managed policy (metadata, default version's document, attachments), or None."""
    if arn is None:
        arn = find_local_policy_arn(client, name)
        if arn is None:
            return None
    policy = get_policy(client, arn)
    if policy is None:
        return None
    version = get_policy_version(client, arn, policy["DefaultVersionId"])
    entities = list_entities_for_policy(client, arn)
    return dict(
        normalise_policy(policy, policy_document(version.get("Document"))),
        roles=[role["RoleName"] for role in entities.get("PolicyRoles", [])],
        users=[user["UserName"] for user in entities.get("PolicyUsers", [])],
        groups=[group["GroupName"] for group in entities.get("PolicyGroups", [])],
    )
