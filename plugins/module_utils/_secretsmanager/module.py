# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""The modules' side of the domain layer: argument specs and the adapter that runs a module's
work and turns every domain error into one message.  Each module's ``main()`` builds its
``AnsibleAWSModule``, calls ``run_module_work`` and exits once."""

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.api import retry_decorator
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.desired import build_desired
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import explain_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import DEFAULT_GENERATE_BYTES
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.versions import parse_rotation

# Options whose secret_bulk default comes from the module's top-level option of the same name.
BULK_SHARED_OPTIONS = ("purge_tags", "generate_bytes")


def secret_argument_spec():
    """Argument spec of one secret (module ``secret``)."""
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        secret_string=dict(type="str", no_log=True, aliases=["secret"]),
        json_secret=dict(type="dict", no_log=True),
        secret_binary=dict(type="str", no_log=True),
        generate=dict(type="list", elements="str", default=[], no_log=False),
        regenerate=dict(type="list", elements="str", default=[], no_log=False),
        generate_bytes=dict(type="int", default=DEFAULT_GENERATE_BYTES),
        overwrite=dict(type="bool", default=True),
        purge_keys=dict(type="bool", default=True, no_log=False),
        required_keys=dict(type="list", elements="str", default=[], no_log=False),
        description=dict(type="str"),
        kms_key_id=dict(type="str", no_log=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        resource_policy=dict(type="json"),
        block_public_policy=dict(type="bool"),
        replica=dict(
            type="list",
            elements="dict",
            options=dict(region=dict(type="str", required=True), kms_key_id=dict(type="str", no_log=False)),
        ),
        force_overwrite_replica_secret=dict(type="bool", default=False),
        recovery_window=dict(type="int", default=30),
        version_stages=dict(type="list", elements="str"),
    )


def rotation_argument_spec():
    """A ``secret_bulk`` item's ``rotation`` (the options of module ``secret_rotation``)."""
    return dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        lambda_arn=dict(type="str", aliases=["rotation_lambda_arn"]),
        interval_days=dict(type="int", aliases=["rotation_interval_days"]),
        schedule_expression=dict(type="str"),
        duration=dict(type="str"),
        rotate_immediately=dict(type="bool", default=False),
    )


def bulk_argument_spec():
    """Argument spec of ``secret_bulk``: the items take the ``secret`` options, or a ``category``
    under ``prefix`` instead of a name, ``json``/``string`` as aliases of the value options (the
    ``secrets`` role's item shape), and a ``rotation``; top-level ``tags`` apply to every item
    (an item's own tags win), top-level ``purge_tags``/``generate_bytes`` are item defaults."""
    item = secret_argument_spec()
    item["name"] = dict(type="str")
    item["category"] = dict(type="str")
    item["json_secret"]["aliases"] = ["json"]
    item["secret_string"]["aliases"] = ["secret", "string"]
    for option in BULK_SHARED_OPTIONS:
        item[option].pop("default")
    item["rotation"] = dict(type="dict", options=rotation_argument_spec())
    return dict(
        # Values are no_log in the item options; the list itself holds names and metadata too.
        secrets=dict(type="list", elements="dict", required=True, no_log=False, options=item,
                     required_one_of=[["name", "category"]],
                     mutually_exclusive=[["name", "category"], ["secret_string", "json_secret", "secret_binary"]]),
        prefix=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        generate_bytes=dict(type="int", default=DEFAULT_GENERATE_BYTES),
    )


def bulk_item_params(params, item):
    """One ``secret_bulk`` item as ``secret`` module parameters (name from prefix/category,
    top-level tags and defaults applied)."""
    out = dict(item)
    if item.get("category") is not None:
        if not params.get("prefix"):
            raise InvalidOption("prefix", "is required for items given by category")
        out["name"] = f"{params['prefix'].rstrip('/')}/{item['category']}"
    for option in BULK_SHARED_OPTIONS:
        if out.get(option) is None:
            out[option] = params[option]
    if params.get("tags") is not None:
        out["tags"] = dict(params["tags"], **(item.get("tags") or {}))
    return out


def bulk_desireds(params):
    """Desired states of every ``secret_bulk`` item (rotation parsed too), or InvalidOption
    naming ``secrets[i].option``."""
    desireds = []
    for index, item in enumerate(params["secrets"]):
        try:
            item_params = bulk_item_params(params, item)
            desired = build_desired(item_params)
            rotation = item.get("rotation")
            if rotation is not None:
                desired["rotation"] = parse_rotation(dict(
                    name=desired["name"], state=rotation["state"], rotation_lambda_arn=rotation["lambda_arn"],
                    rotation_interval_days=rotation["interval_days"], schedule_expression=rotation["schedule_expression"],
                    duration=rotation["duration"], rotate_immediately=rotation["rotate_immediately"]))
        except InvalidOption as exc:
            raise exc.within(f"secrets[{index}]") from None
        desireds.append(desired)
    return desireds


def run_module_work(module, secret_id, work):
    """Run a module's domain work and turn its errors into one message; ``(outcome, error)``.

    ``work(clients)`` gets ``clients(service="secretsmanager")``, which makes the module's client
    for ``service`` (with this layer's retry decorator) on first use, so parsing and validation
    done first in ``work`` fail before any client or API call exists.  Errors: InvalidOption and
    Conflict -> their text; SecretsManagerError -> explain_error() for ``secret_id`` (None: no
    single secret) in the module's region and endpoint.  Never exits: the module's main() keeps
    its single exit, with ``outcome`` None when ``error`` is set."""
    made = {}

    def clients(service="secretsmanager"):
        if service not in made:
            made[service] = module.client(service, retry_decorator=retry_decorator())
        return made[service]

    try:
        return work(clients), None
    except (InvalidOption, Conflict) as exc:
        return None, str(exc)
    except SecretsManagerError as exc:
        endpoint = made["secretsmanager"].meta.endpoint_url if "secretsmanager" in made else None
        return None, explain_error(exc, secret_id, module.region, endpoint)


def module_outcome(module, secret_id, work, result):
    """``run_module_work``, with the outcome's values for the keys ``result`` declares (and
    ``diff`` in diff mode) merged into ``result``; returns (result, error message or None)."""
    outcome, error = run_module_work(module, secret_id, work)
    if outcome is not None:
        result.update({key: outcome[key] for key in result if key in outcome})
        if module._diff and "diff" in outcome:
            result["diff"] = outcome["diff"]
    return result, error
