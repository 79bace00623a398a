# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""Customer managed IAM policy writes for the module iam_managed_policy, addressed by ARN.

Why not amazon.aws.iam_managed_policy (amazon.aws 10.1.2 and 11.x): it finds the policy by name
with an unscoped ``ListPolicies`` walk over every policy the account can see, AWS managed ones
included (~1,400 on AWS: 15+ pages of 100 on every run, whatever the policy), because
``GetPolicy`` needs an ARN. The ARN of a customer managed policy is known from the account id,
path and name (``arn:PARTITION:iam::ACCOUNT:policy/PATH/NAME``), so here the policy is read with
one ``GetPolicy`` call.

Pure functions (``policy_arn``, ``normalise_path``, ``plan_policy``, ``policy_diff``) are unit
tested without AWS (the return shape, ``normalise_policy``, is _iam.py's); the AWS calls raise
``IamError``; the flows ``ensure_policy`` / ``ensure_policy_absent`` read, plan and apply.
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.secretsops.aws.plugins.module_utils._iam import IamError
from ansible_collections.secretsops.aws.plugins.module_utils._iam import IamErrorHandler
from ansible_collections.secretsops.aws.plugins.module_utils._iam import ignore_missing
from ansible_collections.secretsops.aws.plugins.module_utils._iam import paginate
from ansible_collections.secretsops.aws.plugins.module_utils._iam import find_local_policy_arn
from ansible_collections.secretsops.aws.plugins.module_utils._iam import get_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam import get_policy_version
from ansible_collections.secretsops.aws.plugins.module_utils._iam import list_entities_for_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam import policy_document


# -- pure -------------------------------------------------------------------------------------
def normalise_path(path):
    """An IAM path: '/' or '/a/b/' (a missing leading or trailing slash is added).  ValueError
    naming the option when it has an empty segment ('//')."""
    path = path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    if "//" in path:
        raise ValueError(f"path {path!r} has an empty segment ('//'); IAM paths look like / or /division/team/")
    return path


def policy_arn(partition, account_id, path, name):
    """ARN of a customer managed policy: arn:PARTITION:iam::ACCOUNT_ID:policy/PATH/NAME."""
    return f"arn:{partition}:iam::{account_id}:policy{path}{name}"


def _tag_steps(current, desired):
    if desired.get("tags") is None:
        return []
    to_set, to_unset = compare_aws_tags(
        boto3_tag_list_to_ansible_dict(current.get("Tags") or []), desired["tags"], desired.get("purge_tags", True))
    steps = [("untag", sorted(to_unset))] if to_unset else []
    return steps + ([("tag", to_set)] if to_set else [])


def plan_policy(current, document, versions, desired):
    """(GetPolicy result, default version's document as data, ListPolicyVersions entries or None
    when not read, desired) -> list of (step, argument).  Pure.

    ``desired`` keys: document (dict), only_version, tags (dict or None = untouched), purge_tags.
    Steps, in the order they must run: ``delete_version`` (a non-default version, only with
    only_version; done first so the 5-version limit is never hit), ``create_version`` (the new
    document, made the default), ``delete_version`` of the replaced default (only_version),
    ``untag``, ``tag``."""
    steps = []
    others = [v["VersionId"] for v in versions or [] if not v.get("IsDefaultVersion")]
    if desired.get("only_version"):
        steps += [("delete_version", version_id) for version_id in sorted(others)]
    if compare_policies(document or {}, desired["document"]):
        steps.append(("create_version", desired["document"]))
        if desired.get("only_version"):
            steps.append(("delete_version", current["DefaultVersionId"]))
    return steps + _tag_steps(current, desired)


def policy_diff(current, document, desired):
    """before/after of what the module manages (an IAM policy holds no secret)."""
    before = {}
    if current is not None:
        before = {"document": document, "description": current.get("Description", ""),
                  "tags": boto3_tag_list_to_ansible_dict(current.get("Tags") or [])}
    after = {"document": desired["document"],
             "description": before.get("description", desired.get("description") or ""),
             "tags": dict(before.get("tags", {}))}
    if desired.get("tags") is not None:
        to_set, to_unset = compare_aws_tags(after["tags"], desired["tags"], desired.get("purge_tags", True))
        for key in to_unset:
            after["tags"].pop(key, None)
        after["tags"].update(to_set)
    return {"before": before, "after": after}


# -- AWS calls --------------------------------------------------------------------------------
@IamErrorHandler.common_error_handler("create the managed policy")
def create_policy(client, name, path, desired):
    """The new policy, or None when a policy of that name exists (a create whose answer was lost,
    another run, or the same name under another path)."""
    params = {"PolicyName": name, "Path": path, "PolicyDocument": json.dumps(desired["document"], sort_keys=True)}
    if desired.get("description"):
        params["Description"] = desired["description"]
    if desired.get("tags"):
        params["Tags"] = ansible_dict_to_boto3_tag_list(desired["tags"])
    try:
        return client.create_policy(aws_retry=True, **params)["Policy"]
    except is_boto3_error_code("EntityAlreadyExists"):
        return None


@IamErrorHandler.common_error_handler("list the managed policy's versions")
def list_policy_versions(client, arn):
    return paginate(client, "list_policy_versions", PolicyArn=arn)["Versions"]


@IamErrorHandler.common_error_handler("create a policy version")
def create_policy_version(client, arn, document):
    """Make ``document`` the default version.  At IAM's limit of 5 versions the oldest
    non-default one is deleted first, as amazon.aws.iam_managed_policy does."""
    text = json.dumps(document, sort_keys=True)
    try:
        client.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True, aws_retry=True)
    except is_boto3_error_code("LimitExceeded"):
        others = [v for v in list_policy_versions(client, arn) if not v.get("IsDefaultVersion")]
        oldest = min(others, key=lambda v: v["CreateDate"])
        ignore_missing(client.delete_policy_version, PolicyArn=arn, VersionId=oldest["VersionId"])
        client.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True, aws_retry=True)


