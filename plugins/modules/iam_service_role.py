#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: iam_service_role
short_description: Manage an IAM role assumed by an AWS service, never with an EC2 instance profile
version_added: 0.1.0
description:
  - Creates, updates or deletes an IAM role with its trust policy, description, tags and attached managed
    policies. Never creates an EC2 instance profile, so no EC2 instance can assume the role.
  - Options that are not given leave that attribute alone; a second identical run makes no write call.
    Trust policies are compared as data.
  - A create whose answer was lost (or that another run made first) converges; the role found is updated.
  - Used by the roles C(secretsops.aws.iam_secret_access) (ECS task and execution roles, attaching the read
    policy to existing roles) and C(secretsops.aws.cloudtrail_audit) (the CloudWatch Logs delivery role).
  - Why not M(amazon.aws.iam_role) - it prints a deprecation warning on every call (the return value
    C(assume_role_policy_document_raw), amazon.aws 10 and 11), another one unless the deprecated option
    C(delete_instance_profile) is given, and creates an EC2 instance profile unless the deprecated option
    C(create_instance_profile=false) is given, which is due to be removed after 2026-05-01.
author:
  - secretsops contributors (@secretsops)
options:
  name:
    description: Role name.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the role; V(absent) deletes it.
      - Deleting first removes the role from its instance profiles (the profiles themselves stay), detaches its
        managed policies and deletes its inline policies.
    type: str
    choices: [present, absent]
    default: present
  assume_role_policy_document:
    description:
      - The trust policy (JSON text or a dictionary); compared with the current one as data.
      - Required to create the role; omitted, the trust policy of an existing role is left alone.
    type: json
  description:
    description: Role description; omitted, it is left alone.
    type: str
  managed_policies:
    description:
      - ARNs of managed policies to attach; omitted, attachments are left alone.
    type: list
    elements: str
  purge_policies:
    description:
      - Detach the managed policies that O(managed_policies) does not list.
      - Applies only when O(managed_policies) is given. Inline policies are never touched.
    type: bool
    default: false
  wait:
    description: After creating the role, wait until IAM returns it (IAM is eventually consistent).
    type: bool
    default: true
notes:
  - "AWS APIs used: GetRole, ListAttachedRolePolicies (reads); CreateRole, UpdateAssumeRolePolicy, UpdateRole,
    TagRole, UntagRole, AttachRolePolicy, DetachRolePolicy; with O(state=absent) also ListRolePolicies,
    ListInstanceProfilesForRole, RemoveRoleFromInstanceProfile, DeleteRolePolicy, DeleteRole."
  - Check mode makes no write call and reports what would change; diff mode shows the trust policy,
    description, tags and attached policies before and after.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the ECS task role with the secrets read policy
  secretsops.aws.iam_service_role:
    name: prod-shop-task
    description: ECS task role with read access to prod/shop/* secrets
    assume_role_policy_document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal:
            Service: ecs-tasks.amazonaws.com
          Action: sts:AssumeRole
    managed_policies:
      - arn:aws:iam::123456789012:policy/secretsops-prod-shop-read
    tags:
      Environment: prod
      Application: shop

- name: Attach a policy to an existing role (its trust policy and other policies stay)
  secretsops.aws.iam_service_role:
    name: shop-worker
    managed_policies:
      - arn:aws:iam::123456789012:policy/secretsops-prod-shop-read

- name: Delete the role
  secretsops.aws.iam_service_role:
    name: prod-shop-task
    state: absent
"""

RETURN = r"""
iam_role:
  description: The role after the run; V({}) after O(state=absent), and in check mode when it would be created.
  returned: always
  type: dict
  contains:
    arn:
      description: Role ARN.
      type: str
      sample: arn:aws:iam::123456789012:role/prod-shop-task
    role_name:
      description: Role name.
      type: str
    role_id:
      description: Stable role id.
      type: str
    path:
      description: Role path.
      type: str
      sample: /
    description:
      description: Role description (V("") when none).
      type: str
    create_date:
      description: Creation date.
      type: str
    max_session_duration:
      description: Maximum session duration in seconds.
      type: int
    assume_role_policy_document:
      description: The trust policy, parsed.
      type: dict
    tags:
      description: Tags as a dictionary.
      type: dict
    attached_policies:
      description: The attached managed policies.
      type: list
      elements: dict
      contains:
        policy_arn:
          description: Policy ARN.
          type: str
        policy_name:
          description: Policy name.
          type: str
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.secretsops.aws.plugins.module_utils._iam import IamError
from ansible_collections.secretsops.aws.plugins.module_utils._iam import ensure_role
from ansible_collections.secretsops.aws.plugins.module_utils._iam import ensure_role_absent
from ansible_collections.secretsops.aws.plugins.module_utils._iam import normalise_role


def desired_role(params):
    """The desired state from the module options (None = leave alone)."""
    trust = params["assume_role_policy_document"]
    return {
        "trust_policy": json.loads(trust) if trust else None,
        "description": params["description"],
        "managed_policies": params["managed_policies"],
        "purge_policies": params["purge_policies"],
        "tags": params["tags"],
        "purge_tags": params["purge_tags"],
    }


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            assume_role_policy_document=dict(type="json"),
            description=dict(type="str"),
            managed_policies=dict(type="list", elements="str"),
            purge_policies=dict(type="bool", default=False),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    result = {"changed": False, "iam_role": {}}
    error = None
    try:
        desired = desired_role(module.params)
    except ValueError as exc:
        module.fail_json(msg=f"assume_role_policy_document is not valid JSON: {exc}")
    try:
        client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
        if module.params["state"] == "absent":
            result["changed"], diff = ensure_role_absent(client, name, module.check_mode)
        else:
            result["changed"], role, attached, diff = ensure_role(
                client, name, desired, module.check_mode, module.params["wait"])
            result["iam_role"] = normalise_role(role, attached)
        if module._diff:
            result["diff"] = diff
    except IamError as exc:
        error = exc
    if error is not None:
        module.fail_json_aws(error.exception or error, msg=error.message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
