# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of ``_secretsmanager/module.py``: argument specs (checked with ansible-core's own
validator), the ``secret_bulk`` item mapping and ``run_module_work``'s error adapter."""
import botocore.exceptions
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import Conflict
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import BULK_SHARED_OPTIONS
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import bulk_argument_spec
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import bulk_desireds
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import bulk_item_params
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import module_outcome
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import rotation_argument_spec
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import run_module_work
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.module import secret_argument_spec

VALUE = "test-value-1"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
NOT_SHOWN = "a secret value leaked into the output"


def validated(spec, params):
    result = ArgumentSpecValidator(spec).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def bulk_params(*items, **top):
    return validated(bulk_argument_spec(), dict(top, secrets=list(items)))


# -- argument specs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("option", ["secret_string", "json_secret", "secret_binary"])
def test_value_options_are_no_log(option):
    assert secret_argument_spec()[option]["no_log"] is True
    assert bulk_argument_spec()["secrets"]["options"][option]["no_log"] is True


def test_secret_spec_defaults():
    params = validated(secret_argument_spec(), {"name": "prod/a"})
    assert params["state"] == "present" and params["overwrite"] is True and params["purge_keys"] is True
    assert params["required_keys"] == [] and params["generate"] == [] and params["generate_bytes"] == 48
    assert params["recovery_window"] == 30


def test_secret_spec_alias():
    assert validated(secret_argument_spec(), {"name": "prod/a", "secret": VALUE})["secret_string"] == VALUE


def test_bulk_item_aliases_and_shared_defaults():
    params = bulk_params({"category": "db", "json": {"a": 1}}, {"name": "prod/x", "string": VALUE}, prefix="prod/shop")
    first, second = params["secrets"]
    assert first["json_secret"] == {"a": 1} and second["secret_string"] == VALUE
    for option in BULK_SHARED_OPTIONS:
        assert first[option] is None, "an item default would hide the top-level option"
    assert params["purge_tags"] is True and params["generate_bytes"] == 48


@pytest.mark.parametrize("item", [{}, {"name": "a", "category": "b"}, {"name": "a", "string": "x", "json": {}}])
def test_bulk_item_spec_rejects(item):
    result = ArgumentSpecValidator(bulk_argument_spec()).validate({"secrets": [item]})
    assert result.error_messages


def test_rotation_spec_aliases():
    params = validated(rotation_argument_spec(), {"rotation_lambda_arn": LAMBDA, "rotation_interval_days": 7})
    assert params["lambda_arn"] == LAMBDA and params["interval_days"] == 7 and params["state"] == "present"


# -- bulk item mapping -----------------------------------------------------------------------------------------
def test_bulk_item_params_category_under_prefix():
    params = bulk_params({"category": "db"}, prefix="prod/shop/")
    assert bulk_item_params(params, params["secrets"][0])["name"] == "prod/shop/db"


def test_bulk_item_params_category_needs_a_prefix():
    params = bulk_params({"category": "db"})
    with pytest.raises(InvalidOption) as err:
        bulk_item_params(params, params["secrets"][0])
    assert err.value.option == "prefix"


def test_bulk_item_params_shared_options_and_tags():
    params = bulk_params({"name": "prod/a", "tags": {"Team": "shop"}, "purge_tags": True},
                         {"name": "prod/b", "generate_bytes": 16},
                         tags={"Team": "all", "Env": "prod"}, purge_tags=False, generate_bytes=32)
    first = bulk_item_params(params, params["secrets"][0])
    second = bulk_item_params(params, params["secrets"][1])
    assert first["tags"] == {"Team": "shop", "Env": "prod"} and second["tags"] == {"Team": "all", "Env": "prod"}
    assert first["purge_tags"] is True and second["purge_tags"] is False
    assert first["generate_bytes"] == 32 and second["generate_bytes"] == 16


def test_bulk_item_params_without_top_level_tags_keeps_the_items():
    params = bulk_params({"name": "prod/a"})
    assert bulk_item_params(params, params["secrets"][0])["tags"] is None


