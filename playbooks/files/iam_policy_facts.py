#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, what audit.yml needs to know about one IAM managed policy: whether it exists,
its default version's document, and the roles, users and groups it is attached to.

Usage: iam_policy_facts.py POLICY_ARN

Neither amazon.aws nor community.aws has a managed policy info module (GetPolicy, GetPolicyVersion,
ListEntitiesForPolicy), so audit.yml runs this with the same Python and AWS environment
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...) as its modules. Read-only; policies are metadata.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError


def main(arn):
    iam = boto3.client("iam")
    out = {"arn": arn, "exists": False, "document": None, "roles": [], "users": [], "groups": []}
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return out
        raise
    out["exists"] = True
    version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    document = version["Document"]
    if isinstance(document, str):  # URL-encoded JSON in some SDK paths
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    out["document"] = document
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        out["roles"] += [role["RoleName"] for role in page.get("PolicyRoles", [])]
        out["users"] += [user["UserName"] for user in page.get("PolicyUsers", [])]
        out["groups"] += [group["GroupName"] for group in page.get("PolicyGroups", [])]
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: iam_policy_facts.py POLICY_ARN")
    print(json.dumps(main(sys.argv[1]), sort_keys=True))
