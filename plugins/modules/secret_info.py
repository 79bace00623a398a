#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_info
short_description: List AWS Secrets Manager secrets and their metadata, never their values
version_added: 0.1.0
description:
  - Returns the metadata of secrets selected by O(names), O(name_prefix), O(tags) or raw O(filters)
    (all given selectors must match). Never returns a secret value.
  - O(name_prefix) is path-boundary aware; C(prod/shop) matches C(prod/shop/db) but not C(prod/shop-old/db).
  - Read-only; supports check mode.
author:
  - secretsops contributors (@secretsops)
options:
  names:
    description:
      - Exact secret names or ARNs (C(DescribeSecret) each). A name that does not exist is left out
        of RV(secrets) and listed in RV(missing).
    type: list
    elements: str
  name_prefix:
    description:
      - Path whose secrets to list (C(ListSecrets) with a name filter, paginated).
      - On AWS a listing "might not reflect changes from the last five minutes" (ListSecrets API
        reference); to find secrets created or changed moments ago, give O(names) (one
        C(DescribeSecret) each).
    type: str
  tags:
    description: Tags every returned secret must carry, with these values.
    type: dict
  filters:
    description:
      - Raw C(ListSecrets) filters as a dictionary of filter key to list of values, for example
        C(tag-key) to C([Application]). Keys are the AWS filter keys (description, name, tag-key,
        tag-value, primary-region, owning-service, all).
    type: dict
  include_planned_deletion:
    description: Also list secrets scheduled for deletion (C(IncludePlannedDeletion)).
    type: bool
    default: false
  include_versions:
    description:
      - Also return every version of each secret with its labels and creation date (RV(secrets[].versions),
        one C(ListSecretVersionIds) call per secret), for example to see since when a rotation has been
        pending (C(AWSPENDING)).
    type: bool
    default: false
notes:
  - "AWS APIs used: ListSecrets, DescribeSecret, ListSecretVersionIds (with O(include_versions))."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Every secret of the shop in production
  secretsops.aws.secret_info:
    name_prefix: prod/shop
  register: shop

- name: Full ARNs of two secrets
  secretsops.aws.secret_info:
    names: [prod/shop/database, prod/shop/jwt]
  register: found

- name: Secrets tagged for the application
  secretsops.aws.secret_info:
    tags:
      Application: shop
"""

RETURN = r"""
secrets:
  description: Metadata of each secret found, sorted by name (no values).
  returned: always
  type: list
  elements: dict
  contains:
    arn:
      description: Full ARN.
      type: str
    name:
      description: Name.
      type: str
    description:
      description: Description.
      type: str
    kms_key_id:
      description: KMS key as stored by AWS.
      type: str
    tags:
      description: Tags as a dictionary.
      type: dict
    version_id:
      description: Version id labelled C(AWSCURRENT).
      type: str
    version_ids_to_stages:
      description: Version ids with their staging labels.
      type: dict
    rotation_enabled:
      description: Whether rotation is configured.
      type: bool
    rotation_rules:
      description: Rotation rules.
      type: dict
    created_date:
      description: Creation time (ISO 8601).
      type: str
    last_changed_date:
      description: Last change of the value or metadata (ISO 8601).
      type: str
    rotation_lambda_arn:
      description: Rotation function ARN.
      type: str
    primary_region:
      description: Primary region of a replicated secret.
      type: str
    replication_status:
      description: One entry per replica (region, kms_key_id, status, status_message).
      type: list
      elements: dict
    last_accessed_date:
      description: Day of the last read (ISO 8601).
      type: str
    last_rotated_date:
      description: Last rotation (ISO 8601).
      type: str
    next_rotation_date:
      description: Next scheduled rotation (ISO 8601).
      type: str
    deleted_date:
      description: When deletion was requested, if scheduled for deletion.
      type: str
    versions:
      description: Every version, oldest first (deprecated ones included), never a value.
      returned: when O(include_versions=true)
      type: list
      elements: dict
      contains:
        version_id:
          description: Version id.
          type: str
        version_stages:
          description: Its staging labels (empty for a deprecated version).
          type: list
          elements: str
        created_date:
          description: When the version was written (ISO 8601).
          type: str
        last_accessed_date:
          description: Day of the last read of this version (ISO 8601).
          type: str
missing:
  description: Names from O(names) that do not exist.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.bulk import find_secrets
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import run_module_work


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            names=dict(type="list", elements="str"),
            name_prefix=dict(type="str"),
            tags=dict(type="dict"),
            filters=dict(type="dict"),
            include_planned_deletion=dict(type="bool", default=False),
            include_versions=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    result = {"changed": False, "secrets": [], "missing": []}
    params = module.params
    outcome, error = run_module_work(module, None, lambda clients: find_secrets(
        clients(), names=params["names"], name_prefix=params["name_prefix"], tags=params["tags"],
        filters=params["filters"], include_planned_deletion=params["include_planned_deletion"],
        include_versions=params["include_versions"]))
    if outcome is not None:
        result["secrets"], result["missing"] = outcome
    if error:
        module.fail_json(msg=error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