def test_bulk_desireds():
    params = bulk_params({"category": "db", "json": {"USER": "app"}, "generate": ["PASSWORD"], "purge_keys": False},
                         {"name": "prod/other", "state": "absent", "recovery_window": 0},
                         {"category": "jwt", "regenerate": ["KEY"],
                          "rotation": {"lambda_arn": LAMBDA, "interval_days": 30}},
                         prefix="prod/shop", tags={"Application": "shop"})
    first, second, third = bulk_desireds(params)
    assert first["name"] == "prod/shop/db" and first["value"].json == {"USER": "app"} and first["purge_keys"] is False
    assert first["generate"] == ["PASSWORD"] and first["tags"] == {"Application": "shop"} and "rotation" not in first
    assert second["state"] == "absent" and second["recovery_window"] == 0
    assert third["rotation"] == {"name": "prod/shop/jwt", "state": "present", "lambda_arn": LAMBDA, "interval": 30,
                                 "schedule": None, "duration": None, "rotate_immediately": False}


@pytest.mark.parametrize("item, option", [
    ({"name": "prod/a", "json": {"A": VALUE}, "required_keys": [""]}, "secrets[1].required_keys"),
    ({"name": "bad name"}, "secrets[1].name"),
    ({"name": "prod/a", "rotation": {"interval_days": 0}}, "secrets[1].rotation_interval_days"),
    ({"category": "x"}, "secrets[1].prefix"),
])
def test_bulk_desireds_errors_name_the_item(item, option):
    params = bulk_params({"name": "prod/ok"}, item)
    with pytest.raises(InvalidOption) as err:
        bulk_desireds(params)
    assert err.value.option == option
    assert VALUE not in str(err.value), NOT_SHOWN


# -- run_module_work ---------------------------------------------------------------------------------------------
class FakeModule:
    region = "eu-west-1"

    def __init__(self, diff=False):
        self.made = []
        self._diff = diff

    def client(self, service, retry_decorator=None):
        assert callable(retry_decorator)
        self.made.append(service)
        return type("Client", (), {"service": service, "meta": type("Meta", (), {"endpoint_url": f"https://{service}.test"})()})()


def test_run_module_work_returns_the_outcome_and_makes_clients_once():
    module = FakeModule()

    def work(clients):
        assert clients() is clients("secretsmanager")
        clients("kms")
        return {"changed": False}

    assert run_module_work(module, "prod/a", work) == ({"changed": False}, None)
    assert module.made == ["secretsmanager", "kms"]


def test_run_module_work_makes_no_client_when_input_is_invalid():
    module = FakeModule()

    def work(clients):
        raise InvalidOption("name", "is required")

    assert run_module_work(module, None, work) == (None, "name: is required")
    assert module.made == []


def test_run_module_work_reports_a_conflict():
    def work(clients):
        raise Conflict("AWSCURRENT moved")

    assert run_module_work(FakeModule(), "prod/a", work) == (None, "AWSCURRENT moved")


def test_run_module_work_explains_aws_errors_with_region_and_endpoint():
    inner = botocore.exceptions.ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "m"}}, "DescribeSecret")

    def work(clients):
        clients()
        raise SecretsManagerError(message="Failed to describe secret", exception=inner)

    outcome, error = run_module_work(FakeModule(), "prod/a", work)
    assert outcome is None
    assert "prod/a" in error and "eu-west-1" in error and "https://secretsmanager.test" in error


def test_run_module_work_explains_aws_errors_without_a_client():
    def work(clients):
        raise SecretsManagerError(message="Failed", exception=botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListSecrets"))

    outcome, error = run_module_work(FakeModule(), None, work)
    assert outcome is None and "Access denied calling ListSecrets" in error and "endpoint" not in error


def test_run_module_work_lets_other_errors_through():
    def work(clients):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        run_module_work(FakeModule(), None, work)


# -- module_outcome ----------------------------------------------------------------------------------------------
OUTCOME = {"changed": True, "changes": ["value"], "secret": {"name": "prod/a"}, "diff": {"before": {}, "after": {}},
           "internal": "not declared"}


@pytest.mark.parametrize("diff", [False, True])
def test_module_outcome_merges_the_declared_keys(diff):
    result, error = module_outcome(FakeModule(diff=diff), "prod/a", lambda clients: dict(OUTCOME),
                                   {"changed": False, "changes": [], "secret": {}, "version_id": None})
    assert error is None
    assert result == dict({"changed": True, "changes": ["value"], "secret": {"name": "prod/a"}, "version_id": None},
                          **({"diff": OUTCOME["diff"]} if diff else {}))


def test_module_outcome_keeps_the_result_on_error():
    def work(clients):
        raise InvalidOption("name", "is required")

    result, error = module_outcome(FakeModule(diff=True), None, work, {"changed": False})
    assert result == {"changed": False} and error == "name: is required"
