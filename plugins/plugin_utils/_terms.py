# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""The lookup's pure side: term parsing, JSON key selection and value decoding (no AWS)."""

import base64
import json

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import ARN_FIELDS
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import validate_name


def parse_term(term):
    """A lookup term -> (secret_id, json_key, version_stage, version_id).

    Forms: NAME, full/partial ARN, each optionally followed by the ECS valueFrom selector
    ``:json-key:version-stage:version-id`` (parts may be empty -> None).  Names cannot hold
    ``:`` and an ARN has exactly 7 ``:``-fields, so the split is unambiguous."""
    if not isinstance(term, str) or not term:
        raise InvalidOption("_terms", "each term must be a non-empty secret name or ARN")
    parts = term.split(":")
    if term.startswith("arn:"):
        if len(parts) < ARN_FIELDS or parts[2] != "secretsmanager" or parts[5] != "secret":
            raise InvalidOption("_terms", f"{term!r} is not a Secrets Manager secret ARN; expected "
                                "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key[:version-stage[:version-id]]]")
        secret_id, selector = ":".join(parts[:ARN_FIELDS]), parts[ARN_FIELDS:]
    else:
        secret_id, selector = parts[0], parts[1:]
    if len(selector) > 3:
        raise InvalidOption("_terms", f"{term!r}: expected NAME[:json-key[:version-stage[:version-id]]]")
    selector = (selector + [None, None, None])[:3]
    validate_name(secret_id, "_terms")
    return (secret_id,) + tuple(part or None for part in selector)


def select_key(value, key, secret_id):
    """Follow a dotted ``key`` path into a parsed JSON value; a selected value keeps its JSON
    type.  A literal key containing dots wins over the path (``{"a.b": 1}``).  Raises KeyError
    naming the level that lacks the key and the keys there (never values)."""
    if key is None:
        return value
    if not isinstance(value, dict):
        raise KeyError(f"secret {secret_id} is not a JSON object, so it has no key {key!r}")
    if key in value:
        return value[key]
    node, walked = value, []
    for part in key.split("."):
        if not isinstance(node, dict):
            raise KeyError(f"secret {secret_id} has no JSON key {key!r}: {'.'.join(walked)!r} is not a JSON object")
        if part not in node:
            where = f"under {'.'.join(walked)!r}" if walked else "at the top level"
            raise KeyError(f"secret {secret_id} has no JSON key {key!r} (keys {where}: {', '.join(sorted(node)) or 'none'})")
        node = node[part]
        walked.append(part)
    return node


def decode_value(response, binary="base64"):
    """GetSecretValue/BatchGetSecretValue entry -> Python value: JSON -> dict/list/...,
    text stays text, binary -> base64 text (``binary='base64'``) or raw bytes."""
    if response.get("SecretString") is not None:
        text = response["SecretString"]
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        return parsed if isinstance(parsed, (dict, list)) else text
    data = response.get("SecretBinary")
    if data is None:
        return None
    return data if binary == "raw" else base64.b64encode(data).decode("ascii")
