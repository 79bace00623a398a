#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret
short_description: Create, update, restore and delete an AWS Secrets Manager secret, exactly idempotent
version_added: 0.1.0
description:
  - Manages one secret in AWS Secrets Manager, that is its value (text, JSON or binary), description,
    KMS key, tags, resource policy and replica regions.
  - A second identical run reports C(changed=false) and makes no write API call. JSON values are
    compared as data, resource policies semantically, tags and replicas as sets.
  - Missing JSON keys listed in O(generate) are filled with a new random value (O(generate_bytes)
    random bytes, base64) and never regenerated once present.
  - O(state=present) on a secret scheduled for deletion restores it (same ARN), then reconciles it.
  - Every new version is written with a C(ClientRequestToken) derived from the secret, the version it
    replaces, that version's value and the new value, so a retried or concurrent identical write creates
    no second version, and a reader of metadata (the token is the C(VersionId)) cannot test guesses of
    a value. A new secret gets a random token (a creation race resolves through C(ResourceExistsException)).
  - Invalid input fails before any API call, with a message naming the option; secret values never
    appear in the result, the diff or an error message.
  - Check mode makes no write call and reports the C(changed) a real run would report. Diff mode shows
    which JSON keys and which metadata change, with every value masked.
author:
  - secretsops contributors (@secretsops)
