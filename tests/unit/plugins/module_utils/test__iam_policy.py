# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of plugins/module_utils/_iam_policy.py: ARNs, paths, the plan and the diff."""
import pytest

from ansible_collections.secretsops.aws.plugins.module_utils._iam import normalise_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import normalise_path
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import plan_policy
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import policy_arn
from ansible_collections.secretsops.aws.plugins.module_utils._iam_policy import policy_diff

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}]}
NEW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": "*"}]}
CURRENT = {"Arn": "arn:aws:iam::123456789012:policy/p", "PolicyName": "p", "DefaultVersionId": "v3",
           "Description": "d", "Tags": [{"Key": "Application", "Value": "shop"}]}
VERSIONS = [{"VersionId": "v1", "IsDefaultVersion": False}, {"VersionId": "v3", "IsDefaultVersion": True},
            {"VersionId": "v2", "IsDefaultVersion": False}]


def desired(**overrides):
    out = {"document": DOC, "description": "d", "only_version": False, "tags": {"Application": "shop"},
           "purge_tags": True}
    out.update(overrides)
    return out


@pytest.mark.parametrize("given, expected", [(None, "/"), ("", "/"), ("/", "/"), ("a/b", "/a/b/"), ("/a/", "/a/")])
def test_normalise_path(given, expected):
    assert normalise_path(given) == expected


def test_normalise_path_refuses_an_empty_segment():
    with pytest.raises(ValueError, match="path '/a//b/' has an empty segment"):
        normalise_path("/a//b/")


def test_policy_arn():
    assert policy_arn("aws-cn", "123456789012", "/team/", "p") == "arn:aws-cn:iam::123456789012:policy/team/p"


def test_nothing_to_do_when_the_document_is_equal_as_data():
    reordered = {"Statement": [{"Resource": "*", "Action": "kms:Decrypt", "Effect": "Allow"}], "Version": "2012-10-17"}
    assert plan_policy(CURRENT, reordered, None, desired()) == []


def test_new_document_makes_a_new_default_version():
    assert plan_policy(CURRENT, DOC, None, desired(document=NEW)) == [("create_version", NEW)]


def test_only_version_deletes_the_others_first_and_the_replaced_default_last():
    assert plan_policy(CURRENT, DOC, VERSIONS, desired(document=NEW, only_version=True)) == [
        ("delete_version", "v1"), ("delete_version", "v2"), ("create_version", NEW), ("delete_version", "v3")]


def test_only_version_with_the_same_document_only_deletes_the_others():
    assert plan_policy(CURRENT, DOC, VERSIONS, desired(only_version=True)) == [
        ("delete_version", "v1"), ("delete_version", "v2")]


def test_tags_purged_and_set_or_left_alone():
    assert plan_policy(CURRENT, DOC, None, desired(tags={"Team": "x"})) == [("untag", ["Application"]), ("tag", {"Team": "x"})]
    assert plan_policy(CURRENT, DOC, None, desired(tags={"Team": "x"}, purge_tags=False)) == [("tag", {"Team": "x"})]
    assert plan_policy(CURRENT, DOC, None, desired(tags=None)) == []


def test_diff_of_a_new_policy_and_of_an_update():
    assert policy_diff(None, None, desired()) == {
        "before": {}, "after": {"document": DOC, "description": "d", "tags": {"Application": "shop"}}}
    diff = policy_diff(CURRENT, DOC, desired(document=NEW, tags={"Team": "x"}, purge_tags=False))
    assert diff["before"] == {"document": DOC, "description": "d", "tags": {"Application": "shop"}}
    assert diff["after"] == {"document": NEW, "description": "d", "tags": {"Application": "shop", "Team": "x"}}


def test_normalise_policy():
    assert normalise_policy(None, None) == {}
    out = normalise_policy(CURRENT, DOC)
    assert out["arn"] == CURRENT["Arn"] and out["default_version_id"] == "v3" and out["document"] == DOC
    assert out["tags"] == {"Application": "shop"} and out["create_date"] is None
