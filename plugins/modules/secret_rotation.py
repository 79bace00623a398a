#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_rotation
short_description: Configure or cancel Lambda rotation of an AWS Secrets Manager secret
version_added: 0.1.0
description:
  - O(state=present) configures automatic rotation of a secret by a Lambda function
    (C(RotateSecret)), on a schedule of O(rotation_interval_days) or a O(schedule_expression),
    with an optional rotation window O(duration).
  - O(state=absent) turns automatic rotation off (C(CancelRotateSecret)).
  - Idempotent. The configuration is compared with what C(DescribeSecret) returns (C(RotationEnabled),
    C(RotationLambdaARN), C(RotationRules)); when it already matches, no write call is made and
    nothing is rotated.
  - Check mode never calls C(RotateSecret) or C(CancelRotateSecret).
author:
  - secretsops contributors (@secretsops)
options:
  name:
    description:
      - Name or ARN of the secret.
    type: str
    required: true
  state:
    description:
      - C(present) configures rotation; C(absent) cancels it.
    type: str
    choices: [present, absent]
    default: present
  rotation_lambda_arn:
    description:
      - ARN of the rotation Lambda function. Required unless the secret already has one (which is then kept).
    type: str
  rotation_interval_days:
    description:
      - Rotate every this many days (1-1000). Mutually exclusive with O(schedule_expression); one of them is
        required with O(state=present).
    type: int
  schedule_expression:
    description:
      - A C(rate(...)) or C(cron(...)) schedule, for example C(rate(10 days)) or C(cron(0 16 1,15 * ? *)).
      - Compared as text (whitespace-normalised) with the C(ScheduleExpression) AWS returns.
    type: str
  duration:
    description:
      - Length of the rotation window in hours, C(1h) to C(24h). Omitted means AWS's default window and is
        not compared.
    type: str
  rotate_immediately:
    description:
      - When the module (re)configures rotation, also rotate now. With C(false) AWS only runs the function's
        C(testSecret) step and the first rotation happens on the schedule.
      - An unchanged configuration never rotates, whatever this option says.
    type: bool
    default: false
notes:
  - "AWS APIs used: DescribeSecret (read); RotateSecret, CancelRotateSecret (writes)."
  - The rotation function needs a resource policy allowing C(secretsmanager.amazonaws.com) to invoke it.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Rotate the database password every 30 days
  secretsops.aws.secret_rotation:
    name: prod/shop/database
    rotation_lambda_arn: arn:aws:lambda:us-east-1:123456789012:function:shop-db-rotation
    rotation_interval_days: 30

- name: Rotate on the 1st and 15th of the month within a 3 hour window
  secretsops.aws.secret_rotation:
    name: prod/shop/database
    rotation_lambda_arn: arn:aws:lambda:us-east-1:123456789012:function:shop-db-rotation
    schedule_expression: cron(0 16 1,15 * ? *)
    duration: 3h

- name: Turn automatic rotation off
  secretsops.aws.secret_rotation:
    name: prod/shop/database
    state: absent
"""

RETURN = r"""
changes:
  description: What changed (or would change in check mode), e.g. rotation_configured, rotation_changed, rotation_cancelled.
  returned: always
  type: list
  elements: str
secret:
  description:
    - The secret's metadata after the run, as returned by M(secretsops.aws.secret) (never its value).
    - In check mode, the metadata before the run.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the secret.
      type: str
    rotation_enabled:
      description: Whether automatic rotation is on.
      type: bool
    rotation_lambda_arn:
      description: ARN of the rotation function.
      type: str
    rotation_rules:
      description: Rotation rules (automatically_after_days, schedule_expression, duration).
      type: dict
    next_rotation_date:
      description: Next scheduled rotation (ISO 8601).
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import module_outcome
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import configure_rotation
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_rotation


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            rotation_lambda_arn=dict(type="str"),
            rotation_interval_days=dict(type="int"),
            schedule_expression=dict(type="str"),
            duration=dict(type="str"),
            rotate_immediately=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
        mutually_exclusive=[["rotation_interval_days", "schedule_expression"]],
        required_if=[["state", "present", ["rotation_interval_days", "schedule_expression"], True]],
    )
    result = {"changed": False, "changes": [], "secret": {}}

    def work(clients):
        desired = parse_rotation(module.params)  # fails on bad input before any client exists
        return configure_rotation(clients(), desired, check_mode=module.check_mode)

    result, error = module_outcome(module, module.params["name"], work, result)
    if error:
        module.fail_json(msg=error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