options:
  name:
    description:
      - Name of the secret (1-512 characters of C([A-Za-z0-9/_+=.@-])), or its ARN for an existing secret.
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the secret; C(absent) deletes it (idempotent).
    type: str
    choices: [present, absent]
    default: present
  secret_string:
    description:
      - The secret value as text. A text holding a JSON object is compared as data.
      - At most 65536 bytes. Mutually exclusive with O(json_secret) and O(secret_binary).
    type: str
    aliases: [secret]
  json_secret:
    description:
      - The secret value as a dictionary, stored as a JSON object and compared as data
        (key order and whitespace do not matter).
    type: dict
  secret_binary:
    description:
      - The secret value as base64 text; stored as binary (C(SecretBinary)).
    type: str
  generate:
    description:
      - JSON keys to fill with a new random value, only when the key is absent from both the given
        value and the secret's current value. Needs a JSON value or no value at all.
      - Keep the keys listed on every run. With O(json_secret) the given object is the whole
        desired value, so a later run that gives O(json_secret) without a generated key (and
        without it in O(generate)) removes that key (diff mode shows it as removed); use
        O(overwrite=false) to never touch an existing value.
    type: list
    elements: str
    default: []
  regenerate:
    description:
      - JSON keys to fill with a new random value on every run, whatever they hold now. This is a
        rotation, so the task always reports a change; used by the C(rotate) playbook.
      - Needs a JSON value or no value at all (the current JSON value is then kept around the keys).
    type: list
    elements: str
    default: []
  generate_bytes:
    description:
      - Number of random bytes (from the OS CSPRNG) behind each generated value; the value is their
        base64 text (48 bytes give 64 characters).
    type: int
    default: 48
  overwrite:
    description:
      - When C(false), an existing value is never changed (creation and O(generate) still apply).
      - With O(purge_keys=false), keys already present keep their values and only missing keys of
        O(json_secret) are added.
    type: bool
    default: true
  purge_keys:
    description:
      - C(true) makes the JSON value exactly O(json_secret) (plus O(generate)d keys).
      - C(false) keeps the keys of the current JSON value that O(json_secret) does not name, so a
        vars file in git can hold only the non-secret keys while the secret ones arrive by import
        (playbook C(secretsops.aws.import_dotenv)) or by hand.
    type: bool
    default: true
  required_keys:
    description:
      - JSON keys that must exist in the value after the run, whether given, generated or already
        present. If one is missing the module fails before any write call, naming the keys.
    type: list
    elements: str
    default: []
  description:
    description:
      - Description of the secret. C("") clears it; omitted leaves it untouched.
    type: str
  kms_key_id:
    description:
      - KMS key id, key ARN, alias name (C(alias/...)) or alias ARN used to encrypt the secret.
      - An alias that resolves to the secret's current key is not a change (KMS C(DescribeKey)).
      - Omitted leaves the key untouched (C(aws/secretsmanager) for a new secret).
    type: str
  tags:
    description:
      - Tags as a dictionary. Omitted leaves tags untouched. Keys starting with C(aws:) are reserved.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags not listed in O(tags) (only when O(tags) is given; C(aws:*) tags are never removed).
    type: bool
    default: true
  resource_policy:
    description:
      - Resource-based policy (JSON text or a dictionary), compared semantically.
        Omitted leaves the policy untouched; C({}) removes it.
    type: json
  block_public_policy:
    description:
      - Passed to C(PutResourcePolicy) to refuse a policy that grants broad access.
    type: bool
  replica:
    description:
      - Regions to replicate the secret to. Order does not matter; omitted leaves replicas untouched;
        C([]) removes all replicas.
    type: list
    elements: dict
    suboptions:
      region:
        description: Region of the replica.
        type: str
        required: true
      kms_key_id:
        description: KMS key for the replica (the region's C(aws/secretsmanager) key when omitted).
        type: str
  force_overwrite_replica_secret:
    description:
      - Overwrite a secret with the same name in a replica region.
    type: bool
    default: false
  recovery_window:
    description:
      - Days AWS keeps a deleted secret recoverable (7-30). C(0) deletes at once without recovery,
        also a secret already scheduled for deletion.
    type: int
    default: 30
  version_stages:
    description:
      - Staging labels to attach to a new value (C(PutSecretValue) C(VersionStages)). Omitted means
        C([AWSCURRENT]), the value becomes current.
      - Without C(AWSCURRENT) in the list, for example C([AWSPENDING]), the new value is written aside
        as a new version carrying those labels (AWS moves each label off the version that had it) and
        AWSCURRENT does not change; promote it with M(secretsops.aws.secret_version).
      - Idempotency then follows the staged version. The desired value is compared with the version
        holding the first listed label, not with AWSCURRENT. A second identical run is not a change once
        that version holds the value. O(generate) and O(regenerate) still build on the AWSCURRENT JSON
        value, so a staged rotation keeps the other keys.
      - A secret that does not exist yet is created with the value as AWSCURRENT (a first version is
        always current).
      - Needs a value (O(secret_string), O(json_secret), O(secret_binary), O(generate) or O(regenerate)).
    type: list
    elements: str
notes:
  - Secret values are C(no_log). Errors name the AWS action and the secret; an access denial says
    which IAM permission is missing.
  - ansible-core hides every C(no_log) value wherever it occurs in a module's result, and of a JSON value
    each leaf value; a short value such as V(shop), V(1) or V(us-east-1) therefore shows as C(********)
    inside the returned names and ARNs (the values themselves are never returned). The role
    C(secretsops.aws.secrets) rebuilds such ARNs from the names it knows; M(secretsops.aws.secret_info)
    returns them unmasked.
  - "AWS APIs used: DescribeSecret, GetSecretValue, GetResourcePolicy (reads); CreateSecret,
    PutSecretValue, UpdateSecret, RestoreSecret, TagResource, UntagResource, PutResourcePolicy,
    DeleteResourcePolicy, ReplicateSecretToRegions, RemoveRegionsFromReplication, DeleteSecret (writes);
    KMS DescribeKey to compare key aliases."
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Create the database secret, generating the password once
  secretsops.aws.secret:
    name: prod/shop/database
    json_secret:
      DB_USER: shop
      DB_HOST: db.internal
    generate: [DB_PASSWORD]
    description: Shop database credentials
    tags:
      Environment: prod
      Application: shop

- name: Store a plain text value, leaving an existing value alone
  secretsops.aws.secret:
    name: prod/shop/sentry
    secret_string: "{{ sentry_dsn }}"
    overwrite: false

- name: Allow only the task role to read the secret
  secretsops.aws.secret:
    name: prod/shop/stripe
    resource_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: {AWS: "arn:aws:iam::123456789012:role/shop-task"}
          Action: secretsmanager:GetSecretValue
          Resource: "*"
    block_public_policy: true

- name: Write a new JWT signing key aside as AWSPENDING (AWSCURRENT stays)
  secretsops.aws.secret:
    name: prod/shop/jwt
    regenerate: [JWT_SECRET]
    version_stages: [AWSPENDING]

- name: Delete a secret at once, without recovery window
  secretsops.aws.secret:
    name: dev/shop/old
    state: absent
    recovery_window: 0
"""

RETURN = r"""
keys:
  description:
    - JSON key names by what the run does (or would do, in check mode) to them; never a value.
    - C(added) new in the secret, C(generated) filled with a random value, C(unchanged) given with the
      value the secret has, C(overwritten) given with another value and written, C(differs_kept) given
      with another value but kept (O(overwrite=false)), C(kept) only in the secret and kept,
      C(removed) only in the secret and purged.
  returned: always
  type: dict
written_version_id:
  description:
    - The VersionId of the value this run wrote (C(CreateSecret) or C(PutSecretValue)), for example the
      version a staged write (O(version_stages=[AWSPENDING])) created, to promote exactly that version
      with M(secretsops.aws.secret_version). V(null) when no value was written (and in check mode).
  returned: always
  type: str
secret:
  description: The secret's metadata after the run (never its value). Empty when it does not exist.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the secret.
      type: str
      sample: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/shop/database-AbCdEf
    name:
      description: Name of the secret.
      type: str
    description:
      description: Description.
      type: str
    kms_key_id:
      description: KMS key as stored by AWS (absent for the default key).
      type: str
    tags:
      description: Tags as a dictionary.
      type: dict
    version_id:
      description: Version id labelled C(AWSCURRENT).
      type: str
    version_ids_to_stages:
      description: Every version id with its staging labels.
      type: dict
    rotation_enabled:
      description: Whether rotation is configured.
      type: bool
    rotation_lambda_arn:
      description: Rotation function ARN.
      type: str
    rotation_rules:
      description: Rotation rules (automatically_after_days, schedule_expression, duration).
      type: dict
    primary_region:
      description: Primary region of a replicated secret.
      type: str
    replication_status:
      description: One entry per replica (region, kms_key_id, status, status_message).
      type: list
      elements: dict
    deleted_date:
      description: When deletion was requested (ISO 8601), for a secret scheduled for deletion.
      type: str
    created_date:
      description: Creation time (ISO 8601).
      type: str
changes:
  description: What changed (or would change in check mode), e.g. created, value, tags, restored.
  returned: always
  type: list
  elements: str
  sample: [value, tags]
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.api import kms_key_resolver
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import module_outcome
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import secret_argument_spec
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.reconcile import reconcile


def main():
    module = AnsibleAWSModule(
        argument_spec=secret_argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[["secret_string", "json_secret", "secret_binary"]],
    )
    result = {"changed": False, "changes": [], "secret": {}, "written_version_id": None, "keys": {}}

    def work(clients):
        desired = build_desired(module.params)
        kms_equal = kms_key_resolver(clients("kms")) if desired["kms_key_id"] else None
        return reconcile(clients(), desired, check_mode=module.check_mode, kms_equal=kms_equal)

    result, error = module_outcome(module, module.params["name"], work, result)
    if error:
        module.fail_json(msg=error, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
