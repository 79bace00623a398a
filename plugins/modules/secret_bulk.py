#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_bulk
short_description: Reconcile a whole list of AWS Secrets Manager secrets in one invocation
version_added: 0.1.0
description:
  - Brings every secret in O(secrets) to its desired state with the same semantics as
    M(secretsops.aws.secret) (idempotent, JSON compared as data, values never returned, check mode
    without write calls, masked diffs), but with the fewest API calls.
  - Reads one C(ListSecrets) pass over the names' common prefix (100 secrets a page, with names,
    tags and version stages) and the current values with C(BatchGetSecretValue) (20 a call, falling
    back to C(GetSecretValue) when that action is denied). A run that changes nothing for 100 secrets
    makes about 6 calls instead of 400.
  - Writes exactly what each secret's plan needs, secret by secret, in list order.
  - Used by the role C(secretsops.aws.secrets).
author:
  - secretsops contributors (@secretsops)
options:
  secrets:
    description:
      - The secrets. Each item takes the options of M(secretsops.aws.secret); names must be names
        (not ARNs) and unique.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Secret name (1-512 characters of C([A-Za-z0-9/_+=.@-])).
        type: str
        required: true
      state:
        description: C(present) or C(absent).
        type: str
        choices: [present, absent]
        default: present
      secret_string:
        description: Value as text (a JSON object text is compared as data).
        type: str
        aliases: [secret]
      json_secret:
        description: Value as a dictionary (a JSON object).
        type: dict
      secret_binary:
        description: Value as base64 text, stored as binary.
        type: str
      generate:
        description: JSON keys filled with a new random value only when absent (never regenerated).
        type: list
        elements: str
        default: []
      regenerate:
        description: JSON keys given a new random value on every run (rotation).
        type: list
        elements: str
        default: []
      generate_bytes:
        description: Random bytes behind each generated value (base64 text).
        type: int
        default: 48
      overwrite:
        description: C(false) never changes an existing value.
        type: bool
        default: true
      description:
        description: Description; C("") clears it, omitted leaves it untouched.
        type: str
      kms_key_id:
        description: KMS key id, ARN or alias (aliases resolved before comparing).
        type: str
      tags:
        description: Tags; omitted leaves tags untouched.
        type: dict
        aliases: [resource_tags]
      purge_tags:
        description: Remove tags not in O(secrets[].tags) (never C(aws:*)).
        type: bool
        default: true
      resource_policy:
        description: Resource policy (compared semantically); C({}) removes it.
        type: json
      block_public_policy:
        description: Refuse a policy that grants broad access.
        type: bool
      replica:
        description: Replica regions; C([]) removes all.
        type: list
        elements: dict
        suboptions:
          region:
            description: Region of the replica.
            type: str
            required: true
          kms_key_id:
            description: KMS key for the replica.
            type: str
      force_overwrite_replica_secret:
        description: Overwrite a same-named secret in a replica region.
        type: bool
        default: false
      recovery_window:
        description: Days a deleted secret stays recoverable (7-30); C(0) deletes at once.
        type: int
        default: 30
      version_stages:
        description:
          - Staging labels for a new value (C(PutSecretValue) C(VersionStages)), e.g. C([AWSPENDING]) to stage
            it without making it current; see M(secretsops.aws.secret).
        type: list
        elements: str
notes:
  - "AWS APIs used: ListSecrets, BatchGetSecretValue (or GetSecretValue), DescribeSecret (after a change,
    or for managed replicas), GetResourcePolicy (for managed policies), and the write calls of
    M(secretsops.aws.secret)."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Reconcile the shop's secrets in one call
  secretsops.aws.secret_bulk:
    secrets:
      - name: prod/shop/database
        json_secret: {DB_USER: shop}
        generate: [DB_PASSWORD]
        tags: {Environment: prod, Application: shop}
      - name: prod/shop/jwt
        generate: [JWT_SECRET, JWT_REFRESH_SECRET]
        tags: {Environment: prod, Application: shop}
  register: shop_secrets
"""

RETURN = r"""
results:
  description: One entry per secret, in input order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Secret name.
      type: str
    changed:
      description: Whether this secret changed (or would, in check mode).
      type: bool
    changes:
      description: What changed, e.g. created, value, tags, restored.
      type: list
      elements: str
    secret:
      description: The secret's metadata after the run, as returned by M(secretsops.aws.secret).
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import kms_key_resolver
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import reconcile_many
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import run_module_work
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import secret_argument_spec


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            # Values are no_log in the item options; the list itself holds names and metadata too.
            secrets=dict(type="list", elements="dict", required=True, no_log=False, options=secret_argument_spec()),
        ),
        supports_check_mode=True,
    )
    result = {"changed": False, "results": []}

    def work(clients):
        desireds = []
        for index, item in enumerate(module.params["secrets"]):
            try:
                desireds.append(build_desired(item))
            except InvalidOption as exc:
                raise InvalidOption(f"secrets[{index}].{exc.option}", str(exc).split(": ", 1)[-1]) from None
        kms_equal = kms_key_resolver(clients("kms")) if any(desired["kms_key_id"] for desired in desireds) else None
        return reconcile_many(clients(), desireds, check_mode=module.check_mode, kms_equal=kms_equal)

    outcomes, error = run_module_work(module, None, work)
    if outcomes is not None:
        result["changed"] = any(outcome["changed"] for outcome in outcomes)
        result["results"] = [{k: v for k, v in outcome.items() if k != "diff"} for outcome in outcomes]
        if module._diff:
            changed = [outcome for outcome in outcomes if outcome["changed"]]
            result["diff"] = {
                "before": {outcome["name"]: outcome["diff"]["before"] for outcome in changed},
                "after": {outcome["name"]: outcome["diff"]["after"] for outcome in changed},
            }
    if error:
        module.fail_json(msg=error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
