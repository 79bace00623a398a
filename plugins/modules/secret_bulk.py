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
        description:
          - Secret name (1-512 characters of C([A-Za-z0-9/_+=.@-])).
          - Exactly one of O(secrets[].name) and O(secrets[].category) is required.
        type: str
      category:
        description:
          - The last path element of the name under O(prefix) (C(database) with O(prefix=prod/shop)
            gives C(prod/shop/database)); the item shape of the role C(secretsops.aws.secrets).
        type: str
      state:
        description: C(present) or C(absent).
        type: str
        choices: [present, absent]
        default: present
      secret_string:
        description: Value as text (a JSON object text is compared as data).
        type: str
        aliases: [secret, string]
      json_secret:
        description: Value as a dictionary (a JSON object).
        type: dict
        aliases: [json]
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
        description: Random bytes behind each generated value (base64 text); default O(generate_bytes).
        type: int
      overwrite:
        description: C(false) never changes an existing value.
        type: bool
        default: true
      purge_keys:
        description:
          - C(false) keeps the keys of the current JSON value that the item's value does not name;
            see M(secretsops.aws.secret).
        type: bool
        default: true
      required_keys:
        description:
          - JSON keys that must exist in the value after the run (given, generated or already present);
            if one is missing the module fails before any write, naming it.
        type: list
        elements: str
        default: []
      description:
        description: Description; C("") clears it, omitted leaves it untouched.
        type: str
      kms_key_id:
        description: KMS key id, ARN or alias (aliases resolved before comparing).
        type: str
      tags:
        description: Tags; merged over O(tags) (the item's win); both omitted leave tags untouched.
        type: dict
        aliases: [resource_tags]
      purge_tags:
        description: Remove tags not in O(secrets[].tags) (never C(aws:*)); default O(purge_tags).
        type: bool
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
      rotation:
        description:
          - Lambda rotation of this secret, configured after its value with the semantics of
            M(secretsops.aws.secret_rotation) (idempotent; check mode never rotates).
        type: dict
        suboptions:
          state:
            description: C(present) configures rotation, C(absent) cancels it.
            type: str
            choices: [present, absent]
            default: present
          lambda_arn:
            description: ARN of the rotation function (kept from the secret when omitted).
            type: str
            aliases: [rotation_lambda_arn]
          interval_days:
            description: Rotate every this many days (1-1000); or O(secrets[].rotation.schedule_expression).
            type: int
            aliases: [rotation_interval_days]
          schedule_expression:
            description: A C(rate(...)) or C(cron(...)) schedule.
            type: str
          duration:
            description: Rotation window, C(1h) to C(24h).
            type: str
          rotate_immediately:
            description: Rotate now when the configuration changes.
            type: bool
            default: false
  prefix:
    description:
      - Path of the items given by O(secrets[].category), such as C(prod/shop) (no trailing slash needed).
    type: str
  tags:
    description:
      - Tags every item gets, under its own O(secrets[].tags) (for example C(Environment), C(Application)).
      - Omitted (and no item tags) leaves tags untouched.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Default of O(secrets[].purge_tags).
    type: bool
    default: true
  generate_bytes:
    description: Default of O(secrets[].generate_bytes).
    type: int
    default: 48
notes:
  - ansible-core hides every C(no_log) value wherever it occurs in a module's result, and of a JSON value
    each leaf value; a short value such as V(shop), V(1) or V(us-east-1) therefore shows as C(********)
    inside the returned names and ARNs (the values themselves are never returned). The role
    C(secretsops.aws.secrets) rebuilds such ARNs from the names it knows; M(secretsops.aws.secret_info)
    returns them unmasked.
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

- name: The same by category under a prefix, shared tags, keys set by hand kept, rotation
  secretsops.aws.secret_bulk:
    prefix: prod/shop
    tags: {Environment: prod, Application: shop}
    secrets:
      - category: database
        json: {DB_HOST: db.internal}
        purge_keys: false
        required_keys: [DB_HOST, DB_PASSWORD]
      - category: jwt
        generate: [JWT_SECRET]
        rotation:
          lambda_arn: arn:aws:lambda:us-east-1:123456789012:function:rotate-jwt
          interval_days: 30
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
      description: What changed, e.g. created, value, tags, restored, rotation_configured.
      type: list
      elements: str
    secret:
      description: The secret's metadata after the run, as returned by M(secretsops.aws.secret).
      type: dict
    keys:
      description:
        - JSON key names by what the run does (or would do, in check mode) to them; never a value.
        - C(added) new in the secret, C(generated) filled with a random value, C(unchanged) given with the
          value the secret has, C(overwritten) given with another value and written, C(differs_kept) given
          with another value but kept (O(secrets[].overwrite=false)), C(kept) only in the secret and kept,
          C(removed) only in the secret and purged.
      type: dict
    written_version_id:
      description: VersionId of the value written for this secret, or V(null).
      type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.api import kms_key_resolver
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import reconcile_many
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import bulk_argument_spec
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import bulk_desireds
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import run_module_work


def main():
    module = AnsibleAWSModule(argument_spec=bulk_argument_spec(), supports_check_mode=True)
    result = {"changed": False, "results": []}

    def work(clients):
        desireds = bulk_desireds(module.params)  # fails on bad input before any client exists
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
