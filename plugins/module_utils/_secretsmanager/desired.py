# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""One secret's parameters -> normalised desired state (pure; no AWS, no botocore).

``build_desired(params)`` takes the ``secret`` module's options (or one ``secret_bulk`` item)
and returns a dict, or raises ``InvalidOption`` naming the option -- always before any API call:

    name, state, value (SecretValue | None), value_option (the option it came from),
    generate, regenerate (lists of JSON keys), generate_bytes, overwrite, purge_keys,
    required_keys, description, kms_key_id, tags (dict | None), purge_tags,
    resource_policy (dict | None), block_public_policy, replica (region -> KMS key | None),
    force_overwrite_replica_secret, recovery_window, version_stages (list | None)
"""

import base64
import binascii
import json

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import DEFAULT_GENERATE_BYTES
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import SecretValue
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import validate_name

VALUE_OPTIONS = ("secret_string", "json_secret", "secret_binary")
RECOVERY_WINDOW_RANGE = (7, 30)  # DeleteSecret RecoveryWindowInDays
GENERATE_BYTES_RANGE = (1, 4096)
STAGES_MAX = 20  # staging labels per version
STAGE_MAX_LENGTH = 256  # PutSecretValue VersionStages
# A custom staging label on the version a rollback moved AWSCURRENT away from (secret_version).
# AWSPREVIOUS points at that version after a rollback, so without the label a second
# "to_previous" would flip AWSCURRENT straight back to the version that was just rolled back.
# A label lives on one version at a time (AWS moves it); a labelled version is never deprecated.
ROLLED_BACK_LABEL = "SECRETSOPS_ROLLED_BACK"


def build_desired(params):
    """Module/item parameters -> desired state (see the module docstring), or InvalidOption."""
    value, value_option = parse_value(params)
    desired = {
        "name": validate_name(params.get("name")),
        "state": params.get("state") or "present",
        "value": value,
        "value_option": value_option,
        "overwrite": params.get("overwrite", True) is not False,
        "purge_keys": params.get("purge_keys", True) is not False,
        "description": params.get("description"),
        "kms_key_id": params.get("kms_key_id"),
        "block_public_policy": params.get("block_public_policy"),
        "force_overwrite_replica_secret": bool(params.get("force_overwrite_replica_secret")),
        "purge_tags": params.get("purge_tags", True) is not False,
        "recovery_window": parse_recovery_window(params.get("recovery_window")),
        "tags": parse_tags(params.get("tags")),
        "resource_policy": parse_policy(params.get("resource_policy")),
        "replica": parse_replica(params.get("replica")),
        "version_stages": parse_version_stages(params.get("version_stages"), params),
    }
    desired.update(parse_key_lists(params, value))
    check_required_keys_given(desired)
    return desired


def check_required_keys_given(desired):
    """When the value after the run does not depend on the current one (a JSON value with
    ``overwrite`` and ``purge_keys``), missing ``required_keys`` fail here, before any API call
    (even before a secret scheduled for deletion is restored).  Otherwise plan.py checks them."""
    value = desired["value"]
    if not desired["required_keys"] or value is None or value.json is None:
        return
    if not desired["overwrite"] or not desired["purge_keys"] or desired["state"] != "present":
        return
    present = set(value.json) | set(desired["generate"]) | set(desired["regenerate"])
    missing = [key for key in desired["required_keys"] if key not in present]
    if missing:
        raise InvalidOption("required_keys", f"secret {desired['name']} would lack {', '.join(missing)} after this run; "
                            "give them in json_secret, list them in generate, or import them from a .env file "
                            "(playbook secretsops.aws.import_dotenv)")


def parse_value(params):
    """(SecretValue | None, option name | None); at most one of the three value options."""
    given = [opt for opt in VALUE_OPTIONS if params.get(opt) is not None]
    if len(given) > 1:
        raise InvalidOption(given[1], f"only one of secret_string, json_secret and secret_binary may be given (got {', '.join(given)})")
    if not given:
        return None, None
    option = given[0]
    raw = params[option]
    if option == "json_secret":
        if not isinstance(raw, dict):
            raise InvalidOption("json_secret", "must be a dictionary (a JSON object)")
        value = SecretValue.from_json(raw)
    elif option == "secret_string":
        value = SecretValue.from_text(str(raw))
    else:
        try:
            value = SecretValue.from_binary(base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError, TypeError):
            raise InvalidOption("secret_binary", "is not valid base64 text") from None
    return value.check_size(option), option


def parse_key_lists(params, value):
    """generate, regenerate, required_keys (lists of JSON key names) and generate_bytes."""
    out = {option: list(params.get(option) or []) for option in ("generate", "regenerate", "required_keys")}
    for option, keys in out.items():
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidOption(option, "every entry must be a non-empty JSON key name")
        if keys and value is not None and value.json is None:
            raise InvalidOption(option, "needs json_secret, a secret_string holding a JSON object, or no value at all")
    both = set(out["generate"]) & set(out["regenerate"])
    if both:
        raise InvalidOption("regenerate", f"keys {sorted(both)} are also listed in generate")
    nbytes = params.get("generate_bytes")
    out["generate_bytes"] = DEFAULT_GENERATE_BYTES if nbytes is None else nbytes
    if not GENERATE_BYTES_RANGE[0] <= out["generate_bytes"] <= GENERATE_BYTES_RANGE[1]:
        raise InvalidOption("generate_bytes", f"{out['generate_bytes']} is out of range (1-4096)")
    return out


def parse_recovery_window(recovery):
    """``0`` (delete without recovery) or 7-30 days; None -> 30."""
    recovery = 30 if recovery is None else recovery
    if recovery != 0 and not RECOVERY_WINDOW_RANGE[0] <= recovery <= RECOVERY_WINDOW_RANGE[1]:
        raise InvalidOption("recovery_window", f"{recovery} is out of range: use 0 (delete now, no recovery) or 7 to 30 days")
    return recovery


def parse_tags(tags):
    """A dict of str -> str, or None (tags untouched).  ``aws:`` keys are reserved by AWS."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise InvalidOption("tags", "must be a dictionary of tag keys to values")
    tags = {str(k): str(v) for k, v in tags.items()}
    for key in tags:
        if key.startswith("aws:"):
            raise InvalidOption("tags", f"{key!r}: keys starting with 'aws:' are reserved by AWS")
    return tags