@IamErrorHandler.common_error_handler("update the managed policy")
def apply_policy_step(client, arn, step, argument):
    if step == "create_version":
        create_policy_version(client, arn, argument)
    elif step == "delete_version":
        ignore_missing(client.delete_policy_version, PolicyArn=arn, VersionId=argument)
    elif step == "tag":
        client.tag_policy(PolicyArn=arn, Tags=ansible_dict_to_boto3_tag_list(argument), aws_retry=True)
    elif step == "untag":
        client.untag_policy(PolicyArn=arn, TagKeys=argument, aws_retry=True)
    else:  # pragma: no cover - plan_policy makes only the steps above
        raise ValueError(step)


@IamErrorHandler.deletion_error_handler("delete the managed policy")
def delete_policy_and_links(client, arn):
    """Detach the policy from every role, user and group, delete its non-default versions, then
    the policy.  Whatever is already gone counts as done (a retry after a lost answer)."""
    entities = list_entities_for_policy(client, arn)
    for role in entities.get("PolicyRoles", []):
        ignore_missing(client.detach_role_policy, RoleName=role["RoleName"], PolicyArn=arn)
    for user in entities.get("PolicyUsers", []):
        ignore_missing(client.detach_user_policy, UserName=user["UserName"], PolicyArn=arn)
    for group in entities.get("PolicyGroups", []):
        ignore_missing(client.detach_group_policy, GroupName=group["GroupName"], PolicyArn=arn)
    for version in list_policy_versions(client, arn):
        if not version.get("IsDefaultVersion"):
            ignore_missing(client.delete_policy_version, PolicyArn=arn, VersionId=version["VersionId"])
    ignore_missing(client.delete_policy, PolicyArn=arn)
    return True


# -- flows ------------------------------------------------------------------------------------
def _read(client, arn, only_version):
    """(policy or None, default document, versions or None)."""
    current = get_policy(client, arn)
    if current is None:
        return None, None, None
    document = policy_document(get_policy_version(client, arn, current["DefaultVersionId"]).get("Document"))
    return current, document, (list_policy_versions(client, arn) if only_version else None)


def _create(client, arn, name, path, desired):
    """Create the policy; (created, policy or None).  A policy of that name elsewhere is an error."""
    created = create_policy(client, name, path, desired)
    if created is not None:
        return True, created
    if get_policy(client, arn) is None:
        other = find_local_policy_arn(client, name)
        raise IamError(message=f"IAM policy {name} already exists as {other}, not under path {path}; "
                               "IAM cannot move a policy: give that path, or delete it first")
    return False, None


def ensure_policy(client, arn, name, path, desired, check_mode=False):
    """Create or update the customer managed policy ``arn``.

    Returns (changed, policy, document, diff, warnings).  The description cannot change after
    creation (IAM has no call for it): a different one is a warning, as in amazon.aws."""
    current, document, versions = _read(client, arn, desired.get("only_version"))
    diff = policy_diff(current, document, desired)
    sent_create = current is None
    if current is None:
        if check_mode:
            return True, None, None, diff, []
        created, policy = _create(client, arn, name, path, desired)
        if created:
            return True, policy, desired["document"], diff, []
        # It existed after all (our create whose answer was lost, or another run's): plan again
        # from what is there. A create was sent, so the run reports a change either way.
        current, document, versions = _read(client, arn, desired.get("only_version"))
        diff = policy_diff(current, document, desired)
    warnings = []
    if desired.get("description") is not None and desired["description"] != current.get("Description", ""):
        warnings.append(f"IAM policy {name}: the description cannot be changed after creation; it stays "
                        f"{current.get('Description', '')!r}")
    steps = plan_policy(current, document, versions, desired)
    if not steps or check_mode:
        return bool(steps) or sent_create, current, document, diff, warnings
    for step, argument in steps:
        apply_policy_step(client, arn, step, argument)
    current, document, _versions = _read(client, arn, False)
    return True, current, document, diff, warnings


def ensure_policy_absent(client, arn, check_mode=False):
    """Delete the policy (after detaching it everywhere).  Returns (changed, diff)."""
    current, document, _versions = _read(client, arn, False)
    if current is None:
        return False, {"before": {}, "after": {}}
    diff = {"before": policy_diff(current, document, {"document": document})["before"], "after": {}}
    if not check_mode:
        delete_policy_and_links(client, arn)
    return True, diff
