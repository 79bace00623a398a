#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_version
short_description: Move a staging label of an AWS Secrets Manager secret (promote, roll back)
version_added: 0.1.0
description:
  - Moves a staging label (O(stage), default C(AWSCURRENT)) onto a version of a secret, for example to
    promote a value written as C(AWSPENDING), or with O(to_previous=true) to put C(AWSCURRENT) back on the
    C(AWSPREVIOUS) version (a rollback). O(state=absent) removes a label such as C(AWSPENDING).
  - Moving C(AWSCURRENT) uses C(UpdateSecretVersionStage) with C(RemoveFromVersionId); AWS then puts
    C(AWSPREVIOUS) on the version C(AWSCURRENT) left.
  - Idempotent. A label already on the requested version is not a change and no write call is made.
  - A rollback (C(AWSCURRENT) moved onto the C(AWSPREVIOUS) version, by O(to_previous) or by O(version_id))
    labels the version it leaves C(SECRETSOPS_ROLLED_BACK). After a rollback C(AWSPREVIOUS) points at that
    newer version, so a second O(to_previous=true) finds the label and changes nothing instead of flipping
    back. Moving C(AWSCURRENT) onto the labelled version again (roll forward) removes the label.
  - Compare-and-swap. Every move names the version it takes the label from (C(RemoveFromVersionId)),
    that is the version that held it when the module read the secret, or O(remove_from_version_id) when
    given (for example the C(AWSCURRENT) version a rotation recorded at its start). If the label is
    elsewhere, the module fails naming the version holding it and changes nothing; another change is
    reported, never overwritten. Finding the label already where the move wanted it (a retry after a
    lost answer) is success.
  - A version id that does not exist fails before any write, naming the version.
  - Check mode makes no write call. Diff mode shows the version ids with their labels before and after
    (never a value).
author:
  - secretsops contributors (@secretsops)
options:
  name:
    description:
      - Name or ARN of the secret.
    type: str
    required: true
  stage:
    description:
      - The staging label to move or remove.
    type: str
    default: AWSCURRENT
  version_id:
    description:
      - The version to move O(stage) to. With O(state=absent), the version to remove O(stage) from
        (default the version holding it).
      - Mutually exclusive with O(to_previous=true).
    type: str
  to_previous:
    description:
      - Move C(AWSCURRENT) back onto the version labelled C(AWSPREVIOUS) (rollback). Only with
        O(stage=AWSCURRENT).
      - A no-op when C(AWSPREVIOUS) is the version a previous rollback moved away from (labelled
        C(SECRETSOPS_ROLLED_BACK)), so running a rollback twice rolls back once.
    type: bool
    default: false
  remove_from_version_id:
    description:
      - The version O(stage) is expected on (compare-and-swap). When O(stage) is on another version, the
        module fails naming it and writes nothing; when it is already on the target version (or, with
        O(state=absent), on no version) the move counts as done.
      - Omitted, the version holding O(stage) when the module reads the secret.
    type: str
  state:
    description:
      - C(present) puts O(stage) on a version (O(version_id) or O(to_previous) required); C(absent) removes
        O(stage) (not C(AWSCURRENT), which always stays on some version).
    type: str
    choices: [present, absent]
    default: present
notes:
  - "AWS APIs used: DescribeSecret, ListSecretVersionIds (only for a version id without labels);
    UpdateSecretVersionStage (write)."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Promote the version written as AWSPENDING
  secretsops.aws.secret_version:
    name: prod/shop/jwt
    version_id: "{{ pending.secret.version_ids_to_stages | dict2items | selectattr('value', 'contains', 'AWSPENDING') | map(attribute='key') | first }}"

- name: Promote it only if AWSCURRENT is still where this run found it (else fail, change nothing)
  secretsops.aws.secret_version:
    name: prod/shop/jwt
    version_id: "{{ pending_version_id }}"
    remove_from_version_id: "{{ current_at_start }}"

- name: Drop the AWSPENDING label once the new value is current
  secretsops.aws.secret_version:
    name: prod/shop/jwt
    stage: AWSPENDING
    state: absent

- name: Roll back to the previous value (a second run changes nothing)
  secretsops.aws.secret_version:
    name: prod/shop/jwt
    to_previous: true
  register: rollback

- name: Roll back to a version recorded before a change
  secretsops.aws.secret_version:
    name: prod/shop/jwt
    version_id: "{{ before.secrets[0].version_id }}"
"""

RETURN = r"""
version_id:
  description: The version holding O(stage) after the run (null when the label was removed).
  returned: always
  type: str
  sample: 6b1f2a58-0c4d-4d7e-9a47-2b1b2f0d9e11
previous_version_id:
  description: The version that held O(stage) before the run (equal to RV(version_id) when nothing changed).
  returned: always
  type: str
stage:
  description: The staging label handled.
  returned: always
  type: str
  sample: AWSCURRENT
changes:
  description: What changed (or would change in check mode), e.g. stage_moved, rolled_back, rolled_forward, stage_removed.
  returned: always
  type: list
  elements: str
secret:
  description:
    - Metadata of the secret once the label has moved (before the move in check mode), in the shape
      M(secretsops.aws.secret) returns; never a value.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the secret.
      type: str
    name:
      description: Name of the secret.
      type: str
    version_id:
      description: Version id labelled C(AWSCURRENT).
      type: str
    version_ids_to_stages:
      description: Every labelled version id with its staging labels.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import module_outcome
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import move_version_stage
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_version_move


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            stage=dict(type="str", default="AWSCURRENT"),
            version_id=dict(type="str"),
            to_previous=dict(type="bool", default=False),
            remove_from_version_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    result = {"changed": False, "changes": [], "secret": {}, "stage": module.params["stage"], "version_id": None, "previous_version_id": None}

    def work(clients):
        desired = parse_version_move(module.params)  # fails on bad input before any client exists
        return move_version_stage(clients(), desired, check_mode=module.check_mode)

    result, error = module_outcome(module, module.params["name"], work, result)
    if error:
        module.fail_json(msg=error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