def parse_policy(policy):
    """A policy document (dict; ``{}`` = remove the policy) or None (untouched)."""
    if policy is None:
        return None
    if isinstance(policy, str):
        try:
            policy = json.loads(policy) if policy.strip() else {}
        except ValueError as exc:
            raise InvalidOption("resource_policy", f"is not valid JSON ({exc})") from None
    if not isinstance(policy, dict):
        raise InvalidOption("resource_policy", "must be a JSON policy document (an object)")
    return policy


def parse_replica(replica):
    """{region: KMS key or None}, or None (untouched); ``[]`` -> {} removes every replica."""
    if replica is None:
        return None
    regions = {}
    for index, item in enumerate(replica):
        if not isinstance(item, dict) or not item.get("region"):
            raise InvalidOption("replica", f"entry {index} needs a region")
        if item["region"] in regions:
            raise InvalidOption("replica", f"region {item['region']} is listed twice")
        regions[item["region"]] = item.get("kms_key_id") or None
    return regions


def parse_version_stages(stages, params):
    """None (AWS default: AWSCURRENT) or a list of unique staging labels for the new version;
    only meaningful when a value is written."""
    if stages is None:
        return None
    if not isinstance(stages, list) or not stages:
        raise InvalidOption("version_stages", "give at least one staging label, e.g. [AWSPENDING]")
    if len(stages) > STAGES_MAX:
        raise InvalidOption("version_stages", f"at most {STAGES_MAX} staging labels")
    for stage in stages:
        if not isinstance(stage, str) or not stage or len(stage) > STAGE_MAX_LENGTH:
            raise InvalidOption("version_stages", f"a staging label is 1-{STAGE_MAX_LENGTH} characters")
    if len(set(stages)) != len(stages):
        raise InvalidOption("version_stages", "a staging label is listed twice")
    if ROLLED_BACK_LABEL in stages:
        raise InvalidOption("version_stages", f"{ROLLED_BACK_LABEL} is managed by secret_version")
    has_value = any(params.get(opt) is not None for opt in VALUE_OPTIONS)
    if not has_value and not params.get("generate") and not params.get("regenerate"):
        raise InvalidOption("version_stages", "needs a value to write (secret_string, json_secret, secret_binary, generate or regenerate)")
    return list(stages)


def writes_value(desired):
    """Whether the run may write a value (a value, generate or regenerate is given)."""
    return desired["value"] is not None or bool(desired["generate"]) or bool(desired["regenerate"])


def reads_value(desired):
    """Whether planning needs the current value: to write one, or to check ``required_keys``."""
    return writes_value(desired) or bool(desired["required_keys"])


def writes_staged(desired):
    """True when a new value is written under other labels than AWSCURRENT (e.g. AWSPENDING):
    it is then compared with the version holding the first of those labels, not AWSCURRENT."""
    stages = desired.get("version_stages")
    return bool(stages) and "AWSCURRENT" not in stages
