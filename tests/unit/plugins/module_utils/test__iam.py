# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of plugins/module_utils/_iam.py: role plans and diffs, policy documents."""
import json
from urllib.parse import quote

import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._iam import plan_role
from ansible_collections.secretsops.aws.plugins.module_utils._iam import policy_document
from ansible_collections.secretsops.aws.plugins.module_utils._iam import role_diff

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
A = "arn:aws:iam::123456789012:policy/a"
B = "arn:aws:iam::123456789012:policy/b"


def current(**overrides):
    role = {"RoleName": "r", "AssumeRolePolicyDocument": TRUST, "Description": "d",
            "Tags": [{"Key": "Environment", "Value": "prod"}, {"Key": "aws:cloudformation:stack-name", "Value": "x"}]}
    role.update(overrides)
    return role


def desired(**overrides):
    out = {"trust_policy": TRUST, "description": "d", "managed_policies": [A], "purge_policies": False,
           "tags": {"Environment": "prod"}, "purge_tags": True}
    out.update(overrides)
    return out


def test_a_missing_role_is_created_then_its_policies_attached():
    assert plan_role(None, [], desired(managed_policies=[B, A])) == [("create", None), ("attach", A), ("attach", B)]


def test_nothing_to_do_when_everything_matches_as_data():
    reordered = {"Statement": [dict(reversed(list(TRUST["Statement"][0].items())))], "Version": "2012-10-17"}
    assert plan_role(current(AssumeRolePolicyDocument=reordered), [A], desired()) == []


@pytest.mark.parametrize("change, step", [
    (dict(trust_policy=dict(TRUST, Statement=[dict(TRUST["Statement"][0], Principal={"Service": "x"})])), "update_trust"),
    (dict(description=""), "update_description"),
    (dict(tags={"Environment": "dev"}), "tag"),
    (dict(tags={}), "untag"),
    (dict(managed_policies=[A, B]), "attach"),
])
def test_each_difference_is_one_step(change, step):
    assert [step_name for step_name, _argument in plan_role(current(), [A], desired(**change))] == [step]


def test_options_not_given_are_left_alone():
    keep = desired(trust_policy=None, description=None, tags=None, managed_policies=None)
    assert plan_role(current(Description="other", Tags=[]), [A, B], keep) == []


def test_aws_tags_are_never_removed():
    assert plan_role(current(), [A], desired(tags={})) == [("untag", ["Environment"])]


def test_purge_policies_detaches_only_what_is_not_listed():
    assert plan_role(current(), [A, B], desired(purge_policies=True)) == [("detach", B)]
    assert plan_role(current(), [A, B], desired(purge_policies=False)) == []


def test_diff_shows_before_and_after():
    diff = role_diff(current(), [A], desired(description="new", managed_policies=[B]))
    assert diff["before"]["description"] == "d" and diff["after"]["description"] == "new"
    assert diff["after"]["managed_policies"] == [A, B]


def test_policy_documents_come_back_as_data_whatever_the_sdk_gives():
    assert policy_document(TRUST) is TRUST
    assert policy_document(json.dumps(TRUST)) == TRUST
    assert policy_document(quote(json.dumps(TRUST))) == TRUST
    assert policy_document(None) is None
