#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: iam_managed_policy
short_description: Manage a customer managed IAM policy, read by its ARN
version_added: 0.2.0
description:
  - Creates, updates or deletes a customer managed IAM policy - its document (a new default version when
    the document differs as data), tags, and with O(only_version) the removal of its other versions.
  - The policy is read by its ARN, C(arn:PARTITION:iam::ACCOUNT_ID:policy/PATH/NAME), built from
    O(account_id), O(partition), O(path) and O(name) - one C(GetPolicy) call.
  - Why not M(amazon.aws.iam_managed_policy) - it finds the policy by name with an unscoped
    C(ListPolicies) walk over every policy the account can see, AWS managed policies included (about
    1,400 on AWS, more than 15 pages of 100 on every run whatever the policy); checked with amazon.aws
    10.1.2 and 11.x. Its options and return value are otherwise followed here.
  - A create whose answer was lost (or that another run made first) converges on the policy found;
    a second identical run makes no write call.
  - Used by the role C(secretsops.aws.iam_secret_access) for the secrets read policy.
author:
  - secretsops contributors (@secretsops)
options:
  name:
    description: Policy name (unique in the account, whatever the path).
    type: str
    required: true
  path:
    description:
      - Policy path; a missing leading or trailing V(/) is added. IAM cannot change it after creation.
      - A policy of the same name under another path is an error naming its ARN.
    type: str
    default: /
  account_id:
    description:
      - Account id of the policy's ARN.
      - Omitted (or O(partition) omitted), one C(sts:GetCallerIdentity) call finds the account and
        partition of the credentials in use.
    type: str
  partition:
    description: Partition of the policy's ARN, for example V(aws), V(aws-cn), V(aws-us-gov). See O(account_id).
    type: str
  policy:
    description:
      - The policy document (JSON text or a dictionary); compared with the default version's document as
        data (M(amazon.aws.iam_managed_policy)'s comparison). Required with O(state=present).
    type: json
  description:
    description:
      - Description, set when the policy is created. IAM cannot change it later; a different one is a warning.
    type: str
  only_version:
    description:
      - Delete every version of the policy other than the default one (IAM keeps up to 5).
      - Without it, the oldest non-default version is deleted only when a new version would exceed that limit.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the policy; V(absent) detaches it from every role, user and group,
        deletes its other versions and deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "AWS APIs used: GetPolicy, GetPolicyVersion (reads; ListPolicyVersions with O(only_version));
    CreatePolicy, CreatePolicyVersion, DeletePolicyVersion, TagPolicy, UntagPolicy; with O(state=absent)
    ListEntitiesForPolicy, DetachRolePolicy, DetachUserPolicy, DetachGroupPolicy, ListPolicyVersions,
    DeletePolicy; ListPolicies (scope Local) only when a create finds the name taken under another path."
  - Check mode makes no write call and reports what would change; diff mode shows the document,
    description and tags before and after (an IAM policy holds no secret).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read access to the prod/shop secrets, one version kept
  secretsops.aws.iam_managed_policy:
    name: secretsops-prod-shop-read
    account_id: "123456789012"
    partition: aws
    description: Read the prod/shop/* secrets
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [secretsmanager:GetSecretValue, secretsmanager:DescribeSecret]
          Resource: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/shop/*
    only_version: true
    tags:
      Application: shop
  register: read_policy

- name: Remove it (detached from every role first)
  secretsops.aws.iam_managed_policy:
    name: secretsops-prod-shop-read
    state: absent
"""

RETURN = r"""
policy:
  description: The policy after the run (before it, in check mode); V({}) when it does not exist.
  returned: always
  type: dict
  contains:
    arn:
      description: Policy ARN.
      type: str
      sample: arn:aws:iam::123456789012:policy/secretsops-prod-shop-read
    policy_name:
      description: Policy name.
      type: str
    policy_id:
      description: Stable policy id.
      type: str
    path:
      description: Policy path.
      type: str
      sample: /
    description:
      description: Policy description (V("") when none).
      type: str
    default_version_id:
      description: Id of the default version.
      type: str
      sample: v2
    attachment_count:
      description: Number of entities the policy is attached to.
      type: int
    is_attachable:
      description: Whether the policy can be attached.
      type: bool
    create_date:
      description: Creation date.
      type: str
    update_date:
      description: Date of the last change of the default version.
      type: str
    tags:
      description: Tags as a dictionary.
      type: dict
    document:
      description: The default version's document, parsed.
      type: dict
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.iam import get_aws_account_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.secretsops.aws.plugins.module_utils._iam import IamError
from ansible_collections.secretsops.aws.plugins.module_utils._iam import normalise_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import ensure_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import ensure_policy_absent
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import normalise_path
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import policy_arn


def desired_policy(params):
    """The desired state from the options; ValueError naming the option on bad input."""
    document = params["policy"]
    if params["state"] == "present":
        if not document:
            raise ValueError("policy is required with state=present")
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise ValueError(f"policy is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ValueError("policy must be a JSON object (a policy document)")
    return {"document": document, "description": params["description"], "only_version": params["only_version"],
            "tags": params["tags"], "purge_tags": params["purge_tags"]}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            path=dict(type="str", default="/"),
            account_id=dict(type="str"),
            partition=dict(type="str"),
            policy=dict(type="json"),
            description=dict(type="str"),
            only_version=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result = {"changed": False, "policy": {}}
    try:
        desired = desired_policy(params)
        path = normalise_path(params["path"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    account_id, partition = params["account_id"], params["partition"]
    if not account_id or not partition:
        account_id, partition = get_aws_account_info(module)
    arn = policy_arn(partition, account_id, path, params["name"])
    error = None
    try:
        client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
        if params["state"] == "absent":
            result["changed"], diff = ensure_policy_absent(client, arn, module.check_mode)
        else:
            result["changed"], policy, document, diff, warnings = ensure_policy(
                client, arn, params["name"], path, desired, module.check_mode)
            result["policy"] = normalise_policy(policy, document)
            for warning in warnings:
                module.warn(warning)
        if module._diff:
            result["diff"] = diff
    except IamError as exc:
        error = exc
    if error is not None:
        module.fail_json_aws(error.exception or error, msg=error.message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
