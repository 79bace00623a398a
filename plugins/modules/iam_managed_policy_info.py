#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: iam_managed_policy_info
short_description: Read an IAM managed policy, its default version's document and what it is attached to
version_added: 0.1.0
description:
  - Reads one IAM managed policy (customer or AWS managed) by O(arn) or, for a customer managed
    policy, by O(name), and returns its metadata, the document of its default version (as data)
    and the names of the roles, users and groups it is attached to.
  - A policy that does not exist is no error; RV(exists) is then V(false).
  - Read-only; runs in check mode as well.
  - Written for the C(secretsops.aws.audit) playbook because no amazon.aws or community.aws module
    reads a managed policy's document or its attachments (checked up to amazon.aws 11.4 and
    community.aws 11.2) - M(amazon.aws.iam_managed_policy) only writes, and
    M(amazon.aws.iam_policy_info) reads inline policies.
author:
  - secretsops contributors (@secretsops)
options:
  arn:
    description: ARN of the managed policy.
    type: str
  name:
    description:
      - Name of a customer managed policy of the account (C(ListPolicies) with scope C(Local)).
      - Give O(arn) for an AWS managed policy.
    type: str
notes:
  - "AWS APIs used: GetPolicy, GetPolicyVersion, ListEntitiesForPolicy (ListPolicies with O(name)); all reads."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the shop's secrets read policy
  secretsops.aws.iam_managed_policy_info:
    name: secretsops-prod-shop-read
  register: read_policy

- name: Show where it is attached
  ansible.builtin.debug:
    msg: "{{ read_policy.policy.roles if read_policy.exists else 'no such policy' }}"

- name: Read an AWS managed policy by ARN in another region's endpoint settings
  secretsops.aws.iam_managed_policy_info:
    arn: arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
    region: eu-west-1
"""

RETURN = r"""
exists:
  description: Whether the policy exists.
  returned: always
  type: bool
  sample: true
policy:
  description: The policy; V({}) when it does not exist.
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
      description: Id of the default version, whose document RV(policy.document) is.
      type: str
      sample: v1
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
      description: The default version's policy document, parsed.
      type: dict
      sample: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
    roles:
      description: Names of the roles the policy is attached to.
      type: list
      elements: str
    users:
      description: Names of the users the policy is attached to.
      type: list
      elements: str
    groups:
      description: Names of the groups the policy is attached to.
      type: list
      elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.secretsops.aws.plugins.module_utils._iam import IamError
from ansible_collections.secretsops.aws.plugins.module_utils._iam import describe_managed_policy


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            arn=dict(type="str"),
            name=dict(type="str"),
        ),
        mutually_exclusive=[("arn", "name")],
        required_one_of=[("arn", "name")],
        supports_check_mode=True,
    )
    error = None
    policy = None
    try:
        client = module.client("iam", retry_decorator=AWSRetry.jittered_backoff())
        policy = describe_managed_policy(client, arn=module.params["arn"], name=module.params["name"])
    except IamError as exc:
        error = exc
    if error is not None:
        module.fail_json_aws(error.exception or error, msg=error.message)
    module.exit_json(changed=False, exists=policy is not None, policy=policy or {})


if __name__ == "__main__":
    main()
