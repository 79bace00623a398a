#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ecs_task_definition
short_description: Register an ECS task definition revision only when it changed, once
version_added: 0.1.0
description:
  - Compares the desired task definition with the latest C(ACTIVE) revision of O(family) as data, on
    the fields given (AWS fills defaults such as C(hostPort)); C(environment) and C(secrets) lists
    compare in any order. Every field counts, including the execution role, cpu and memory.
  - Registers a new revision only when something differs. A second identical run makes no write call.
  - Safe under retries and concurrent runs. C(RegisterTaskDefinition) is sent without SDK retries; after
    an error (throttling, 5xx, a lost answer) the latest revision is read again and a revision is
    registered only if it still differs, so a call AWS applied but whose answer was lost registers no
    identical second revision. When another run registered an identical revision meanwhile, the lower
    one is kept and this run's duplicate is deregistered.
  - Written for the role C(secretsops.aws.ecs_task_definition) because C(community.aws.ecs_taskdefinition)
    ignores changes of the execution role, cpu and memory and registers duplicates after a lost answer.
author:
  - secretsops contributors (@secretsops)
options:
  family:
    description: Task definition family.
    type: str
    required: true
  container_definitions:
    description:
      - Container definitions in the C(RegisterTaskDefinition) shape (camelCase keys, for example
        C(name), C(image), C(portMappings), C(environment), C(secrets), C(logConfiguration)).
    type: list
    elements: dict
    required: true
  task_role_arn:
    description: IAM role the containers assume; C("") or omitted for none.
    type: str
  execution_role_arn:
    description: Task execution role (needed to inject secrets and write logs); C("") or omitted for none.
    type: str
  network_mode:
    description: Docker network mode.
    type: str
    choices: [bridge, host, awsvpc, none]
  cpu:
    description: Task CPU units, for example C("256").
    type: str
  memory:
    description: Task memory in MiB, for example C("512").
    type: str
  requires_compatibilities:
    description: Launch types the definition must be compatible with.
    type: list
    elements: str
    choices: [EC2, FARGATE, EXTERNAL]
notes:
  - "AWS APIs used: DescribeTaskDefinition, ListTaskDefinitions (after a registration);
    RegisterTaskDefinition, DeregisterTaskDefinition (only this run's duplicate) (writes)."
  - Check mode makes no write call and reports whether a revision would be registered.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Register the shop API task definition (new revision only when something changed)
  secretsops.aws.ecs_task_definition:
    family: shop-api
    network_mode: awsvpc
    requires_compatibilities: [FARGATE]
    cpu: "256"
    memory: "512"
    execution_role_arn: arn:aws:iam::123456789012:role/shop-execution
    container_definitions:
      - name: shop-api
        image: public.ecr.aws/docker/library/node:22-alpine
        essential: true
        environment:
          - {name: NODE_ENV, value: production}
        secrets:
          - name: DB_PASSWORD
            valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/shop/database-AbCdEf:DB_PASSWORD::"
"""

RETURN = r"""
task_definition:
  description: The revision in use after the run (empty in check mode when one would be registered).
  returned: always
  type: dict
  contains:
    arn:
      description: Task definition ARN with revision.
      type: str
    family:
      description: Family.
      type: str
    revision:
      description: Revision number.
      type: int
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.secretsops.aws.plugins.module_utils._ecs_task_definition import TaskDefinitionError
from ansible_collections.secretsops.aws.plugins.module_utils._ecs_task_definition import ensure_registered

OPTION_FIELDS = {
    "task_role_arn": "taskRoleArn",
    "execution_role_arn": "executionRoleArn",
    "network_mode": "networkMode",
    "cpu": "cpu",
    "memory": "memory",
    "requires_compatibilities": "requiresCompatibilities",
}


def desired_definition(params):
    """RegisterTaskDefinition arguments from the module options (omitted and empty left out)."""
    desired = {"family": params["family"], "containerDefinitions": params["container_definitions"]}
    desired.update({field: params[option] for option, field in OPTION_FIELDS.items() if params[option]})
    return desired


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            family=dict(type="str", required=True),
            container_definitions=dict(type="list", elements="dict", required=True),
            task_role_arn=dict(type="str"),
            execution_role_arn=dict(type="str"),
            network_mode=dict(type="str", choices=["bridge", "host", "awsvpc", "none"]),
            cpu=dict(type="str"),
            memory=dict(type="str"),
            requires_compatibilities=dict(type="list", elements="str", choices=["EC2", "FARGATE", "EXTERNAL"]),
        ),
        supports_check_mode=True,
    )
    result = {"changed": False, "task_definition": {}}
    error = None
    try:
        client = module.client("ecs", retry_decorator=AWSRetry.jittered_backoff())
        # botocore's max_attempts counts retries (legacy mode) or is turned into total attempts + 1
        # (standard mode): 0 is a single attempt in both.
        register_client = module.client("ecs", config={"retries": {"max_attempts": 0}})
        changed, revision = ensure_registered(client, register_client, desired_definition(module.params), module.check_mode)
        result["changed"] = changed
        if revision:
            result["task_definition"] = {"arn": revision["taskDefinitionArn"], "family": revision["family"],
                                         "revision": revision["revision"]}
    except TaskDefinitionError as exc:
        error = exc
    if error is not None:
        module.fail_json_aws(error.exception or error, msg=error.message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
